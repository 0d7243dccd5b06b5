"""The registry's job port (:class:`registry.core.jobs.JobSender`) implemented with Celery."""

from __future__ import annotations

from typing import Any

from celery import Celery

from registry.core.settings import Settings
from workers.celery_app import create_celery


class CelerySender:
    """Sends a named job with its (JSON) kwargs to the broker; a worker runs it."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    @classmethod
    def from_settings(cls, settings: Settings) -> CelerySender:
        return cls(create_celery(settings))

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self.app.send_task(name, kwargs=kwargs)
