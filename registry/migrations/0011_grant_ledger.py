"""The grant ledger: ``subsidy_grant``, append-only, with the constraints that make a double
grant impossible whatever the code does.

- **Append-only.** A trigger refuses UPDATE, DELETE and TRUNCATE (for everyone, the owner
  too), and the application's role ``registry_dml`` may only INSERT and SELECT the table.
  A clawback is a new, reversing row (``reverses_id``, the amount negated).
- **Once, ever.** Partial unique indexes: a person is granted one occupation at one level at
  most once per subsidy kind (``subsidy_grant_level_once``: training, and the assessment
  subsidy separately), one startup course at most once (``subsidy_grant_startup_once``), and a
  claim's line at most once (``subsidy_grant_line_once``). The indexes cover the grants
  (``reverses_id IS NULL``), and a reversed grant keeps its slot: a clawed-back occupation and
  level (or course) is never granted to that person again (SAME_LEVEL_REPEAT is "ever"). A
  grant is reversed at most once (``reverses_id`` is unique) and a reversal is never reversed.
- **Three a year.** ANNUAL_CAP cannot be an index: the BEFORE INSERT trigger takes the
  person's transaction-level advisory lock (``hashtextextended('subsidy_grant:' || trainee_id,
  0)``, the lock :mod:`registry.ledger.queries` takes too) and refuses a training grant when the
  person already holds 3 net training grants (not reversed) in the row's year. Concurrent
  transactions for one person queue on that lock, and under READ COMMITTED (the default) each
  count sees the rows committed before it; the trigger refuses REPEATABLE READ, under which it
  would not.
- **Shapes.** CHECKs: a vocational grant has an occupation and no course, a startup grant a
  course, no occupation and no level, and is a training grant; a level (1-5) goes with a
  skill-level certificate and only with one; a grant's amount is >= 0 and a reversal's <= 0,
  with a reason. The trigger checks a reversal copies its grant's facts and negates its amount.

Written as Tortoise's ``makemigrations`` writes the table, plus SQL for what a model cannot
declare. The partial unique indexes are the model's (``Meta.constraints``, so ``registry
check-migrations`` guards them); the CHECKs, the triggers and the privileges are SQL.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

APP_ROLE = "registry_dml"

LOCK_KEY = "hashtextextended('subsidy_grant:' || NEW.trainee_id::text, 0)"
"""The person's ledger lock; :data:`registry.ledger.queries.LOCK_SQL` is the same expression."""

