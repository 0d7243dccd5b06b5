"""The Celery application: configuration, task modules and the beat schedule.

``create_celery(settings)`` builds an app from explicit settings (tests, the job sender).
The module-level ``app`` used by ``celery -A workers.celery_app:app worker|beat|flower``
is built on first access from :func:`registry.core.settings.load_settings` (DATABASE_URL,
REDIS_URL, REGISTRY_*_KEY or REGISTRY_*_KEY_FILE), so importing this module never reads
the environment and never fails for want of it.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from celery import Celery
from celery.schedules import crontab

from registry.core.settings import Settings, celery_broker_url, load_settings
from workers import heartbeat, loop
from workers.tasks import TASK_MODULES

TIMEZONE = "Asia/Shanghai"

# The longest task (the nightly rollup, a large bulk import) is expected to take well
# under an hour; no task may run longer than TASK_TIME_LIMIT_SECONDS (the pool kills it).
TASK_TIME_LIMIT_SECONDS = 90 * 60
# With acks_late a message stays unacknowledged in Redis while its task runs. Redis has
# no real acks: the transport re-delivers any message not acknowledged within the
# visibility timeout, to another worker, while the first is still running it. The
# timeout must therefore be longer than the longest task (the hard time limit above),
# or long tasks would run twice. Two hours: 30 min margin over the hard limit. The cost
# is that a message whose worker died outright (power loss) waits up to two hours
# before it is re-delivered; a worker that is only restarted re-queues at once.
VISIBILITY_TIMEOUT_SECONDS = 2 * 3600
assert VISIBILITY_TIMEOUT_SECONDS > TASK_TIME_LIMIT_SECONDS
# How often beat runs the outbox relay (registry.core.outbox).
RELAY_EVERY_SECONDS = 5.0


AUDIT_CHECKPOINT_EVERY_SECONDS = 600

IDEMPOTENCY_PURGE_EVERY_SECONDS = 3600


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The periodic tasks, in Asia/Shanghai wall-clock time (the app's ``timezone``)."""
    return {
        # The nightly rollup at 02:00 Asia/Shanghai: yesterday's year to date into
        # progress_snapshot (docs/progress.md); a run that could not start within the
        # night is dropped, the next night's replaces it.
        "registry.progress.rollup": {
            "task": "registry.progress.rollup",
            "schedule": crontab(hour=2, minute=0),
            "options": {"expires": 4 * 3600},
        },
        # Jobs still unsent in the outbox (broker down at commit, a crash after it) go out
        # within seconds; a relay that could not start before the next is dropped.
        "registry.core.outbox.relay": {
            "task": "registry.core.outbox.relay",
            "schedule": RELAY_EVERY_SECONDS,
            "options": {"expires": RELAY_EVERY_SECONDS},
        },
        # Cohorts whose start date has come are stored as running, just after midnight
        # (the task queues the day's run through the outbox: registry.cohorts.start_due_run).
        "registry.cohorts.start_due": {
            "task": "registry.cohorts.start_due",
            "schedule": crontab(hour=0, minute=5),
            "options": {"expires": 6 * 3600},
        },
        # Public notices whose last day has passed end (their approved lines become grants),
        # a few minutes past every hour: a notice that ended at midnight closes at 00:10.
        "registry.notices.close_due": {
            "task": "registry.notices.close_due",
            "schedule": crontab(minute=10),
            "options": {"expires": 3000},
        },
        "registry.audit.verify_chain": {
            "task": "registry.audit.verify_chain",
            "schedule": crontab(hour=2, minute=30),
            # A check that could not start within the hour is dropped; the next night runs.
            "options": {"expires": 3600},
        },
        # The audit chain's head, outside the database, every few minutes: rows deleted
        # from the end are seen against it (docs/operations.md, the audit trail).
        "registry.audit.checkpoint": {
            "task": "registry.audit.checkpoint",
            "schedule": AUDIT_CHECKPOINT_EVERY_SECONDS,
            "options": {"expires": AUDIT_CHECKPOINT_EVERY_SECONDS},
        },
        # Stored Idempotency-Key responses older than 24 hours (no longer replayed) go.
        "registry.core.idempotency.purge": {
            "task": "registry.core.idempotency.purge",
            "schedule": IDEMPOTENCY_PURGE_EVERY_SECONDS,
            "options": {"expires": IDEMPOTENCY_PURGE_EVERY_SECONDS},
        },
    }


def create_celery(settings: Settings) -> Celery:
    broker = celery_broker_url(settings.redis_url)
    app = Celery("registry", broker=broker, include=list(TASK_MODULES), set_as_current=False)
    app.conf.update(
        # Only JSON on the wire: tasks take ids, never objects, and pickle is unsafe.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        event_serializer="json",
        # Results live in the database; no result backend.
        task_ignore_result=True,
        result_backend=None,
        # Tasks are idempotent: acknowledge after they ran, and re-queue a task whose
        # worker process died, so a crash never loses a job.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per process, so a long task never holds others hostage.
        worker_prefetch_multiplier=1,
        task_time_limit=TASK_TIME_LIMIT_SECONDS,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        # The broker restarting drops the connection: messages of running tasks come back
        # (acks_late), so cancel those tasks instead of finishing them twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        timezone=TIMEZONE,
        enable_utc=True,
        beat_schedule=beat_schedule(),
        # Where jobs go and what a worker consumes unless told otherwise (REGISTRY_QUEUE).
        task_default_queue=settings.queue,
        task_send_sent_event=True,
        worker_send_task_events=True,  # Flower shows tasks as they run
    )
    loop.configure(settings, app)
    heartbeat.configure(settings)
    # Import every task module now, so the tasks are registered on this app even in a
    # process that never starts a worker (beat, the sender, tests).
    for module in TASK_MODULES:
        importlib.import_module(module)
    return app


_app: Celery | None = None
_app_lock = threading.Lock()


def get_app() -> Celery:
    """The process-wide app, built once from the environment."""
    global _app
    with _app_lock:
        if _app is None:
            _app = create_celery(load_settings())
            _app.set_current()
        return _app


def __getattr__(name: str) -> Celery:
    # ``celery -A workers.celery_app:app`` looks ``app`` up here; building it on that
    # first access (PEP 562) keeps importing the module free of environment reads.
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
