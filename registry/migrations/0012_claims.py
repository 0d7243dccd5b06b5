"""Subsidy claims and their lines (issue 8), and what-if simulations of draft policies.

- ``subsidy_claim``: one open claim per cohort and kind (``subsidy_claim_open_once``, a
  partial unique index over the claims not withdrawn or failed), so two concurrent filings
  cannot both land; status, kind and totals are CHECKed.
- ``subsidy_line``: one line per enrolment of a claim (unique); amounts are >= 0.
- The ledger's ``claim_id`` and ``line_id`` (migration 0011) become foreign keys.
- Claims and lines are never deleted: the application's role loses DELETE and TRUNCATE on
  them (a withdrawn claim is a status).

Written as Tortoise's ``makemigrations`` writes the tables, plus SQL for what a model cannot
declare.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from registry.enums import CertificateKind, ClaimStatus, CohortKind, LineOutcome, StartupCourse, SubsidyKind
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

APP_ROLE = "registry_dml"

FORWARD = [
    """
    ALTER TABLE subsidy_claim
        ADD CONSTRAINT subsidy_claim_kind_check CHECK (kind IN ('training', 'assessment')),
        ADD CONSTRAINT subsidy_claim_status_check CHECK (status IN (
            'submitted', 'computed', 'in_review', 'decided', 'noticed', 'payable', 'paid', 'withdrawn', 'failed'
        )),
        ADD CONSTRAINT subsidy_claim_totals_check CHECK (
            line_count = clean_lines + review_lines + blocked_lines
            AND total_fen = clean_fen + review_fen + blocked_fen
            AND clean_fen >= 0 AND review_fen >= 0 AND blocked_fen >= 0
        );
    """,
    """
    ALTER TABLE subsidy_line
        ADD CONSTRAINT subsidy_line_kind_check CHECK (kind IN ('training', 'assessment')),
        ADD CONSTRAINT subsidy_line_outcome_check CHECK (outcome IN ('clean', 'review', 'blocked')),
        ADD CONSTRAINT subsidy_line_amount_check CHECK (
            base_fen >= 0 AND uplift_fen >= 0 AND total_fen >= 0
        ),
        ADD CONSTRAINT subsidy_line_decision_check CHECK (decision IS NULL OR decision IN ('approved', 'rejected'));
    """,
    """
    ALTER TABLE subsidy_grant
        ADD CONSTRAINT subsidy_grant_claim_fk FOREIGN KEY (claim_id) REFERENCES subsidy_claim (id) ON DELETE RESTRICT,
        ADD CONSTRAINT subsidy_grant_line_fk FOREIGN KEY (line_id) REFERENCES subsidy_line (id) ON DELETE RESTRICT;
    """,
    f"REVOKE DELETE, TRUNCATE ON subsidy_claim, subsidy_line FROM {APP_ROLE};",
]

REVERSE = [
    "ALTER TABLE subsidy_grant DROP CONSTRAINT IF EXISTS subsidy_grant_claim_fk, "
    "DROP CONSTRAINT IF EXISTS subsidy_grant_line_fk;",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0011_grant_ledger")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PolicySimulation",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("year", fields.SmallIntField()),
                (
                    "draft",
                    fields.JSONField(
                        description="the draft policy document (amounts in fen)",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("draft_code", fields.CharField(max_length=63)),
                (
                    "status",
                    fields.CharField(default="queued", description="queued, done or failed", max_length=16),
                ),
                (
                    "result",
                    fields.JSONField(
                        null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("error", fields.TextField(default="", unique=False)),
                ("requested_by", fields.CharField(max_length=100)),
                ("requested_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("done_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("outbox_id", fields.UUIDField(null=True)),
            ],
            options={
                "table": "policy_simulation",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "A what-if of a draft subsidy policy over a year's computed lines",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SubsidyClaim",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "cohort",
                    fields.ForeignKeyField(
                        "registry.Cohort",
                        source_field="cohort_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="claims",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="TRAINING: training\nASSESSMENT: assessment",
                        enum_type=SubsidyKind,
                        max_length=16,
                    ),
                ),
                (
                    "institution",
                    fields.ForeignKeyField(
                        "registry.Institution",
                        source_field="institution_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="claims",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "division_id",
                    fields.CharField(description="the cohort's division (auditor scope)", max_length=6),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=ClaimStatus.SUBMITTED,
                        description="SUBMITTED: submitted\nCOMPUTED: computed\nIN_REVIEW: in_review\nDECIDED: decided\nNOTICED: noticed\nPAYABLE: payable\nPAID: paid\nWITHDRAWN: withdrawn\nFAILED: failed",
                        enum_type=ClaimStatus,
                        max_length=16,
                    ),
                ),
                ("policy_code", fields.CharField(max_length=63)),
                (
                    "snapshot",
                    fields.JSONField(
                        null=True,
                        description="the inputs of every line",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("line_count", fields.IntField(default=0)),
                ("clean_lines", fields.IntField(default=0)),
                ("review_lines", fields.IntField(default=0)),
                ("blocked_lines", fields.IntField(default=0)),
                ("total_fen", fields.BigIntField(default=0)),
                ("clean_fen", fields.BigIntField(default=0)),
                ("review_fen", fields.BigIntField(default=0)),
                ("blocked_fen", fields.BigIntField(default=0)),
                (
                    "error",
                    fields.TextField(
                        default="", description="why the worker could not compute it (failed)", unique=False
                    ),
                ),
                ("outbox_id", fields.UUIDField(null=True, description="the compute job")),
                ("filed_by", fields.CharField(max_length=100)),
                ("filed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("computed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("withdrawn_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("withdrawn_by", fields.CharField(null=True, max_length=100)),
                ("withdraw_reason", fields.TextField(default="", unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "subsidy_claim",
                "app": "registry",
                "constraints": [
                    UniqueConstraint(
                        fields=("cohort", "kind"),
                        name="subsidy_claim_open_once",
                        condition="status NOT IN ('withdrawn', 'failed')",
                    )
                ],
                "indexes": [
                    Index(fields=["institution_id", "filed_at"]),
                    Index(fields=["division_id", "filed_at"]),
                    Index(fields=["status"]),
                ],
                "pk_attr": "id",
                "table_description": "A subsidy claim for a closed cohort: its status, policy, totals and input snapshot",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SubsidyLine",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "claim",
                    fields.ForeignKeyField(
                        "registry.SubsidyClaim",
                        source_field="claim_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="lines",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="TRAINING: training\nASSESSMENT: assessment",
                        enum_type=SubsidyKind,
                        max_length=16,
                    ),
                ),
                (
                    "enrolment",
                    fields.ForeignKeyField(
                        "registry.Enrolment",
                        source_field="enrolment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="subsidy_lines",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "trainee",
                    fields.ForeignKeyField(
                        "registry.Trainee",
                        source_field="trainee_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="subsidy_lines",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "certificate",
                    fields.ForeignKeyField(
                        "registry.Certificate",
                        source_field="certificate_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="subsidy_lines",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "seq",
                    fields.IntField(
                        description="the line's place in the claim's judging order (DESIGN section 5)"
                    ),
                ),
                (
                    "cohort_kind",
                    fields.CharEnumField(
                        description="VOCATIONAL: vocational\nSTARTUP: startup",
                        enum_type=CohortKind,
                        max_length=16,
                    ),
                ),
                ("occupation_code", fields.CharField(null=True, max_length=16)),
                ("level", fields.SmallIntField(null=True)),
                (
                    "certificate_kind",
                    fields.CharEnumField(
                        null=True,
                        description="SKILL_LEVEL: skill_level\nSPECIAL_ABILITY: special_ability\nSPECIAL_OPERATION: special_operation\nCOMPLETION: completion\nSTARTUP: startup",
                        enum_type=CertificateKind,
                        max_length=24,
                    ),
                ),
                (
                    "startup_course",
                    fields.CharEnumField(
                        null=True,
                        description="GYB: GYB\nSYB: SYB\nIYB: IYB\nEYB: EYB",
                        enum_type=StartupCourse,
                        max_length=3,
                    ),
                ),
                (
                    "year",
                    fields.SmallIntField(
                        description="the line's year: certificate issue year, else cohort end year"
                    ),
                ),
                ("base_fen", fields.BigIntField()),
                ("uplift_fen", fields.BigIntField()),
                ("total_fen", fields.BigIntField()),
                (
                    "outcome",
                    fields.CharEnumField(
                        description="CLEAN: clean\nREVIEW: review\nBLOCKED: blocked",
                        enum_type=LineOutcome,
                        max_length=8,
                    ),
                ),
                (
                    "flags",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "trace",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("policy_code", fields.CharField(max_length=63)),
                (
                    "decision",
                    fields.CharField(
                        null=True, description="approved or rejected (the audit)", max_length=16
                    ),
                ),
                ("decided_by", fields.CharField(null=True, max_length=100)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("reason", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "subsidy_line",
                "app": "registry",
                "unique_together": (("claim", "enrolment"),),
                "indexes": [Index(fields=["trainee_id"]), Index(fields=["year"])],
                "pk_attr": "id",
                "table_description": "One computed line of a claim: amounts in fen, outcome, flags, trace, decision",
            },
            bases=["Model"],
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
