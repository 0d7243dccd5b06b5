"""Subsidy policies, claims and their lines, and what-if simulations of draft policies."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model

from registry.enums import (
    CertificateKind,
    ClaimStatus,
    CohortKind,
    LineOutcome,
    StartupCourse,
    SubsidyKind,
)
from registry.models.certificate import Certificate
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment, Trainee

T = TypeVar("T")


class PlainJSONField(fields.JSONField[T]):
    """A JSON column stored as PostgreSQL ``json`` (the text as written, checked), not
    ``jsonb``: for documents written once per row and read back whole, never queried
    inside (a claim's snapshot, a line's flags and trace), parsing them into ``jsonb`` on
    every write was most of what storing a claim cost PostgreSQL (migration 0013). Read
    back, the keys keep the order they were written in."""

    class _db_postgres:
        SQL_TYPE = "JSON"


class SubsidyPolicy(Model):
    """A published policy document (DESIGN.md section 5), immutable once loaded: a change is a
    new code with its own effective dates. A trigger refuses UPDATE and DELETE (0010)."""

    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=63, unique=True)
    effective_from = fields.DateField(description="first day in force (inclusive)")
    effective_to = fields.DateField(null=True, description="last day in force (inclusive); null = open-ended")
    document: fields.JSONField[Any] = fields.JSONField(
        description="the validated policy document (amounts in fen)"
    )
    source_note = fields.TextField(default="", description="the published documents it comes from")
    sha256 = fields.CharField(max_length=64, description="SHA-256 of the document's canonical JSON")
    loaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "subsidy_policy"


# Columns of ``subsidy_claim`` (a comment: Tortoise makes a class docstring the table's comment):
#
# - ``cohort_id``, ``kind``: the cohort claimed for and who is paid: ``training`` (the
#   institution that ran it) or ``assessment`` (the assessment body, for the certificates it
#   issued to the cohort). One open claim per cohort and kind (a partial unique index:
#   withdrawn and failed claims do not count).
# - ``institution_id``: the claimant (the cohort's institution, or the assessment body).
# - ``division_id``: where the cohort was held (a county auditor's scope), copied from it.
# - ``status``: section 6 of DESIGN.md (registry.enums.ClaimStatus).
# - ``policy_code``: the policy in force on the cohort's end date, chosen at filing.
# - ``snapshot``: the inputs every line was computed from (written by the worker with the
#   lines): the cohort's facts, the policy's hash, and per person the enrolment's facts, the
#   certificate, the grant history read from the ledger and the database checks' findings.
# - ``line_count``, ``*_lines``, ``*_fen``: totals by outcome, written with the lines.
# - ``outbox_id``: the ``registry.subsidy.compute_claim`` job that computes it.
class SubsidyClaim(Model):
    id = fields.UUIDField(primary_key=True)
    cohort: fields.ForeignKeyRelation[Cohort] = fields.ForeignKeyField(
        "registry.Cohort", related_name="claims", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(SubsidyKind, max_length=16)
    institution: fields.ForeignKeyRelation[Institution] = fields.ForeignKeyField(
        "registry.Institution", related_name="claims", on_delete=fields.RESTRICT
    )
    division_id = fields.CharField(max_length=6, description="the cohort's division (auditor scope)")
    status = fields.CharEnumField(ClaimStatus, max_length=16, default=ClaimStatus.SUBMITTED)
    policy_code = fields.CharField(max_length=63)
    snapshot: fields.JSONField[Any] = PlainJSONField(null=True, description="the inputs of every line")
    line_count = fields.IntField(default=0)
    clean_lines = fields.IntField(default=0)
    review_lines = fields.IntField(default=0)
    blocked_lines = fields.IntField(default=0)
    total_fen = fields.BigIntField(default=0)
    clean_fen = fields.BigIntField(default=0)
    review_fen = fields.BigIntField(default=0)
    blocked_fen = fields.BigIntField(default=0)
    error = fields.TextField(default="", description="why the worker could not compute it (failed)")
    outbox_id = fields.UUIDField(null=True, description="the compute job")
    filed_by = fields.CharField(max_length=100)
    filed_at = fields.DatetimeField()
    computed_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)
    withdrawn_by = fields.CharField(max_length=100, null=True)
    withdraw_reason = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subsidy_claim"
        table_description = (
            "A subsidy claim for a closed cohort: its status, policy, totals and input snapshot"
        )
        indexes = (("institution_id", "filed_at"), ("division_id", "filed_at"), ("status",))
        constraints = (
            UniqueConstraint(
                fields=("cohort", "kind", "institution"),
                name="subsidy_claim_open_once",
                condition="status NOT IN ('withdrawn', 'failed')",
            ),
        )


# Columns of ``subsidy_line``: one per person of a claim (its enrolment), as computed by
# registry.subsidy.rules: base, uplift and total in fen, the outcome, the flags and the trace;
# the grant facts (occupation, level, course, year) the payable transition turns into a
# ``subsidy_grant``; the auditor's decision (the claims audit).
class SubsidyLine(Model):
    id = fields.UUIDField(primary_key=True)
    claim: fields.ForeignKeyRelation[SubsidyClaim] = fields.ForeignKeyField(
        "registry.SubsidyClaim", related_name="lines", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(SubsidyKind, max_length=16)
    enrolment: fields.ForeignKeyRelation[Enrolment] = fields.ForeignKeyField(
        "registry.Enrolment", related_name="subsidy_lines", on_delete=fields.RESTRICT
    )
    trainee: fields.ForeignKeyRelation[Trainee] = fields.ForeignKeyField(
        "registry.Trainee", related_name="subsidy_lines", on_delete=fields.RESTRICT
    )
    certificate: fields.ForeignKeyNullableRelation[Certificate] = fields.ForeignKeyField(
        "registry.Certificate", related_name="subsidy_lines", null=True, on_delete=fields.RESTRICT
    )
    seq = fields.IntField(description="the line's place in the claim's judging order (DESIGN section 5)")
    cohort_kind = fields.CharEnumField(CohortKind, max_length=16)
    occupation_code = fields.CharField(max_length=16, null=True)
    level = fields.SmallIntField(null=True)
    certificate_kind = fields.CharEnumField(CertificateKind, max_length=24, null=True)
    startup_course = fields.CharEnumField(StartupCourse, max_length=3, null=True)
    year = fields.SmallIntField(description="the line's year: certificate issue year, else cohort end year")
    base_fen = fields.BigIntField()
    uplift_fen = fields.BigIntField()
    total_fen = fields.BigIntField()
    outcome = fields.CharEnumField(LineOutcome, max_length=8)
    flags: fields.JSONField[list[dict[str, Any]]] = PlainJSONField(default=list)
    trace: fields.JSONField[list[dict[str, Any]]] = PlainJSONField(default=list)
    policy_code = fields.CharField(max_length=63)
    notice_id = fields.UUIDField(null=True, description="the notice (claim_notice) that listed it last")
    grant_id = fields.UUIDField(
        null=True, description="its grant in the ledger (subsidy_grant), once granted"
    )
    decision = fields.CharField(max_length=16, null=True, description="approved or rejected (the audit)")
    decided_by = fields.CharField(max_length=100, null=True)
    decided_at = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")

    class Meta:
        table = "subsidy_line"
        table_description = "One computed line of a claim: amounts in fen, outcome, flags, trace, decision"
        unique_together = (("claim", "enrolment"),)
        indexes = (("trainee_id",), ("year",))


# Columns of ``policy_simulation``: a what-if of a draft policy over a year's computed lines
# (``POST /policies/simulate``): the draft as given, the year, and the worker's result.
# ``division_id`` (0013): the division a county auditor's simulation is scoped to (its claims
# only, and only auditors of that division see it); null = the whole city.
class PolicySimulation(Model):
    id = fields.UUIDField(primary_key=True)
    year = fields.SmallIntField()
    division_id = fields.CharField(
        max_length=6, null=True, description="the county auditor's division it covers; null = the city"
    )
    draft: fields.JSONField[Any] = fields.JSONField(description="the draft policy document (amounts in fen)")
    draft_code = fields.CharField(max_length=63)
    status = fields.CharField(max_length=16, default="queued", description="queued, done or failed")
    result: fields.JSONField[Any] = fields.JSONField(null=True)
    error = fields.TextField(default="")
    requested_by = fields.CharField(max_length=100)
    requested_at = fields.DatetimeField()
    done_at = fields.DatetimeField(null=True)
    outbox_id = fields.UUIDField(null=True)

    class Meta:
        table = "policy_simulation"
        table_description = "A what-if of a draft subsidy policy over a year's computed lines"
