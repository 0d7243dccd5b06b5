"""Money that cannot be paid wrongly (issue 15).

- ``subsidy_grant.is_renewal`` and two more once-only slots of the ledger (partial unique
  indexes, like 0011's): a level-less subsidy (special ability, a special-operation first
  certificate, completion) once per person, subsidy kind, certificate kind and occupation
  (``subsidy_grant_levelless_once``); a certificate backs one training grant and one
  assessment grant, ever (``subsidy_grant_certificate_once``; a renewal's only slot).
- ``subsidy_claim_open_once`` (declared in 0012 but never created there): one open claim per cohort, kind and claimant (a second
  assessment body of a cohort files its own).
- ``subsidy_payment`` refuses, in the database, a payment of a reversal, of a grant that was
  clawed back, of another amount than the grant's, or dated before the grant; the check runs
  under the person's ledger lock (the lock a reversal's insert takes, migration 0011), so a
  payment and a clawback of one grant never both commit.

A database holding grants that already break the new slots (the defect this fixes) stops
here with the index's error naming the duplicate key: reverse the extra grant first
(docs/operations.md, "The grant ledger").
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint


class StateOnlyRemoveConstraint(ops.RemoveConstraint):
    """Migration 0012 declared ``subsidy_claim_open_once`` in ``CreateModel``'s options, which
    Tortoise records in its state but never creates in the database (only the cohort's lock
    kept filings apart): the state forgets it here, and the index is created just after."""

    async def database_forward(self, *args: object, **kwargs: object) -> None:
        return None

    async def database_backward(self, *args: object, **kwargs: object) -> None:
        return None


FORWARD = [
    """
    CREATE OR REPLACE FUNCTION subsidy_payment_check_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        paid subsidy_grant%ROWTYPE;
    BEGIN
        SELECT * INTO paid FROM subsidy_grant WHERE id = NEW.grant_id;
        IF NOT FOUND THEN
            RETURN NEW;  -- the foreign key refuses it
        END IF;
        -- The person's ledger lock (the one a reversal's insert takes), then a fresh look.
        PERFORM pg_advisory_xact_lock(hashtextextended('subsidy_grant:' || paid.trainee_id::text, 0));
        IF paid.reverses_id IS NOT NULL
           OR EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = NEW.grant_id) THEN
            RAISE EXCEPTION 'grant % was clawed back (or is a reversal): it is not paid', NEW.grant_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'subsidy_payment_grant_standing';
        END IF;
        IF NEW.amount_fen <> paid.amount_fen THEN
            RAISE EXCEPTION 'a payment pays its grant''s amount (% fen), not % fen', paid.amount_fen, NEW.amount_fen
                USING ERRCODE = 'check_violation', CONSTRAINT = 'subsidy_payment_amount_check';
        END IF;
        IF NEW.paid_on < (paid.granted_at AT TIME ZONE 'Asia/Shanghai')::date THEN
            RAISE EXCEPTION 'a payment is not dated before its grant (%)', (paid.granted_at AT TIME ZONE 'Asia/Shanghai')::date
                USING ERRCODE = 'check_violation', CONSTRAINT = 'subsidy_payment_paid_on_check';
        END IF;
        RETURN NEW;
    END;
    $$;
    """,
    """
    CREATE TRIGGER subsidy_payment_checked
        BEFORE INSERT ON subsidy_payment
        FOR EACH ROW EXECUTE FUNCTION subsidy_payment_check_insert();
    """,
]

REVERSE = [
    "DROP TRIGGER IF EXISTS subsidy_payment_checked ON subsidy_payment;",
    "DROP FUNCTION IF EXISTS subsidy_payment_check_insert();",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0018_priority_list_confirmation")]

    initial = False

    operations = [
        StateOnlyRemoveConstraint(
            model_name="SubsidyClaim",
            name="subsidy_claim_open_once",
            fields=None,
        ),
        ops.AddConstraint(
            model_name="SubsidyClaim",
            constraint=UniqueConstraint(
                fields=("cohort", "kind", "institution"),
                name="subsidy_claim_open_once",
                condition="status NOT IN ('withdrawn', 'failed')",
            ),
        ),
        ops.AddField(
            model_name="SubsidyGrant",
            name="is_renewal",
            field=fields.BooleanField(
                default=False, description="a special-operation renewal (复审)", db_default=False
            ),
        ),
        ops.AddConstraint(
            model_name="SubsidyGrant",
            constraint=UniqueConstraint(
                fields=("trainee", "kind", "certificate_kind", "occupation"),
                name="subsidy_grant_levelless_once",
                condition="reverses_id IS NULL AND level IS NULL AND startup_course IS NULL AND certificate_kind IS NOT NULL AND NOT is_renewal",
            ),
        ),
        ops.AddConstraint(
            model_name="SubsidyGrant",
            constraint=UniqueConstraint(
                fields=("certificate", "kind"),
                name="subsidy_grant_certificate_once",
                condition="reverses_id IS NULL AND certificate_id IS NOT NULL",
            ),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
