"""Subsidy policies (DESIGN.md section 5): ``subsidy_policy`` holds the published policy
documents (``registry load-policy``, ``registry load-reference``), one row per code.

A published policy never changes: a trigger refuses UPDATE and DELETE (a change is a new
code with its own effective dates). The application's role (``registry_dml``) gets its
privileges on the new table from the default privileges of 0008.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from uuid import uuid4
from tortoise import fields

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION subsidy_policy_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'a published subsidy policy never changes: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    """
    CREATE TRIGGER subsidy_policy_immutable
        BEFORE UPDATE OR DELETE ON subsidy_policy
        FOR EACH ROW EXECUTE FUNCTION subsidy_policy_refuse_change();
    """,
]

REVERSE = [
    "DROP TRIGGER IF EXISTS subsidy_policy_immutable ON subsidy_policy;",
    "DROP FUNCTION IF EXISTS subsidy_policy_refuse_change();",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_enrolment_facts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SubsidyPolicy",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("code", fields.CharField(unique=True, max_length=63)),
                ("effective_from", fields.DateField(description="first day in force (inclusive)")),
                (
                    "effective_to",
                    fields.DateField(
                        null=True, description="last day in force (inclusive); null = open-ended"
                    ),
                ),
                (
                    "document",
                    fields.JSONField(
                        description="the validated policy document (amounts in fen)",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "source_note",
                    fields.TextField(
                        default="", description="the published documents it comes from", unique=False
                    ),
                ),
                (
                    "sha256",
                    fields.CharField(description="SHA-256 of the document's canonical JSON", max_length=64),
                ),
                ("loaded_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "subsidy_policy",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "A published policy document (DESIGN.md section 5), immutable once loaded: a change is a",
            },
            bases=["Model"],
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
