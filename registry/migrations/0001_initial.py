from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from registry.enums import (
    CertificateKind,
    CertificateStatus,
    CohortKind,
    CohortStatus,
    Delivery,
    DivisionKind,
    EnrolmentOutcome,
    ImportStatus,
    InstitutionStatus,
    Role,
    StartupCourse,
    TrainingMode,
)
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="AuditCheck",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("checked_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("ok", fields.BooleanField()),
                ("events_checked", fields.BigIntField()),
                ("first_broken_id", fields.BigIntField(null=True)),
                ("message", fields.TextField(default="", unique=False)),
                ("checked_by", fields.CharField(default="", max_length=100)),
            ],
            options={
                "table": "audit_check",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "The result of one walk of the chain (the nightly task, or `registry verify-audit`).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "actor",
                    fields.CharField(
                        description="user:<uuid>, apikey:<uuid> or system:<name>", max_length=100
                    ),
                ),
                ("action", fields.CharField(max_length=64)),
                ("entity_type", fields.CharField(max_length=64)),
                ("entity_id", fields.CharField(max_length=64)),
                (
                    "before",
                    fields.JSONField(
                        null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "after",
                    fields.JSONField(
                        null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("prev_hash", fields.CharField(max_length=64)),
                ("hash", fields.CharField(unique=True, max_length=64)),
            ],
            options={
                "table": "audit_event",
                "app": "registry",
                "indexes": [Index(fields=["entity_type", "entity_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Division",
            fields=[
                ("code", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=6)),
                ("name", fields.CharField(max_length=50)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DISTRICT: district\nCOUNTY: county\nSTATISTICS: statistics",
                        enum_type=DivisionKind,
                        max_length=16,
                    ),
                ),
                ("is_administrative", fields.BooleanField(default=True)),
            ],
            options={
                "table": "division",
                "app": "registry",
                "pk_attr": "code",
                "table_description": "A district or county of Luoyang (6-digit code).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("principal", fields.CharField(max_length=100)),
                ("key", fields.CharField(max_length=200)),
                ("request_hash", fields.CharField(max_length=64)),
                ("status_code", fields.SmallIntField()),
                (
                    "response",
                    fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "idempotency_key",
                "app": "registry",
                "unique_together": (("principal", "key"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Institution",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("uscc", fields.CharField(unique=True, description="统一社会信用代码", max_length=18)),
                ("name", fields.CharField(max_length=200)),
                (
                    "division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="division_id",
                        db_constraint=True,
                        to_field="code",
                        related_name="institutions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kinds",
                    fields.JSONField(
                        default=list,
                        description="training and/or assessment",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "approved_years",
                    fields.JSONField(
                        default=list,
                        description="years on the annual list of subsidised providers",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=InstitutionStatus.ACTIVE,
                        description="ACTIVE: active\nSUSPENDED: suspended\nBLACKLISTED: blacklisted",
                        enum_type=InstitutionStatus,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "institution", "app": "registry", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Occupation",
            fields=[
                ("code", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=16)),
                ("name", fields.CharField(max_length=200)),
                ("level", fields.SmallIntField(description="1 大类, 2 中类, 3 小类, 4 细类 (an occupation)")),
                ("parent_code", fields.CharField(null=True, max_length=16)),
                ("edition", fields.CharField(default="2022", max_length=8)),
                ("is_digital", fields.BooleanField(default=False)),
                ("is_green", fields.BooleanField(default=False)),
                ("definition", fields.TextField(default="", unique=False)),
            ],
            options={
                "table": "occupation",
                "app": "registry",
                "pk_attr": "code",
                "table_description": "One entry of the national occupational classification (2022 edition), any level.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Cohort",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "institution",
                    fields.ForeignKeyField(
                        "registry.Institution",
                        source_field="institution_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="cohorts",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("reference", fields.CharField(description="the institution's own reference", max_length=64)),
                ("name", fields.CharField(default="", max_length=200)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="VOCATIONAL: vocational\nSTARTUP: startup",
                        enum_type=CohortKind,
                        max_length=16,
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
                        related_name="cohorts",
                        on_delete=OnDelete.RESTRICT,
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
                ("certificate_level", fields.SmallIntField(null=True)),
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
                    "training_mode",
                    fields.CharEnumField(
                        default=TrainingMode.GENERAL,
                        description="GENERAL: general\nORDER_BASED: order_based\nPOST_BASED: post_based",
                        enum_type=TrainingMode,
                        max_length=16,
                    ),
                ),
                (
                    "delivery",
                    fields.CharEnumField(
                        default=Delivery.IN_PERSON,
                        description="IN_PERSON: in_person\nONLINE: online\nBLENDED: blended",
                        enum_type=Delivery,
                        max_length=16,
                    ),
                ),
                (
                    "division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="division_id",
                        db_constraint=True,
                        to_field="code",
                        related_name="cohorts",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("planned_hours", fields.IntField()),
                ("start_date", fields.DateField()),
                ("end_date", fields.DateField()),
                ("capacity", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=CohortStatus.DRAFT,
                        description="DRAFT: draft\nOPEN: open\nRUNNING: running\nCLOSED: closed\nCANCELLED: cancelled",
                        enum_type=CohortStatus,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "cohort",
                "app": "registry",
                "unique_together": (("institution", "reference"),),
                "indexes": [
                    Index(fields=["division_id", "end_date"]),
                    Index(fields=["status", "start_date"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ImportBatch",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "cohort",
                    fields.ForeignKeyField(
                        "registry.Cohort",
                        source_field="cohort_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="imports",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("actor", fields.CharField(max_length=100)),
                ("file_name", fields.CharField(max_length=255)),
                ("sha256", fields.CharField(max_length=64)),
                ("mode", fields.CharField(max_length=16)),
                ("rows_read", fields.IntField(default=0)),
                ("accepted", fields.IntField(default=0)),
                ("refused", fields.IntField(default=0)),
                (
                    "errors",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        description="IMPORTED: imported\nREFUSED: refused\nPARTIAL: partial",
                        enum_type=ImportStatus,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "import_batch",
                "app": "registry",
                "indexes": [Index(fields=["cohort_id", "sha256"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PriorityList",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("name", fields.CharField(max_length=200)),
                ("effective_from", fields.DateField(unique=True)),
                ("source_note", fields.TextField(default="", unique=False)),
                ("is_reference_selection", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "priority_list",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "A version of the city's priority-trade list; the one in force on a date is the one",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PriorityListEntry",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "priority_list",
                    fields.ForeignKeyField(
                        "registry.PriorityList",
                        source_field="priority_list_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="entries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "occupation",
                    fields.ForeignKeyField(
                        "registry.Occupation",
                        source_field="occupation_id",
                        db_constraint=True,
                        to_field="code",
                        related_name="priority_entries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("sector", fields.CharField(default="", max_length=100)),
            ],
            options={
                "table": "priority_list_entry",
                "app": "registry",
                "unique_together": (("priority_list", "occupation"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Trainee",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "id_index",
                    fields.CharField(unique=True, description="HMAC-SHA256 blind index", max_length=64),
                ),
                ("id_cipher", fields.BinaryField()),
                ("id_masked", fields.CharField(max_length=18)),
                ("name", fields.CharField(max_length=50)),
                ("sex", fields.CharField(description="M or F, from the ID number", max_length=1)),
                ("birth_date", fields.DateField()),
                ("phone_index", fields.CharField(null=True, db_index=True, max_length=64)),
                ("phone_cipher", fields.BinaryField(null=True)),
                ("phone_masked", fields.CharField(null=True, max_length=16)),
                (
                    "household_division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="household_division_id",
                        null=True,
                        db_constraint=True,
                        to_field="code",
                        related_name="trainees",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "groups",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "trainee",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "One row per person, found by the ID number's blind index. The ID number and the",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Certificate",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("number", fields.CharField(unique=True, max_length=64)),
                (
                    "trainee",
                    fields.ForeignKeyField(
                        "registry.Trainee",
                        source_field="trainee_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="certificates",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="SKILL_LEVEL: skill_level\nSPECIAL_ABILITY: special_ability\nSPECIAL_OPERATION: special_operation\nCOMPLETION: completion\nSTARTUP: startup",
                        enum_type=CertificateKind,
                        max_length=24,
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
                        related_name="certificates",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "level",
                    fields.SmallIntField(null=True, description="5 初级工 .. 1 高级技师, skill_level only"),
                ),
                ("is_renewal", fields.BooleanField(default=False, description="special_operation renewal")),
                ("direct_recognition", fields.BooleanField(default=False, description="直接认定")),
                (
                    "issuer",
                    fields.ForeignKeyField(
                        "registry.Institution",
                        source_field="issuer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="certificates_issued",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "cohort",
                    fields.ForeignKeyField(
                        "registry.Cohort",
                        source_field="cohort_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="certificates",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("issue_date", fields.DateField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=CertificateStatus.VALID,
                        description="VALID: valid\nSUSPENDED: suspended\nREVOKED: revoked",
                        enum_type=CertificateStatus,
                        max_length=16,
                    ),
                ),
                ("status_reason", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "certificate",
                "app": "registry",
                "indexes": [
                    Index(fields=["trainee_id", "occupation_id", "kind"]),
                    Index(fields=["issue_date"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Enrolment",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                (
                    "cohort",
                    fields.ForeignKeyField(
                        "registry.Cohort",
                        source_field="cohort_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="enrolments",
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
                        related_name="enrolments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("attended_hours", fields.DecimalField(default=0, max_digits=6, decimal_places=1)),
                (
                    "outcome",
                    fields.CharEnumField(
                        default=EnrolmentOutcome.IN_PROGRESS,
                        description="IN_PROGRESS: in_progress\nCOMPLETED: completed\nWITHDRAWN: withdrawn\nFAILED: failed",
                        enum_type=EnrolmentOutcome,
                        max_length=16,
                    ),
                ),
                (
                    "groups",
                    fields.JSONField(
                        default=list,
                        description="priority groups at enrolment",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "import_batch",
                    fields.ForeignKeyField(
                        "registry.ImportBatch",
                        source_field="import_batch_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="enrolments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "enrolment",
                "app": "registry",
                "unique_together": (("cohort", "trainee"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("username", fields.CharField(unique=True, max_length=64)),
                ("display_name", fields.CharField(default="", max_length=100)),
                (
                    "role",
                    fields.CharEnumField(
                        description="ADMIN: admin\nAUDITOR: auditor\nINSTITUTION: institution\nASSESSOR: assessor",
                        enum_type=Role,
                        max_length=16,
                    ),
                ),
                (
                    "institution",
                    fields.ForeignKeyField(
                        "registry.Institution",
                        source_field="institution_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="users",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "division",
                    fields.ForeignKeyField(
                        "registry.Division",
                        source_field="division_id",
                        null=True,
                        description="a county auditor's scope; none = the whole city",
                        db_constraint=True,
                        to_field="code",
                        related_name="auditors",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("password_hash", fields.CharField(max_length=255)),
                ("is_active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("last_login_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "app_user", "app": "registry", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ApiKey",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("name", fields.CharField(max_length=100)),
                ("prefix", fields.CharField(unique=True, max_length=16)),
                ("key_hash", fields.CharField(max_length=64)),
                (
                    "role",
                    fields.CharEnumField(
                        description="institution or assessor", enum_type=Role, max_length=16
                    ),
                ),
                (
                    "institution",
                    fields.ForeignKeyField(
                        "registry.Institution",
                        source_field="institution_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_keys",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "registry.User",
                        source_field="created_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="api_keys",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("last_used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "api_key",
                "app": "registry",
                "pk_attr": "id",
                "table_description": "A machine credential of one institution. Only the SHA-256 of the secret is kept.",
            },
            bases=["Model"],
        ),
    ]
