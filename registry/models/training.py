"""Trainees, cohorts, enrolments and roster imports."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model

from registry.enums import (
    CertificateKind,
    CohortKind,
    CohortStatus,
    Delivery,
    EnrolmentOutcome,
    ImportStatus,
    StartupCourse,
    TrainingMode,
)
from registry.models.institution import Institution
from registry.models.reference import Division, Occupation


class Trainee(Model):
    """One row per person, found by the ID number's blind index. The ID number and the
    phone are stored only encrypted (AES-256-GCM) and masked."""

    id = fields.UUIDField(primary_key=True)
    id_index = fields.CharField(max_length=64, unique=True, description="HMAC-SHA256 blind index")
    id_cipher = fields.BinaryField()
    id_masked = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50)
    sex = fields.CharField(max_length=1, description="M or F, from the ID number")
    birth_date = fields.DateField()
    phone_index = fields.CharField(max_length=64, null=True, db_index=True)
    phone_cipher = fields.BinaryField(null=True)
    phone_masked = fields.CharField(max_length=16, null=True)
    household_division: fields.ForeignKeyNullableRelation[Division] = fields.ForeignKeyField(
        "registry.Division", related_name="trainees", null=True, on_delete=fields.RESTRICT
    )
    groups: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "trainee"


class Cohort(Model):
    id = fields.UUIDField(primary_key=True)
    institution: fields.ForeignKeyRelation[Institution] = fields.ForeignKeyField(
        "registry.Institution", related_name="cohorts", on_delete=fields.RESTRICT
    )
    reference = fields.CharField(max_length=64, description="the institution's own reference")
    name = fields.CharField(max_length=200, default="")
    kind = fields.CharEnumField(CohortKind, max_length=16)
    occupation: fields.ForeignKeyNullableRelation[Occupation] = fields.ForeignKeyField(
        "registry.Occupation", related_name="cohorts", null=True, on_delete=fields.RESTRICT
    )
    certificate_kind = fields.CharEnumField(CertificateKind, max_length=24, null=True)
    certificate_level = fields.SmallIntField(null=True)
    startup_course = fields.CharEnumField(StartupCourse, max_length=3, null=True)
    training_mode = fields.CharEnumField(TrainingMode, max_length=16, default=TrainingMode.GENERAL)
    delivery = fields.CharEnumField(Delivery, max_length=16, default=Delivery.IN_PERSON)
    division: fields.ForeignKeyRelation[Division] = fields.ForeignKeyField(
        "registry.Division", related_name="cohorts", on_delete=fields.RESTRICT
    )
    planned_hours = fields.IntField()
    start_date = fields.DateField()
    end_date = fields.DateField()
    capacity = fields.IntField()
    status = fields.CharEnumField(CohortStatus, max_length=16, default=CohortStatus.DRAFT)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "cohort"
        unique_together = (("institution", "reference"),)
        indexes = (("division_id", "end_date"), ("status", "start_date"))


class ImportBatch(Model):
    id = fields.UUIDField(primary_key=True)
    cohort: fields.ForeignKeyRelation[Cohort] = fields.ForeignKeyField(
        "registry.Cohort", related_name="imports", on_delete=fields.RESTRICT
    )
    actor = fields.CharField(max_length=100)
    file_name = fields.CharField(max_length=255)
    sha256 = fields.CharField(max_length=64)
    mode = fields.CharField(max_length=16)
    rows_read = fields.IntField(default=0)
    accepted = fields.IntField(default=0)
    refused = fields.IntField(default=0)
    already_enrolled = fields.IntField(
        default=0, db_default=0, description="rows skipped: the person was already enrolled"
    )
    errors: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    refused_cells = fields.BinaryField(
        null=True, description="the refused rows' original cells, encrypted (valid_rows imports only)"
    )
    status = fields.CharEnumField(ImportStatus, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "import_batch"
        indexes = (("cohort_id", "sha256"),)


class Enrolment(Model):
    """A person in a cohort, with what the cohort's institution said about the person (name
    as given, phone, household division, priority groups): one institution never changes
    what another sees, and a county auditor's scope follows these, never the last writer."""

    id = fields.UUIDField(primary_key=True)
    cohort: fields.ForeignKeyRelation[Cohort] = fields.ForeignKeyField(
        "registry.Cohort", related_name="enrolments", on_delete=fields.RESTRICT
    )
    trainee: fields.ForeignKeyRelation[Trainee] = fields.ForeignKeyField(
        "registry.Trainee", related_name="enrolments", on_delete=fields.RESTRICT
    )
    attended_hours = fields.DecimalField(max_digits=6, decimal_places=1, default=0)
    outcome = fields.CharEnumField(EnrolmentOutcome, max_length=16, default=EnrolmentOutcome.IN_PROGRESS)
    groups: fields.JSONField[list[str]] = fields.JSONField(
        default=list, description="priority groups at enrolment"
    )
    household_division: fields.ForeignKeyNullableRelation[Division] = fields.ForeignKeyField(
        "registry.Division",
        related_name="household_enrolments",
        null=True,
        on_delete=fields.RESTRICT,
        description="the household division as given at enrolment, today's code",
    )
    household_as_written = fields.CharField(
        max_length=50, null=True, description="the household division as written (偃师市, 410381)"
    )
    name_as_given = fields.CharField(max_length=50, null=True, description="the name as given at enrolment")
    phone_index = fields.CharField(
        max_length=64, null=True, description="HMAC-SHA256 blind index of the phone given"
    )
    phone_cipher = fields.BinaryField(null=True, description="the phone given at enrolment, encrypted")
    phone_masked = fields.CharField(max_length=16, null=True)
    review_flags: fields.JSONField[list[str]] = fields.JSONField(
        default=list,
        db_default=SqlDefault("'[]'::jsonb"),
        description="for auditors only: name_differs (the name given is not the registered one)",
    )
    import_batch: fields.ForeignKeyNullableRelation[ImportBatch] = fields.ForeignKeyField(
        "registry.ImportBatch", related_name="enrolments", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "enrolment"
        unique_together = (("cohort", "trainee"),)
        # A person's enrolments (overlaps, tenancy through enrolments, grant history); the
        # phones given at enrolment (the shared-phone anomaly check).
        indexes = (("trainee_id",), ("phone_index",))
