"""One persistent asyncio event loop per worker process.

Celery 5.7 has no asyncio pool, and the registry's services are coroutines over
Tortoise/asyncpg. ``asyncio.run()`` per task would build a new loop, a new Tortoise
state and a new connection pool for every task, and asyncpg connections are bound to
the loop that made them. So each worker process keeps ONE :class:`asyncio.Runner`:

* created lazily, on the first :func:`run` in a process. The owning pid is recorded; a
  prefork child inherits the parent's module state through ``fork()``, sees a different
  ``os.getpid()`` and builds its own runner. The inherited one is abandoned, never
  closed: its sockets are shared with the parent, and closing them from the child would
  cut the parent's connections.
* Tortoise is initialised on it once (:func:`registry.core.db.init_db`) and stays open, so
  every later task reuses the same loop, ContextVar state and connection pool. The
  Runner runs every coroutine in the same ``contextvars.Context``, which is where
  Tortoise keeps its state; no process-global fallback is needed.
* the registry's job port is plugged on it too (:class:`workers.sender.CelerySender` on
  the process's Celery app), so a task whose use case queues a follow-up job sends it
  after its commit like the API does.
* closed on ``worker_process_shutdown`` (a prefork child exiting) and ``worker_shutdown``
  (the main process, e.g. with ``--pool=solo``): connections closed, then the loop.

Supported pools: ``prefork`` (the default) and ``solo``. Threaded pools would share one
loop between threads, so :func:`run` serialises callers with a lock; do not use them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from celery.signals import worker_process_shutdown, worker_shutdown

from registry.audit import service as audit
from registry.core import db, jobs
from registry.core.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

T = TypeVar("T")

# One connection per process is busy at a time (one task at a time per process); a
# couple more leave room for a service that runs two queries concurrently.
WORKER_POOL_MAX_SIZE = 4

_settings: Settings | None = None
_app: Celery | None = None
_runner: asyncio.Runner | None = None
_runner_pid: int | None = None
_lock = threading.Lock()


def configure(settings: Settings, app: Celery | None = None) -> None:
    """Remember the settings the loop opens the database with and the Celery app follow-up
    jobs are sent with (called by ``create_celery``)."""
    global _settings, _app
    _settings = settings
    audit.configure(settings)
    if app is not None:
        _app = app


def settings() -> Settings:
    """The settings this worker was configured with (keys for the tasks that decrypt)."""
    if _settings is None:
        raise RuntimeError("workers.loop is not configured: build the app with create_celery(settings)")
    return _settings


def _current_runner() -> asyncio.Runner:
    global _runner, _runner_pid
    pid = os.getpid()
    if _runner is not None and _runner_pid == pid:
        return _runner
    if _settings is None:
        raise RuntimeError("workers.loop is not configured: build the app with create_celery(settings)")
    # Either the first task of this process, or a forked child holding its parent's
    # runner: start afresh (the inherited runner is dropped, see the module docstring).
    runner = asyncio.Runner()
    try:
        runner.run(
            db.init_db(
                _settings.database_url,
                pool_max_size=min(_settings.pool_max_size, WORKER_POOL_MAX_SIZE),
                # The Runner keeps one contextvars.Context for all its runs, so Tortoise's
                # ContextVar state persists from task to task without the process-global
                # fallback, which a forked child would inherit from its parent and which
                # Tortoise refuses to set twice.
                global_fallback=False,
            )
        )
    except BaseException:
        runner.close()
        raise
    _runner, _runner_pid = runner, pid
    if _app is not None:
        from workers.sender import CelerySender

        jobs.set_job_sender(CelerySender(_app))
    log.info("worker process %d: event loop started, database initialised", pid)
    return runner


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one service coroutine on this process's persistent loop and return its result."""
    with _lock:
        try:
            runner = _current_runner()
        except BaseException:
            coro.close()  # never awaited: close it so Python does not warn
            raise
        return runner.run(coro)


def is_running() -> bool:
    """True when this process owns an open loop (for tests and diagnostics)."""
    return _runner is not None and _runner_pid == os.getpid()


def loop_id() -> int | None:
    """``id()`` of this process's loop, or None (for tests and diagnostics)."""
    if not is_running():
        return None
    assert _runner is not None
    return id(_runner.get_loop())


def shutdown() -> None:
    """Close the database connections and the loop of this process, if it has them."""
    global _runner, _runner_pid
    with _lock:
        runner, owner = _runner, _runner_pid
        _runner, _runner_pid = None, None
        if runner is None or owner != os.getpid():
            return  # nothing of ours (an inherited runner belongs to the parent)
        try:
            runner.run(db.close_db())
        except Exception:
            log.exception("worker process %d: closing the database failed", owner)
        finally:
            runner.close()
        log.info("worker process %d: event loop closed", owner)


def _on_shutdown(**_kwargs: object) -> None:
    shutdown()


worker_process_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="registry.loop.process_shutdown")
worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="registry.loop.worker_shutdown")
