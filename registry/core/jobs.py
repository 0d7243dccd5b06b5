"""The port for follow-up jobs.

``registry`` only declares it: a service queues a named job with ids on its unit of
work, and the jobs are handed to the configured sender after the transaction commits.
``workers/`` implements the sender with Celery; the composition root in ``cli/``
plugs it in with :func:`set_job_sender`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


class JobSender(Protocol):
    def send(self, name: str, kwargs: dict[str, Any]) -> None: ...


@dataclass
class Job:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


class _Unconfigured:
    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        raise RuntimeError(f"no job sender configured; cannot send {name}")


_sender: JobSender = _Unconfigured()


def set_job_sender(sender: JobSender) -> None:
    global _sender
    _sender = sender


def get_job_sender() -> JobSender:
    return _sender


def send_all(jobs: list[Job]) -> None:
    for job in jobs:
        log.info("sending job %s %s", job.name, job.kwargs)
        _sender.send(job.name, job.kwargs)
