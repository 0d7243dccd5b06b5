"""Pure checks for certificates: the number, the kind/level/occupation shape, the issue
date, the link to a cohort, the issuing body and the status workflow.

One function, :func:`certificate_errors`, judges a certificate from plain facts (what the
request says plus what the database knows, looked up by the caller). The single issue
path and the set-based bulk path (the demo generator) both call it, so the rules live in
one place.

Kinds (DESIGN.md glossary):

=====================  ==========  ======  ==========
kind                   occupation  level   is_renewal
=====================  ==========  ======  ==========
``skill_level``        required    1-5     no
``special_ability``    required    none    no
``special_operation``  required    none    yes or no
``completion``         optional    none    no
``startup``            none        none    no
=====================  ==========  ======  ==========
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from registry.core.errors import Conflict, FieldError
from registry.core.text import visible_text
from registry.enums import (
    CertificateKind,
    CertificateStatus,
    CohortKind,
    CohortStatus,
    EnrolmentOutcome,
    InstitutionKind,
    InstitutionStatus,
)
from registry.people.rules.idnumber import looks_like_id_number

NUMBER_MAX = 64
REASON_MAX = 500
EARLIEST_ISSUE_DATE = date(2000, 1, 1)
OCCUPATION_LEVEL = 4
"""Certificates name an occupation (细类, level 4 of the classification), never a group."""

_NUMBER = re.compile(r"[A-Za-z0-9-]{1,64}")
_OCCUPATION_CODE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")

LEVEL_NAMES: dict[int, tuple[str, str]] = {
    5: ("五级", "初级工"),
    4: ("四级", "中级工"),
    3: ("三级", "高级工"),
    2: ("二级", "技师"),
    1: ("一级", "高级技师"),
}
LEVEL_NAMES_EN: dict[int, str] = {
    5: "Level 5, junior worker",
    4: "Level 4, intermediate worker",
    3: "Level 3, senior worker",
    2: "Level 2, technician",
    1: "Level 1, senior technician",
}
KIND_NAMES: dict[str, tuple[str, str]] = {
    CertificateKind.SKILL_LEVEL.value: ("职业技能等级证书", "Vocational skill level certificate"),
    CertificateKind.SPECIAL_ABILITY.value: ("专项职业能力证书", "Special vocational ability certificate"),
    CertificateKind.SPECIAL_OPERATION.value: ("特种作业操作证", "Special operation certificate"),
    CertificateKind.COMPLETION.value: ("培训合格证书", "Training completion certificate"),
    CertificateKind.STARTUP.value: ("创业培训合格证书", "Entrepreneurship training certificate"),
}
STATUS_NAMES: dict[str, tuple[str, str]] = {
    CertificateStatus.VALID.value: ("有效", "Valid"),
    CertificateStatus.SUSPENDED.value: ("暂停使用", "Suspended"),
    CertificateStatus.REVOKED.value: ("已撤销", "Revoked"),
}

_KINDS = frozenset(k.value for k in CertificateKind)
_OCCUPATION_REQUIRED = frozenset(
    {CertificateKind.SKILL_LEVEL, CertificateKind.SPECIAL_ABILITY, CertificateKind.SPECIAL_OPERATION}
)


# --- numbers ------------------------------------------------------------------------------


def normalise_number(raw: str) -> str:
    """The number as typed, without surrounding spaces. Case is kept: it is the issuer's."""
    return raw.strip()


def is_well_formed_number(number: str) -> bool:
    return bool(_NUMBER.fullmatch(number))


def is_personal_number(number: str) -> bool:
    """A number that is (or has the shape of) an ID number: the number of a 特种作业操作证
    is its holder's ID number. Such a number is personal data: stored encrypted with a
    blind index and a masked form, never in a URL, a log, an answer or the audit trail;
    verified with the number and the holder's name in a request body."""
    return looks_like_id_number(number)


def normalise_personal_number(number: str) -> str:
    """A personal number as stored and indexed: trimmed, ``x`` made ``X`` (as ID numbers)."""
    return number.strip().upper()


def personal_number_error(holders: bool) -> FieldError | None:
    """A certificate number that is an ID number must be the holder's own ID number
    (``holders``). The message never repeats the number."""
    if holders:
        return None
    return FieldError(
        "number",
        "not_holders_id_number",
        "this certificate number has the shape of an ID number but is not the holder's: "
        "a 特种作业操作证 is numbered with its holder's own ID number",
    )


