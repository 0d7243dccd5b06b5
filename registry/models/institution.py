"""Training institutions and assessment bodies."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.enums import InstitutionStatus
from registry.models.reference import Division


class Institution(Model):
    id = fields.UUIDField(primary_key=True)
    uscc = fields.CharField(max_length=18, unique=True, description="统一社会信用代码")
    name = fields.CharField(max_length=200)
    division: fields.ForeignKeyRelation[Division] = fields.ForeignKeyField(
        "registry.Division", related_name="institutions", on_delete=fields.RESTRICT
    )
    kinds: fields.JSONField[list[str]] = fields.JSONField(
        default=list, description="training and/or assessment"
    )
    approved_years: fields.JSONField[list[int]] = fields.JSONField(
        default=list, description="years on the annual list of subsidised providers"
    )
    status = fields.CharEnumField(InstitutionStatus, max_length=16, default=InstitutionStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "institution"
