"""Enumerations shared by models, rules and schemas (values are stored as text)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AUDITOR = "auditor"
    INSTITUTION = "institution"
    ASSESSOR = "assessor"


class InstitutionKind(StrEnum):
    TRAINING = "training"
    ASSESSMENT = "assessment"


class InstitutionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class DivisionKind(StrEnum):
    DISTRICT = "district"
    COUNTY = "county"
    STATISTICS = "statistics"
    """A statistics code (410371, the high-tech zone), not an administrative division."""


class CohortKind(StrEnum):
    VOCATIONAL = "vocational"
    STARTUP = "startup"


class CohortStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    RUNNING = "running"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class TrainingMode(StrEnum):
    GENERAL = "general"
    ORDER_BASED = "order_based"
    POST_BASED = "post_based"


class Delivery(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    BLENDED = "blended"


class StartupCourse(StrEnum):
    GYB = "GYB"
    SYB = "SYB"
    IYB = "IYB"
    EYB = "EYB"


class CertificateKind(StrEnum):
    SKILL_LEVEL = "skill_level"
    SPECIAL_ABILITY = "special_ability"
    SPECIAL_OPERATION = "special_operation"
    COMPLETION = "completion"
    STARTUP = "startup"


class CertificateStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class SubsidyKind(StrEnum):
    """Who a subsidy is paid to: a claim's and a grant's kind."""

    TRAINING = "training"
    """The training subsidy (to the institution or the trainee)."""
    ASSESSMENT = "assessment"
    """The assessment subsidy (to the assessment body)."""


class ClaimStatus(StrEnum):
    """A subsidy claim's life (DESIGN.md section 6)."""

    SUBMITTED = "submitted"
    """Filed; a worker is to compute its lines."""
    COMPUTED = "computed"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    NOTICED = "noticed"
    PAYABLE = "payable"
    PAID = "paid"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    """The worker could not compute it (the reason is on the claim); file it again."""


CLOSED_CLAIM_STATUSES = frozenset({ClaimStatus.WITHDRAWN, ClaimStatus.FAILED})

CLAIM_STATUS_NAMES = {
    ClaimStatus.SUBMITTED: "已提交",
    ClaimStatus.COMPUTED: "已计算",
    ClaimStatus.IN_REVIEW: "审核中",
    ClaimStatus.DECIDED: "已审定",
    ClaimStatus.NOTICED: "公示中",
    ClaimStatus.PAYABLE: "待拨付",
    ClaimStatus.PAID: "已拨付",
    ClaimStatus.WITHDRAWN: "已撤回",
    ClaimStatus.FAILED: "计算失败",
}
"""Each status's Chinese name, as pages and spreadsheets show it."""
"""A claim in these no longer holds its cohort's slot: the cohort may be claimed again."""


class LineOutcome(StrEnum):
    CLEAN = "clean"
    REVIEW = "review"
    BLOCKED = "blocked"


class EnrolmentOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"


class PriorityGroup(StrEnum):
    GRADUATE = "graduate"
    MIGRANT_WORKER = "migrant_worker"
    VETERAN = "veteran"
    HARDSHIP = "hardship"
    RURAL_LABOUR = "rural_labour"
    DISABLED = "disabled"
    UNEMPLOYED_YOUTH = "unemployed_youth"
    POVERTY_ALLEVIATED = "poverty_alleviated"


class ImportStatus(StrEnum):
    IMPORTED = "imported"
    REFUSED = "refused"
    PARTIAL = "partial"


class CalendarDayKind(StrEnum):
    """A day of the working-day calendar that is not an ordinary weekday or weekend day."""

    HOLIDAY = "holiday"
    """A statutory holiday (or a day of its block): not worked, whatever the weekday."""
    MAKEUP_WORKDAY = "makeup_workday"
    """A weekend day worked instead (调休上班)."""


class CalendarOrigin(StrEnum):
    """Where a year of the working-day calendar came from."""

    PACKAGE = "package"
    """Seeded from the ``chinese-calendar`` package (``registry load-reference``)."""
    BUREAU = "bureau"
    """Loaded by the bureau from the State Council's notice (``registry calendar load``);
    never overwritten by a seed."""
