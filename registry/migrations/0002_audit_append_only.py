"""The audit trail is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE."""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    """
    CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
    """,
    """
    CREATE TRIGGER audit_event_no_truncate
        BEFORE TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
    """,
]

REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change();",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [ops.RunSQL(FORWARD, reverse_sql=REVERSE)]
