"""``registry.audit.*`` tasks."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from registry.audit import service as audit
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

VERIFY_CHAIN = "registry.audit.verify_chain"
CHECKED_BY = "worker:verify_chain"
CHECKPOINT = "registry.audit.checkpoint"
CHECKPOINTED_BY = "worker:checkpoint"


@shared_task(
    name=VERIFY_CHAIN,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def verify_chain() -> dict[str, Any]:
    """Walk the audit hash chain, record the result in ``audit_check`` and, when intact,
    checkpoint its head (idempotent: running it twice only adds a second check row and
    checkpoint)."""
    report = loop.run(audit.verify_and_record(checked_by=CHECKED_BY))
    return {
        "ok": report.ok,
        "events_checked": report.events_checked,
        "first_broken_id": report.first_broken_id,
    }


@shared_task(
    name=CHECKPOINT,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def checkpoint() -> dict[str, Any]:
    """Append the chain's head to the checkpoint file (no walk; nothing when unchanged), so a
    deletion of the last rows is seen even between two nightly checks."""
    written = loop.run(audit.checkpoint_head(by=CHECKPOINTED_BY))
    return {"event_id": written.event_id if written is not None else None}
