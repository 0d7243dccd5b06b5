"""Certificates issued by assessment bodies."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.enums import CertificateKind, CertificateStatus
from registry.models.institution import Institution
from registry.models.reference import Occupation
from registry.models.training import Cohort, Trainee


# A certificate's number is public (``number``), except a number that is an ID number (a
# 特种作业操作证's is its holder's): that one is personal data, kept only encrypted
# (``number_cipher``), blind-indexed (``number_index``) and masked (``number_masked``), and
# ``number`` is NULL. (A comment, not a docstring: Tortoise makes a docstring the table's.)
class Certificate(Model):
    id = fields.UUIDField(primary_key=True)
    number = fields.CharField(
        max_length=64,
        unique=True,
        null=True,
        description="the number as issued; NULL when it is an ID number",
    )
    number_index = fields.CharField(
        max_length=64,
        unique=True,
        null=True,
        description="HMAC-SHA256 blind index of a number that is an ID number",
    )
    number_cipher = fields.BinaryField(null=True, description="a number that is an ID number, encrypted")
    number_masked = fields.CharField(
        max_length=18, null=True, description="a number that is an ID number, masked"
    )
    trainee: fields.ForeignKeyRelation[Trainee] = fields.ForeignKeyField(
        "registry.Trainee", related_name="certificates", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(CertificateKind, max_length=24)
    occupation: fields.ForeignKeyNullableRelation[Occupation] = fields.ForeignKeyField(
        "registry.Occupation", related_name="certificates", null=True, on_delete=fields.RESTRICT
    )
    level = fields.SmallIntField(null=True, description="5 初级工 .. 1 高级技师, skill_level only")
    is_renewal = fields.BooleanField(default=False, description="special_operation renewal")
    direct_recognition = fields.BooleanField(default=False, description="直接认定")
    issuer: fields.ForeignKeyRelation[Institution] = fields.ForeignKeyField(
        "registry.Institution", related_name="certificates_issued", on_delete=fields.RESTRICT
    )
    cohort: fields.ForeignKeyNullableRelation[Cohort] = fields.ForeignKeyField(
        "registry.Cohort", related_name="certificates", null=True, on_delete=fields.RESTRICT
    )
    issue_date = fields.DateField()
    status = fields.CharEnumField(CertificateStatus, max_length=16, default=CertificateStatus.VALID)
    status_reason = fields.TextField(default="")
    status_changed_by_role = fields.CharField(
        max_length=16, default="", db_default="", description="the role that last set the status"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certificate"
        # Also by issuing body (an assessor's list) and by cohort (an institution's view).
        indexes = (
            ("trainee_id", "occupation_id", "kind"),
            ("issue_date",),
            ("issuer_id", "issue_date"),
            ("cohort_id",),
        )
