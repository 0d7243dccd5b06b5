"""The audit trail: append-only and hash-chained (HMAC-SHA256 under the audit key); a
trigger refuses UPDATE and DELETE, and the application's role may only INSERT and SELECT."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=100, description="user:<uuid>, apikey:<uuid> or system:<name>")
    action = fields.CharField(max_length=64)
    entity_type = fields.CharField(max_length=64)
    entity_id = fields.CharField(max_length=64)
    before: fields.JSONField[Any] = fields.JSONField(null=True)
    after: fields.JSONField[Any] = fields.JSONField(null=True)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)
    key_id = fields.CharField(
        max_length=16,
        null=True,
        description="the audit key that signed the row; NULL: plain SHA-256 (before 0008)",
    )

    class Meta:
        table = "audit_event"
        indexes = (("entity_type", "entity_id"),)


class AuditCheck(Model):
    """The result of one walk of the chain (the nightly task, or `registry verify-audit`)."""

    id = fields.BigIntField(primary_key=True)
    checked_at = fields.DatetimeField(auto_now_add=True)
    ok = fields.BooleanField()
    events_checked = fields.BigIntField()
    first_broken_id = fields.BigIntField(null=True)
    message = fields.TextField(default="")
    checked_by = fields.CharField(max_length=100, default="")

    class Meta:
        table = "audit_check"
