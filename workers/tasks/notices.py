"""``registry.notices.*`` tasks: ending the public notices whose last day has passed."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from registry.core.principal import system
from registry.notices import service as notices
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

CLOSE_DUE = "registry.notices.close_due"


@shared_task(
    name=CLOSE_DUE,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def close_due() -> dict[str, Any]:
    """End every running notice whose last day is before today (Asia/Shanghai): its approved
    lines become grants, one transaction a notice. Beat runs it every hour; a second run, or
    a run after a crash half-way, grants each line once (the notice's status changes in the
    same transaction, under its row lock)."""
    reports = loop.run(notices.close_due_notices(system("notices")))
    return {
        "closed": len(reports),
        "granted_lines": sum(r.granted for r in reports),
        "returned_lines": sum(r.returned for r in reports),
        "granted_fen": sum(r.granted_fen for r in reports),
    }
