"""Subsidy policies: the published documents the calculator and the claims compute with."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class SubsidyPolicy(Model):
    """A published policy document (DESIGN.md section 5), immutable once loaded: a change is a
    new code with its own effective dates. A trigger refuses UPDATE and DELETE (0010)."""

    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=63, unique=True)
    effective_from = fields.DateField(description="first day in force (inclusive)")
    effective_to = fields.DateField(null=True, description="last day in force (inclusive); null = open-ended")
    document: fields.JSONField[Any] = fields.JSONField(
        description="the validated policy document (amounts in fen)"
    )
    source_note = fields.TextField(default="", description="the published documents it comes from")
    sha256 = fields.CharField(max_length=64, description="SHA-256 of the document's canonical JSON")
    loaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "subsidy_policy"
