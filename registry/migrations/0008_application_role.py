"""The application's role, and the audit key's id on each audit event.

``registry_dml`` (NOLOGIN) holds every privilege the application needs and nothing more:
SELECT, INSERT, UPDATE and DELETE on the tables (no TRUNCATE, REFERENCES or TRIGGER, no
DDL: it owns nothing), USAGE and SELECT on the sequences, only INSERT and SELECT on
``audit_event`` and ``audit_check``, only SELECT on Tortoise's migration records. Default
privileges give it the same on the tables and sequences later migrations create (they are
created by the owner, who runs the migrations). The role the application logs in as (the
user of ``DATABASE_URL``) is made a member of it by ``registry migrate``
(:func:`registry.core.db.ensure_application_role`): docs/operations.md, "Database roles".

``audit_event.key_id`` names the audit key (``REGISTRY_AUDIT_KEY``) whose HMAC-SHA256 is the
row's hash; rows written before this migration keep NULL and their plain SHA-256.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

APP_ROLE = "registry_dml"

FORWARD = [
    f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by a migration of another database on the same server
    END
    $$;
    """,
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE};",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};",
    f"REVOKE UPDATE, DELETE ON audit_event, audit_check FROM {APP_ROLE};",
    f"""
    DO $$
    BEGIN
        IF to_regclass('tortoise_migrations') IS NOT NULL THEN
            REVOKE INSERT, UPDATE, DELETE ON tortoise_migrations FROM {APP_ROLE};
        END IF;
    END
    $$;
    """,
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};",
]

REVERSE = [
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};",
    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};",
    f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};",
    f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};",
]


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_certificate_personal_numbers")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="key_id",
            field=fields.CharField(
                null=True,
                description="the audit key that signed the row; NULL: plain SHA-256 (before 0008)",
                max_length=16,
            ),
        ),
        ops.RunSQL(FORWARD, reverse_sql=REVERSE),
    ]
