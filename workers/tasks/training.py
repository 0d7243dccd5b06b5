"""``registry.cohorts.*`` tasks."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from registry.core.principal import system
from registry.training import service as cohorts
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

START_DUE = "registry.cohorts.start_due"


@shared_task(
    name=START_DUE,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def start_due() -> dict[str, Any]:
    """Store ``running`` (with its audit event) on every open cohort whose start date has
    come. Idempotent: a cohort already running is not touched again."""
    started = loop.run(cohorts.start_due_cohorts(system("calendar")))
    return {"started": started}
