"""The grant ledger: what each person has been granted, the only record of it.

``subsidy_grant`` holds one row per granted line (a claim's approved line that became
payable), and one more row per reversal (a clawback). Rows are never updated or deleted: a
trigger refuses UPDATE, DELETE and TRUNCATE, even for the owner, and the application's role
(``registry_dml``) may only INSERT and SELECT the table (migration 0011). The constraints
that make a double grant impossible whatever the code does are in that migration too (they
are partial indexes and CHECKs, which the model cannot declare): see
:mod:`registry.migrations.0011_grant_ledger` and docs/operations.md, "The grant ledger".
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model

from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind
from registry.models.certificate import Certificate
from registry.models.reference import Occupation
from registry.models.training import Trainee


# Columns (a comment, not a docstring: Tortoise makes a class docstring the table's comment):
#
# - ``id``: uuid, drawn by the database.
# - ``trainee_id``: the person (FK, RESTRICT). The person, never an ID number.
# - ``kind``: ``training`` (the training subsidy, to the institution or the trainee) or
#   ``assessment`` (the assessment subsidy, to the assessment body).
# - ``cohort_kind``: ``vocational`` or ``startup``: the kind of the cohort the line came from.
# - ``occupation_id``: the occupation's code (FK to ``occupation.code``, named like
#   ``certificate.occupation_id`` and ``cohort.occupation_id``); NULL for startup.
# - ``level``: 5 初级工 .. 1 高级技师 for a skill-level certificate; NULL otherwise.
# - ``certificate_kind``: the certificate's kind; NULL only for a line without a certificate.
# - ``certificate_id``: the certificate the line was granted on (FK, RESTRICT), NULL when none:
#   a revoked certificate finds its grants to claw back by it.
# - ``startup_course``: GYB / SYB / IYB / EYB; NULL for vocational.
# - ``year``: the line's year, the one the 3-a-year cap counts in: the certificate's issue
#   year, or the cohort's end year where there is no certificate (DESIGN section 5).
# - ``amount_fen``: bigint fen; >= 0 for a grant, exactly the negated original for a reversal.
# - ``reverses_id``: NULL for a grant; for a reversal, the grant it reverses (unique: a grant
#   is reversed at most once; a reversal cannot itself be reversed). A reversal copies every
#   fact of its grant (person, kind, occupation, level, course, year, claim, line).
# - ``claim_id``, ``line_id``: the claim and the line the grant came from. Plain uuid columns
#   for now (no FK): ``subsidy_claim`` and ``subsidy_line`` come with the claims engine, whose
#   migration adds the foreign keys. A line is granted at most once (partial unique index).
# - ``policy_code``: the policy the line's amount was computed under.
# - ``granted_at``: when the row was written (the transaction's time, UTC).
# - ``granted_by``: the actor (``user:<uuid>``, ``system:<name>``).
# - ``reason``: why (a reversal's reason is required: a clawback always says why).
# - ``is_renewal``: a special-operation renewal (复审), paid once per renewal certificate (it
#   holds no slot of its occupation, only its certificate's).
class SubsidyGrant(Model):
    id = fields.UUIDField(primary_key=True)
    trainee: fields.ForeignKeyRelation[Trainee] = fields.ForeignKeyField(
        "registry.Trainee", related_name="grants", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(SubsidyKind, max_length=16, description="training or assessment")
    cohort_kind = fields.CharEnumField(CohortKind, max_length=16, description="vocational or startup")
    occupation: fields.ForeignKeyNullableRelation[Occupation] = fields.ForeignKeyField(
        "registry.Occupation", related_name="grants", null=True, on_delete=fields.RESTRICT
    )
    level = fields.SmallIntField(null=True, description="5 初级工 .. 1 高级技师; NULL when not a level")
    certificate_kind = fields.CharEnumField(CertificateKind, max_length=24, null=True)
    certificate: fields.ForeignKeyNullableRelation[Certificate] = fields.ForeignKeyField(
        "registry.Certificate", related_name="grants", null=True, on_delete=fields.RESTRICT
    )
    startup_course = fields.CharEnumField(StartupCourse, max_length=3, null=True)
    year = fields.SmallIntField(description="certificate issue year, or cohort end year")
    amount_fen = fields.BigIntField(description="negative for a reversal")
    reverses: fields.OneToOneNullableRelation[SubsidyGrant] = fields.OneToOneField(
        "registry.SubsidyGrant",
        related_name="reversal",
        null=True,
        on_delete=fields.RESTRICT,
        description="the grant this row reverses (a clawback); NULL for a grant",
    )
    claim_id = fields.UUIDField(null=True, description="subsidy_claim (FK added with the claims)")
    line_id = fields.UUIDField(null=True, description="subsidy_line (FK added with the claims)")
    policy_code = fields.CharField(max_length=64)
    granted_at = fields.DatetimeField()
    granted_by = fields.CharField(max_length=100, description="user:<uuid>, apikey:<uuid> or system:<name>")
    reason = fields.TextField(default="")
    is_renewal = fields.BooleanField(
        default=False, db_default=False, description="a special-operation renewal (复审)"
    )

    class Meta:
        table = "subsidy_grant"
        table_description = "The grant ledger: one row per granted line or reversal; never updated or deleted"
        indexes = (("trainee_id", "year"), ("claim_id",), ("certificate_id",))
        # Partial unique indexes: a grant (not a reversal) holds its slots for ever, reversed
        # or not (registry.ledger.rules.slots: a level, a level-less subsidy of a kind and
        # occupation, a course; and its certificate, once per subsidy kind). The CHECKs and the triggers are SQL in migration 0011.
        constraints = (
            UniqueConstraint(
                fields=("trainee", "kind", "occupation", "level"),
                name="subsidy_grant_level_once",
                condition="reverses_id IS NULL AND level IS NOT NULL",
            ),
            UniqueConstraint(
                fields=("trainee", "kind", "certificate_kind", "occupation"),
                name="subsidy_grant_levelless_once",
                condition=(
                    "reverses_id IS NULL AND level IS NULL AND startup_course IS NULL "
                    "AND certificate_kind IS NOT NULL AND NOT is_renewal"
                ),
            ),
            UniqueConstraint(
                fields=("certificate", "kind"),
                name="subsidy_grant_certificate_once",
                condition="reverses_id IS NULL AND certificate_id IS NOT NULL",
            ),
            UniqueConstraint(
                fields=("trainee", "startup_course"),
                name="subsidy_grant_startup_once",
                condition="reverses_id IS NULL AND startup_course IS NOT NULL",
            ),
            UniqueConstraint(
                fields=("line_id",),
                name="subsidy_grant_line_once",
                condition="reverses_id IS NULL AND line_id IS NOT NULL",
            ),
        )
