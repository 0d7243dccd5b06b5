"""``registry.core.idempotency.*`` tasks: stored ``Idempotency-Key`` responses expire.

Beat runs :func:`purge` every hour (``workers.celery_app.beat_schedule``); a key older than
24 hours is no longer replayed in any case (``registry.core.idempotency.KEEP_FOR``), so a
missed run only lets the table grow until the next one.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from registry.core import idempotency
from workers import loop

PURGE = "registry.core.idempotency.purge"


@shared_task(name=PURGE)
def purge() -> dict[str, Any]:
    """Delete the stored responses past their 24 hours. Not retried: the next run is an hour away."""
    return {"purged": loop.run(idempotency.purge_expired())}
