"""``registry.core.outbox.*`` tasks: the relay that sends outbox rows still unsent.

Beat runs it every few seconds (``workers.celery_app.beat_schedule``) and every worker
queues one run when it is ready, so rows left unsent by a crash or a broker outage go
out at start-up too. Two relays at once are safe (rows are taken with ``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from registry.core import outbox
from workers import loop

log = logging.getLogger(__name__)

RELAY = "registry.core.outbox.relay"


@shared_task(name=RELAY)
def relay(min_age_seconds: float | None = None) -> dict[str, Any]:
    """Send the unsent outbox rows older than ``min_age_seconds`` (default
    :data:`registry.core.outbox.RELAY_MIN_AGE_SECONDS`). Not retried: the next run is seconds away."""
    age = outbox.RELAY_MIN_AGE_SECONDS if min_age_seconds is None else float(min_age_seconds)
    report = loop.run(outbox.relay(min_age_seconds=age))
    return {"sent": report.sent, "failed": report.failed}


def _relay_at_start(sender: Any = None, **_kwargs: object) -> None:
    # The worker's main process only queues the run; a pool process runs it.
    try:
        sender.app.send_task(RELAY)
    except Exception:
        log.exception("could not queue the outbox relay at start-up; beat runs it within seconds")


worker_ready.connect(_relay_at_start, weak=False, dispatch_uid="registry.core.outbox.relay_at_start")