def number_error(number: str, field: str = "number") -> FieldError | None:
    if not number:
        return FieldError(field, "required", "the certificate number is required")
    if len(number) > NUMBER_MAX:
        return FieldError(field, "too_long", f"a certificate number has at most {NUMBER_MAX} characters")
    if not is_well_formed_number(number):
        return FieldError(field, "number_format", "a certificate number has only letters A-Z, digits and -")
    return None


def duplicate_numbers(numbers: list[str]) -> dict[int, int]:
    """``{index: index of the first occurrence}`` for every number seen before in the list."""
    first: dict[str, int] = {}
    dupes: dict[int, int] = {}
    for i, number in enumerate(numbers):
        if number in first:
            dupes[i] = first[number]
        else:
            first[number] = i
    return dupes


# --- kinds, levels, occupations -----------------------------------------------------------


def is_occupation_code(code: str) -> bool:
    return bool(_OCCUPATION_CODE.fullmatch(code))


def kind_errors(
    kind: str, level: int | None, occupation_code: str | None, is_renewal: bool
) -> list[FieldError]:
    """The shape a kind asks for: which of occupation, level and renewal it takes."""
    if kind not in _KINDS:
        return [FieldError("kind", "invalid_choice", "kind is one of: " + ", ".join(sorted(_KINDS)))]
    errors: list[FieldError] = []
    k = CertificateKind(kind)
    if k is CertificateKind.SKILL_LEVEL:
        if level is None:
            errors.append(
                FieldError("level", "required", "a skill-level certificate has a level from 1 to 5")
            )
        elif level not in LEVEL_NAMES:
            errors.append(FieldError("level", "out_of_range", "the level is 5 (初级工) to 1 (高级技师)"))
    elif level is not None:
        errors.append(FieldError("level", "not_allowed", f"a {kind} certificate has no level"))
    if k in _OCCUPATION_REQUIRED and not occupation_code:
        errors.append(FieldError("occupation_code", "required", f"a {kind} certificate names an occupation"))
    if k is CertificateKind.STARTUP and occupation_code:
        errors.append(
            FieldError("occupation_code", "not_allowed", "a startup certificate names no occupation")
        )
    if is_renewal and k is not CertificateKind.SPECIAL_OPERATION:
        errors.append(
            FieldError("is_renewal", "not_allowed", "only a special_operation certificate is renewed")
        )
    return errors


def occupation_error(code: str | None, catalogue_level: int | None) -> FieldError | None:
    """``catalogue_level``: the level the catalogue gives ``code``, None when it is not there."""
    if not code:
        return None
    if not is_occupation_code(code):
        return FieldError("occupation_code", "occupation_format", "an occupation code looks like 6-31-01-03")
    if catalogue_level is None:
        return FieldError(
            "occupation_code", "unknown_occupation", f"{code} is not in the occupational catalogue"
        )
    if catalogue_level != OCCUPATION_LEVEL:
        return FieldError(
            "occupation_code",
            "not_an_occupation",
            f"{code} is a group of the catalogue, not an occupation (细类)",
        )
    return None


def issue_date_error(issue_date: date, today: date) -> FieldError | None:
    if issue_date > today:
        return FieldError("issue_date", "in_future", "the issue date is in the future")
    if issue_date < EARLIEST_ISSUE_DATE:
        return FieldError(
            "issue_date", "too_early", f"the issue date is before {EARLIEST_ISSUE_DATE.isoformat()}"
        )
    return None


# --- issuer and cohort --------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerFacts:
    kinds: tuple[str, ...]
    status: str


def issuer_error(issuer: IssuerFacts | None, field: str = "issuer") -> FieldError | None:
    if issuer is None:
        return FieldError(field, "unknown_issuer", "no such assessment body")
    if InstitutionKind.ASSESSMENT.value not in issuer.kinds:
        return FieldError(field, "not_an_assessment_body", "only an assessment body issues certificates")
    if issuer.status != InstitutionStatus.ACTIVE.value:
        return FieldError(field, "issuer_not_active", f"the assessment body is {issuer.status}")
    return None


