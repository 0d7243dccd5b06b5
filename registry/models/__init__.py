"""Tortoise models, one module per aggregate."""

from registry.models.audit import AuditCheck, AuditEvent
from registry.models.auth import ApiKey, User
from registry.models.calendar import CalendarDay, CalendarYear
from registry.models.certificate import Certificate
from registry.models.idempotency import IdempotencyKey
from registry.models.institution import Institution
from registry.models.ledger import SubsidyGrant
from registry.models.notice import ClaimNotice, SubsidyPayment
from registry.models.outbox import OutboxJob
from registry.models.progress import ProgressSnapshot, Target
from registry.models.reference import Division, DivisionAlias, Occupation, PriorityList, PriorityListEntry
from registry.models.subsidy import PolicySimulation, SubsidyClaim, SubsidyLine, SubsidyPolicy
from registry.models.training import Cohort, Enrolment, ImportBatch, Trainee

__all__ = [
    "ApiKey",
    "AuditCheck",
    "AuditEvent",
    "CalendarDay",
    "CalendarYear",
    "Certificate",
    "ClaimNotice",
    "Cohort",
    "Division",
    "DivisionAlias",
    "Enrolment",
    "IdempotencyKey",
    "ImportBatch",
    "Institution",
    "Occupation",
    "OutboxJob",
    "PolicySimulation",
    "PriorityList",
    "PriorityListEntry",
    "ProgressSnapshot",
    "SubsidyClaim",
    "SubsidyGrant",
    "SubsidyLine",
    "SubsidyPayment",
    "SubsidyPolicy",
    "Target",
    "Trainee",
    "User",
]