FORWARD = [
    """
    ALTER TABLE subsidy_grant
        ADD CONSTRAINT subsidy_grant_kind_check CHECK (kind IN ('training', 'assessment')),
        ADD CONSTRAINT subsidy_grant_cohort_kind_check CHECK (cohort_kind IN ('vocational', 'startup')),
        ADD CONSTRAINT subsidy_grant_shape_check CHECK (
            (cohort_kind = 'vocational' AND occupation_id IS NOT NULL AND startup_course IS NULL)
            OR (cohort_kind = 'startup' AND kind = 'training' AND occupation_id IS NULL
                AND startup_course IS NOT NULL AND level IS NULL)
        ),
        ADD CONSTRAINT subsidy_grant_level_check CHECK (
            CASE WHEN level IS NULL THEN certificate_kind IS DISTINCT FROM 'skill_level'
                 ELSE certificate_kind = 'skill_level' AND level BETWEEN 1 AND 5 END
        ),
        ADD CONSTRAINT subsidy_grant_amount_check CHECK (
            (reverses_id IS NULL AND amount_fen >= 0)
            OR (reverses_id IS NOT NULL AND amount_fen <= 0 AND btrim(reason) <> '' AND reverses_id <> id)
        ),
        ADD CONSTRAINT subsidy_grant_year_check CHECK (year BETWEEN 2000 AND 2100);
    """,
    """
    CREATE OR REPLACE FUNCTION subsidy_grant_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'subsidy_grant is append-only: % refused (a reversal is a new row)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    """
    CREATE TRIGGER subsidy_grant_append_only
        BEFORE UPDATE OR DELETE ON subsidy_grant
        FOR EACH ROW EXECUTE FUNCTION subsidy_grant_refuse_change();
    """,
    """
    CREATE TRIGGER subsidy_grant_no_truncate
        BEFORE TRUNCATE ON subsidy_grant
        FOR EACH STATEMENT EXECUTE FUNCTION subsidy_grant_refuse_change();
    """,
    f"""
    CREATE OR REPLACE FUNCTION subsidy_grant_check_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        original subsidy_grant%ROWTYPE;
        held integer;
    BEGIN
        IF current_setting('transaction_isolation') = 'repeatable read' THEN
            RAISE EXCEPTION 'subsidy_grant is written under READ COMMITTED (or SERIALIZABLE), not REPEATABLE READ'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        -- One person's grants are written one transaction at a time.
        PERFORM pg_advisory_xact_lock({LOCK_KEY});
        IF NEW.reverses_id IS NOT NULL THEN
            SELECT * INTO original FROM subsidy_grant WHERE id = NEW.reverses_id;
            IF FOUND AND (
                original.reverses_id IS NOT NULL
                OR (NEW.trainee_id, NEW.kind, NEW.cohort_kind, NEW.occupation_id, NEW.level,
                    NEW.startup_course, NEW.year, NEW.amount_fen, NEW.claim_id, NEW.line_id)
                   IS DISTINCT FROM
                   (original.trainee_id, original.kind, original.cohort_kind, original.occupation_id,
                    original.level, original.startup_course, original.year, -original.amount_fen,
                    original.claim_id, original.line_id)
            ) THEN
                RAISE EXCEPTION 'a reversal copies the facts of the grant it reverses and negates its amount; a reversal is never reversed'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'subsidy_grant_reversal_check';
            END IF;
            RETURN NEW;
        END IF;
        IF NEW.kind = 'training' THEN
            SELECT count(*) INTO held FROM subsidy_grant AS g
            WHERE g.trainee_id = NEW.trainee_id AND g.year = NEW.year AND g.kind = 'training'
              AND g.reverses_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = g.id);
            IF held >= 3 THEN
                RAISE EXCEPTION 'annual cap: the person already holds % training grants in %', held, NEW.year
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'subsidy_grant_annual_cap';
            END IF;
        END IF;
        RETURN NEW;
    END;
    $$;
    """,
    """
    CREATE TRIGGER subsidy_grant_checked
        BEFORE INSERT ON subsidy_grant
        FOR EACH ROW EXECUTE FUNCTION subsidy_grant_check_insert();
    """,
    f"GRANT SELECT, INSERT ON subsidy_grant TO {APP_ROLE};",
    f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON subsidy_grant FROM {APP_ROLE};",
]

REVERSE = [
    "DROP TRIGGER IF EXISTS subsidy_grant_checked ON subsidy_grant;",
    "DROP FUNCTION IF EXISTS subsidy_grant_check_insert();",
    "DROP TRIGGER IF EXISTS subsidy_grant_no_truncate ON subsidy_grant;",
    "DROP TRIGGER IF EXISTS subsidy_grant_append_only ON subsidy_grant;",
    "DROP FUNCTION IF EXISTS subsidy_grant_refuse_change();",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0010_subsidy_policy")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SubsidyGrant",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "trainee",
                    fields.ForeignKeyField(
                        "registry.Trainee",
                        source_field="trainee_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="grants",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="training or assessment", enum_type=SubsidyKind, max_length=16
                    ),
                ),
                (
                    "cohort_kind",
                    fields.CharEnumField(
                        description="vocational or startup", enum_type=CohortKind, max_length=16
                    ),
                ),
                (
                    "occupation",
                    fields.ForeignKeyField(
                        "registry.Occupation",
                        source_field="occupation_id",
                        null=True,
                        db_constraint=True,
                        to_field="code",
                        related_name="grants",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "level",
                    fields.SmallIntField(
                        null=True, description="5 初级工 .. 1 高级技师; NULL when not a level"
                    ),
                ),
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
                    "certificate",
                    fields.ForeignKeyField(
                        "registry.Certificate",
                        source_field="certificate_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="grants",
                        on_delete=OnDelete.RESTRICT,
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
                ("year", fields.SmallIntField(description="certificate issue year, or cohort end year")),
                ("amount_fen", fields.BigIntField(description="negative for a reversal")),
                (
                    "reverses",
                    fields.OneToOneField(
                        "registry.SubsidyGrant",
                        source_field="reverses_id",
                        null=True,
                        description="the grant this row reverses (a clawback); NULL for a grant",
                        db_constraint=True,
                        to_field="id",
                        related_name="reversal",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "claim_id",
                    fields.UUIDField(null=True, description="subsidy_claim (FK added with the claims)"),
                ),
                (
                    "line_id",
                    fields.UUIDField(null=True, description="subsidy_line (FK added with the claims)"),
                ),
                ("policy_code", fields.CharField(max_length=64)),
                ("granted_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "granted_by",
                    fields.CharField(
                        description="user:<uuid>, apikey:<uuid> or system:<name>", max_length=100
                    ),
                ),
                ("reason", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "subsidy_grant",
                "app": "registry",
                "indexes": [
                    Index(fields=["trainee_id", "year"]),
                    Index(fields=["claim_id"]),
                    Index(fields=["certificate_id"]),
                ],
                "pk_attr": "id",
                "table_description": "The grant ledger: one row per granted line or reversal; never updated or deleted",
            },
            bases=["Model"],
        ),
        ops.AddConstraint(
            model_name="SubsidyGrant",
            constraint=UniqueConstraint(
                fields=("trainee", "kind", "occupation", "level"),
                name="subsidy_grant_level_once",
                condition="reverses_id IS NULL AND level IS NOT NULL",
            ),
        ),
        ops.AddConstraint(
            model_name="SubsidyGrant",
            constraint=UniqueConstraint(
                fields=("trainee", "startup_course"),
                name="subsidy_grant_startup_once",
                condition="reverses_id IS NULL AND startup_course IS NOT NULL",
            ),
        ),
        ops.AddConstraint(
            model_name="SubsidyGrant",
            constraint=UniqueConstraint(
                fields=("line_id",),
                name="subsidy_grant_line_once",
                condition="reverses_id IS NULL AND line_id IS NOT NULL",
            ),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