HOLDER_MISS = "holder_not_found"


def holder_miss() -> FieldError:
    """The one answer for every holder an assessment body may not certify: a trainee id it
    may not see (another body's trainee, or none), a name that is not the registered one,
    a cohort that does not exist or that the person is not enrolled in. Always the same
    field, code and message, so that a refusal tells nothing about other tenants' people
    or cohorts."""
    return FieldError(
        "holder",
        HOLDER_MISS,
        "no person this body may certify matches: give the trainee id of a person this body "
        "certified before, or the ID number and the name as registered; a certificate of a "
        "cohort needs the person enrolled in that cohort",
    )


@dataclass(frozen=True)
class CohortFacts:
    kind: str
    occupation_code: str | None
    status: str
    start_date: date
    enrolment_outcome: str | None
    """The trainee's enrolment in this cohort; None when not enrolled."""


def enrolment_error(kind: str, outcome: str) -> FieldError | None:
    """The holder's enrolment in the cohort a certificate is linked to: a certificate of a
    cohort is never for someone who withdrew from it or failed it, and a completion
    certificate (培训合格证书) only for someone who completed it. A skill certificate for an
    enrolment still ``in_progress`` is allowed: the assessment often comes before the
    institution records the outcome."""
    if outcome == EnrolmentOutcome.WITHDRAWN.value:
        return FieldError("cohort_id", "withdrawn", "the trainee withdrew from this cohort")
    if outcome == EnrolmentOutcome.FAILED.value:
        return FieldError("cohort_id", "failed", "the trainee did not pass this cohort's training")
    if kind == CertificateKind.COMPLETION.value and outcome != EnrolmentOutcome.COMPLETED.value:
        return FieldError(
            "cohort_id",
            "not_completed",
            "a completion certificate is for a trainee who completed the cohort; "
            "this enrolment is not recorded as completed",
        )
    return None


def cohort_errors(
    cohort: CohortFacts | None, kind: str, occupation_code: str | None, issue_date: date
) -> list[FieldError]:
    """The certificate's link to a cohort (``cohort`` None = no such cohort). A cohort that
    does not exist and one the holder is not enrolled in are the same :func:`holder_miss`,
    and nothing else is said about such a cohort: it may be another institution's."""
    if cohort is None or cohort.enrolment_outcome is None:
        return [holder_miss()]
    errors: list[FieldError] = []
    if cohort.status == CohortStatus.CANCELLED.value:
        errors.append(FieldError("cohort_id", "cohort_cancelled", "the cohort was cancelled"))
    if (err := enrolment_error(kind, cohort.enrolment_outcome)) is not None:
        errors.append(err)
    if cohort.kind == CohortKind.STARTUP.value:
        if kind != CertificateKind.STARTUP.value:
            errors.append(
                FieldError("kind", "cohort_kind", "a startup-training cohort leads to a startup certificate")
            )
    else:
        if kind == CertificateKind.STARTUP.value:
            errors.append(
                FieldError("kind", "cohort_kind", "a startup certificate comes from a startup cohort")
            )
        elif occupation_code and cohort.occupation_code and occupation_code != cohort.occupation_code:
            errors.append(
                FieldError(
                    "occupation_code",
                    "cohort_occupation",
                    f"the cohort trains {cohort.occupation_code}, not {occupation_code}",
                )
            )
    if issue_date < cohort.start_date:
        errors.append(
            FieldError("issue_date", "before_cohort", "the issue date is before the cohort started")
        )
    return errors


# --- the whole certificate ----------------------------------------------------------------


@dataclass(frozen=True)
class CertificateFacts:
    """A certificate to issue, with what the database knows about what it names."""

    number: str
    kind: str
    level: int | None
    occupation_code: str | None
    is_renewal: bool
    issue_date: date
    occupation_level: int | None = None
    """The catalogue level of ``occupation_code``; None when the code is not in the catalogue."""
    issuer: IssuerFacts | None = None
    cohort_given: bool = False
    cohort: CohortFacts | None = None
    number_taken: bool = False
    holder_found: bool = True
    """False when the holder is not one the issuing body may certify (see :func:`holder_miss`):
    a trainee id it may not see, or a name that is not the registered one."""
    number_is_holders_id: bool = True
    """For a personal number (:func:`is_personal_number`): whether it is the holder's own
    ID number. Not looked at for other numbers."""


