"""``registry.cohorts.*`` tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task

from registry.core.principal import system
from registry.training import service as cohorts
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

START_DUE = "registry.cohorts.start_due"
START_DUE_RUN = cohorts.START_DUE_RUN


@shared_task(
    name=START_DUE,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def start_due() -> dict[str, Any]:
    """Beat's nightly entry: queue today's :data:`START_DUE_RUN` through the outbox (it
    writes nothing else; see :func:`registry.training.service.queue_start_due`)."""
    outbox_id = loop.run(cohorts.queue_start_due(system("calendar")))
    return {"outbox_id": str(outbox_id)}


@shared_task(
    name=START_DUE_RUN,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def start_due_run(day: str, outbox_id: str) -> dict[str, Any]:
    """Store ``running`` (with its audit event) on every open cohort whose start date has
    come by ``day``. Once per outbox row: a duplicate delivery changes nothing."""
    started = loop.run(
        cohorts.start_due_cohorts(system("calendar"), dt.date.fromisoformat(day), outbox_id=outbox_id)
    )
    return {"started": started or 0, "duplicate": started is None}
