"""The registry's job port (:class:`registry.core.jobs.JobSender`) implemented with Celery."""

from __future__ import annotations

from typing import Any

from celery import Celery

from registry.core.settings import Settings

# A send that cannot reach the broker fails within about a second instead of blocking:
# the row stays unsent and the outbox relay sends it once the broker is back.
PUBLISH_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}


class CelerySender:
    """Sends a named job with its (JSON) kwargs to the app's default queue; a worker runs it.
    ``send`` returns once the broker accepted the message and raises otherwise."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    @classmethod
    def from_settings(cls, settings: Settings) -> CelerySender:
        from workers.celery_app import create_celery

        return cls(create_celery(settings))

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self.app.send_task(name, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
