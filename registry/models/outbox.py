"""The transactional outbox: one row per follow-up job, written in the transaction that
needs it (:meth:`registry.core.uow.UnitOfWork.enqueue`), handed to the broker after the commit
and by the relay (:mod:`registry.core.outbox`)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class OutboxJob(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, description="the job (Celery task) name, registry.<area>.<verb>")
    kwargs: fields.JSONField[Any] = fields.JSONField(description="the job's arguments: ids and plain values")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True, description="when the broker accepted it; null = unsent")
    attempts = fields.IntField(default=0, description="sends tried (failed ones included)")
    last_error = fields.TextField(null=True, description="the last failed send's error")
    done_at = fields.DatetimeField(null=True, description="when a task recorded its effect (runs once)")

    class Meta:
        table = "outbox"
        # The relay's query: unsent rows, oldest first.
        indexes = (("sent_at", "created_at"),)
