"""Celery task wrappers: each is a few lines that run one registry service on the
process's persistent loop (:mod:`workers.loop`). Tasks take ids, never objects, and are
named ``registry.<area>.<verb>``.

Every task module is listed in :data:`TASK_MODULES`; ``create_celery`` imports them all.
"""

from __future__ import annotations

import asyncpg

TASK_MODULES: tuple[str, ...] = (
    "workers.tasks.audit",
    "workers.tasks.training",
    "workers.tasks.outbox",
    "workers.tasks.idempotency",
    "workers.tasks.subsidy",
    "workers.tasks.notices",
    "workers.tasks.progress",
)

# Workers retry only what is transient: the database or network went away for a while,
# a connection slot was not free, or Postgres asked us to try the transaction again.
# Everything else (RegistryError, bugs) fails at once and shows up in Flower and the logs.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,  # server starting up or shutting down
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)

# Shared retry policy: exponential backoff (1 s, 2 s, 4 s ... capped) with jitter.
RETRY_BACKOFF_SECONDS = 1
RETRY_BACKOFF_MAX_SECONDS = 300
MAX_RETRIES = 6