def certificate_errors(facts: CertificateFacts, today: date) -> list[FieldError]:
    """Every rule a new certificate breaks, or ``[]``. Duplicates (``number_taken``) are
    not reported here: they are a conflict (see :func:`duplicate_error`)."""
    errors: list[FieldError] = []
    if (err := number_error(facts.number)) is not None:
        errors.append(err)
    errors += kind_errors(facts.kind, facts.level, facts.occupation_code, facts.is_renewal)
    if (
        facts.kind != CertificateKind.STARTUP.value
        and (err := occupation_error(facts.occupation_code, facts.occupation_level)) is not None
    ):
        errors.append(err)
    if (err := issue_date_error(facts.issue_date, today)) is not None:
        errors.append(err)
    if (err := issuer_error(facts.issuer)) is not None:
        errors.append(err)
    if (
        facts.holder_found
        and is_personal_number(facts.number)
        and (err := personal_number_error(facts.number_is_holders_id)) is not None
    ):
        errors.append(err)
    if not facts.holder_found:
        # Nothing about the cohort either: its facts would be about someone else's enrolment.
        errors.append(holder_miss())
    elif facts.cohort_given:
        errors += cohort_errors(facts.cohort, facts.kind, facts.occupation_code, facts.issue_date)
    return errors


def duplicate_error(field: str = "number") -> FieldError:
    return FieldError(field, "duplicate", "a certificate with this number is already registered")


# --- status workflow ----------------------------------------------------------------------

SUSPEND, REVOKE, REINSTATE = "suspend", "revoke", "reinstate"
ACTIONS = (SUSPEND, REVOKE, REINSTATE)

_TRANSITIONS: dict[str, dict[CertificateStatus, CertificateStatus]] = {
    SUSPEND: {CertificateStatus.VALID: CertificateStatus.SUSPENDED},
    REVOKE: {
        CertificateStatus.VALID: CertificateStatus.REVOKED,
        CertificateStatus.SUSPENDED: CertificateStatus.REVOKED,
    },
    REINSTATE: {CertificateStatus.SUSPENDED: CertificateStatus.VALID},
}


def normalise_reason(raw: str) -> str:
    return visible_text(raw)


def reason_error(reason: str) -> FieldError | None:
    if not reason:
        return FieldError("reason", "required", "give the reason")
    if len(reason) > REASON_MAX:
        return FieldError("reason", "too_long", f"the reason has at most {REASON_MAX} characters")
    return None


def next_status(current: str, action: str) -> CertificateStatus:
    """The status ``action`` leads to from ``current``, or :class:`Conflict`."""
    if action not in _TRANSITIONS:
        raise ValueError(f"unknown action {action!r}")
    status = CertificateStatus(current)
    after = _TRANSITIONS[action].get(status)
    if after is None:
        raise Conflict(
            f"a {status.value} certificate cannot be {_PAST[action]}",
            code=f"certificate_{status.value}",
            errors=[FieldError("status", "invalid_transition", f"the certificate is {status.value}")],
        )
    return after


_PAST = {SUSPEND: "suspended", REVOKE: "revoked", REINSTATE: "reinstated"}

BUREAU_ROLES = frozenset({"auditor", "admin"})


def may_change_status(action: str, actor_role: str, last_changed_by_role: str) -> bool:
    """Whether ``actor_role`` may take ``action`` after the certificate's status was last
    set by ``last_changed_by_role`` ("" for never): a suspension by the bureau (an auditor
    or admin) is lifted only by the bureau, not by the body that issued the certificate."""
    return not (
        action == REINSTATE and actor_role not in BUREAU_ROLES and last_changed_by_role in BUREAU_ROLES
    )


# --- display ------------------------------------------------------------------------------


def level_label(level: int | None) -> str:
    """``五级/初级工`` for 5 ... ``一级/高级技师`` for 1; ``""`` without a level."""
    if level is None or level not in LEVEL_NAMES:
        return ""
    grade, title = LEVEL_NAMES[level]
    return f"{grade}/{title}"


def level_label_en(level: int | None) -> str:
    if level is None:
        return ""
    return LEVEL_NAMES_EN.get(level, "")
