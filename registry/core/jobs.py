"""The port for follow-up jobs.

``registry`` only declares it: a service queues a named job with ids on its unit of
work (:meth:`registry.core.uow.UnitOfWork.enqueue`), which writes an ``outbox`` row in the
same transaction; :mod:`registry.core.outbox` hands the row to the configured sender after
the commit, and its relay sends whatever is still unsent. ``workers/`` implements the
sender with Celery; the composition root in ``cli/`` (and ``workers/loop.py`` in a
worker process) plugs it in with :func:`set_job_sender`.
"""

from __future__ import annotations

from typing import Any, Protocol


class JobSender(Protocol):
    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Hand one job to the broker; return only once the broker accepted it, raise
        otherwise. Called from a worker thread, never on the event loop."""
        ...


class _Unconfigured:
    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        raise RuntimeError(f"no job sender configured; cannot send {name}")


_sender: JobSender = _Unconfigured()


def set_job_sender(sender: JobSender) -> None:
    global _sender
    _sender = sender


def get_job_sender() -> JobSender:
    return _sender
