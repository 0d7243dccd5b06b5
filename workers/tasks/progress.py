"""``registry.progress.*`` tasks: the nightly rollup."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task

from registry.core.clock import business_today
from registry.core.principal import system
from registry.progress import service as progress
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

ROLLUP = "registry.progress.rollup"


@shared_task(
    name=ROLLUP,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def rollup(as_of: str | None = None) -> dict[str, Any]:
    """Recompute the year to date into ``progress_snapshot``. Beat runs it at 02:00
    Asia/Shanghai for yesterday, the last whole day (so January 1's run gives the previous
    year's final figures); ``as_of`` (YYYY-MM-DD) picks another day. Idempotent: a second
    run of a day replaces its rows with the same ones; runs never interleave (the lock)."""
    day = dt.date.fromisoformat(as_of) if as_of else business_today() - dt.timedelta(days=1)
    report = loop.run(progress.rollup(system("rollup"), day))
    return {
        "as_of": report.as_of.isoformat(),
        "rows": report.rows,
        "replaced": report.deleted,
        "previous_year_rows": report.previous_year_rows,
        "seconds": round(report.seconds, 3),
    }
