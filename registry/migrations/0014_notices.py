"""Public notices of claims (``claim_notice``) and payments of grants (``subsidy_payment``);
a line remembers the notice that listed it and its grant.

- ``claim_notice``: at most one running notice per claim (a partial unique index); status
  ``running`` or ``closed``; it runs from ``runs_from`` to the end of ``runs_to``.
- ``subsidy_payment``: one row per paid grant (unique), never updated or deleted (the
  application's role may only insert and read it).
- ``subsidy_line.notice_id`` and ``grant_id`` become foreign keys.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

APP_ROLE = "registry_dml"

FORWARD = [
    """
    ALTER TABLE claim_notice
        ADD CONSTRAINT claim_notice_status_check CHECK (status IN ('running', 'closed')),
        ADD CONSTRAINT claim_notice_period_check CHECK (published_on < runs_from AND runs_from <= runs_to);
    """,
    "CREATE UNIQUE INDEX claim_notice_one_running ON claim_notice (claim_id) WHERE status = 'running';",
    """
    ALTER TABLE subsidy_line
        ADD CONSTRAINT subsidy_line_notice_fk FOREIGN KEY (notice_id) REFERENCES claim_notice (id) ON DELETE RESTRICT,
        ADD CONSTRAINT subsidy_line_grant_fk FOREIGN KEY (grant_id) REFERENCES subsidy_grant (id) ON DELETE RESTRICT;
    """,
    "ALTER TABLE subsidy_payment ADD CONSTRAINT subsidy_payment_amount_check CHECK (amount_fen >= 0);",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON subsidy_payment FROM {APP_ROLE};",
    f"REVOKE DELETE, TRUNCATE ON claim_notice FROM {APP_ROLE};",
]

REVERSE = [
    "ALTER TABLE subsidy_line DROP CONSTRAINT IF EXISTS subsidy_line_notice_fk, "
    "DROP CONSTRAINT IF EXISTS subsidy_line_grant_fk;",
    "DROP INDEX IF EXISTS claim_notice_one_running;",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0013_working_day_calendar")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ClaimNotice",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "claim",
                    fields.ForeignKeyField(
                        "registry.SubsidyClaim",
                        source_field="claim_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notices",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("published_on", fields.DateField()),
                ("runs_from", fields.DateField()),
                (
                    "runs_to",
                    fields.DateField(description="the notice ends at the end of this day (Asia/Shanghai)"),
                ),
                (
                    "days",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "status",
                    fields.CharField(default="running", description="running or closed", max_length=16),
                ),
                ("published_by", fields.CharField(max_length=100)),
                ("published_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("closed_by", fields.CharField(null=True, max_length=100)),
                ("granted_lines", fields.IntField(default=0)),
                ("returned_lines", fields.IntField(default=0)),
            ],
            options={
                "table": "claim_notice",
                "app": "registry",
                "indexes": [Index(fields=["status", "runs_to"]), Index(fields=["claim_id"])],
                "pk_attr": "id",
                "table_description": "A public notice (公示) of a claim's approved lines, on the working-day calendar",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SubsidyPayment",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "grant",
                    fields.OneToOneField(
                        "registry.SubsidyGrant",
                        source_field="grant_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="payment",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "claim",
                    fields.ForeignKeyField(
                        "registry.SubsidyClaim",
                        source_field="claim_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="payments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("paid_on", fields.DateField()),
                ("batch_reference", fields.CharField(max_length=64)),
                ("amount_fen", fields.BigIntField()),
                ("recorded_by", fields.CharField(max_length=100)),
                ("recorded_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "subsidy_payment",
                "app": "registry",
                "indexes": [Index(fields=["claim_id"])],
                "pk_attr": "id",
                "table_description": "The payment of a grant: date and the bureau's batch reference",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="SubsidyLine",
            name="grant_id",
            field=fields.UUIDField(
                null=True, description="its grant in the ledger (subsidy_grant), once granted"
            ),
        ),
        ops.AddField(
            model_name="SubsidyLine",
            name="notice_id",
            field=fields.UUIDField(null=True, description="the notice (claim_notice) that listed it last"),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
