"""Create requests that carry an ``Idempotency-Key`` run once, also when they race.

The HTTP layer (``api/idempotency.py``) hashes the request and calls :func:`once`, which
does, in ONE transaction (the outermost :func:`registry.core.uow.unit_of_work`; the use
case's own ``unit_of_work`` joins it as a nested one, in a savepoint):

1. **claim** the key: a transaction-level advisory lock on ``(principal, key)``
   (``pg_advisory_xact_lock(hashtextextended(...))``, see :func:`lock_name`). A twin
   request with the same key blocks here until the first commits or rolls back. The wait
   is bounded (:data:`WAIT_SECONDS`, by ``lock_timeout`` for this one statement): past it
   the twin is refused with :class:`~registry.core.errors.RequestInProgress` (409
   ``request_in_progress``, ``Retry-After``) and nothing is done.
2. **re-read** the key under the lock: a stored response is returned as a replay; one
   stored for another request (another hash) is a 409 ``idempotency_key_reused``.
3. **run** the use case, then **store** its response (:func:`save`), then commit once. The
   work and its stored response commit together: a crash, an error, or a failed commit
   leaves neither, so a retry with the same key does the work (once).

What is stored: only a response that did work (2xx). A use case that refuses (a
:class:`~registry.core.errors.RegistryError`: 4xx) rolls back and stores nothing, so the
same key may be sent again, with the same body (judged again: state may have changed) or a
corrected one; a 5xx (any other exception) is never stored. ``stored_copy`` takes out what
must not be kept at rest (an API key's secret is shown once; its replay answers
``key: null``).

Expiry: a key is kept for :data:`KEEP_FOR` (24 hours, as Stripe does). An older one is no
longer replayed: the next request with it is a new request. :func:`purge_expired` deletes
them; the worker's beat runs it every hour (``registry.core.idempotency.purge``).

Keys are per principal (``Principal.actor``): two callers never see each other's keys.
While it waits, a twin holds a database connection: the bound on the wait is also a bound
on how long a burst of retries can hold the pool.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.core.errors import Conflict, FieldError, RequestInProgress
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.models.idempotency import IdempotencyKey

WAIT_SECONDS = 5.0
"""How long a request waits for a twin with its key to finish before it is refused."""

RETRY_AFTER_SECONDS = 1
"""What a refused twin is told to wait before it sends again."""

KEEP_FOR = dt.timedelta(hours=24)
"""How long a stored response is replayed."""


@dataclass(frozen=True)
class Outcome:
    status_code: int
    response: Any
    replayed: bool
    """True when ``response`` is the stored answer to an earlier request with the key."""


def lock_name(principal: str, key: str) -> str:
    """The text whose ``hashtextextended(..., 0)`` is the key's advisory lock."""
    return f"idempotency:{principal}:{key}"


async def once(
    principal: Principal,
    key: str,
    request_hash: str,
    run: Callable[[], Awaitable[tuple[int, Any]]],
    *,
    stored_copy: Callable[[Any], Any] | None = None,
) -> Outcome:
    """Run ``run`` (the use case, answering ``(status, JSON-ready response)``) once per
    ``(principal, key)``; see the module's docstring. Raises what ``run`` raises,
    :class:`Conflict` ``idempotency_key_reused`` and :class:`RequestInProgress`."""
    actor = principal.actor
    async with unit_of_work(principal) as uow:
        await _claim(uow.conn, actor, key)
        stored = await _find(uow.conn, actor, key)
        if stored is not None:
            if stored.request_hash != request_hash:
                raise Conflict(
                    "this Idempotency-Key was used with another request",
                    code="idempotency_key_reused",
                    errors=[FieldError("Idempotency-Key", "reused", "send a new key for a new request")],
                )
            return Outcome(stored.status_code, stored.response, replayed=True)
        status, response = await run()
        if status < 300:
            kept = stored_copy(response) if stored_copy is not None else response
            await save(uow.conn, actor, key, request_hash, status, kept)
    return Outcome(status, response, replayed=False)


async def _claim(conn: BaseDBAsyncClient, actor: str, key: str) -> None:
    """Hold the key's lock until this transaction ends; wait at most :data:`WAIT_SECONDS`."""
    _, rows = await conn.execute_query("SELECT current_setting('lock_timeout') AS previous")
    await conn.execute_query(
        "SELECT set_config('lock_timeout', $1, true)", [f"{max(1, int(WAIT_SECONDS * 1000))}ms"]
    )
    try:
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lock_name(actor, key)]
        )
    except asyncpg.LockNotAvailableError as exc:
        raise RequestInProgress(
            "a request with this Idempotency-Key is still being processed; send it again shortly",
            retry_after=RETRY_AFTER_SECONDS,
        ) from exc
    # The use case's own locks wait as they would without us.
    await conn.execute_query("SELECT set_config('lock_timeout', $1, true)", [rows[0]["previous"]])


async def _find(conn: BaseDBAsyncClient, actor: str, key: str) -> IdempotencyKey | None:
    """The key's stored response (under the lock); an expired one is deleted, not replayed."""
    await conn.execute_query(
        "DELETE FROM idempotency_key WHERE principal = $1 AND key = $2 AND created_at < now() - $3::interval",
        [actor, key, KEEP_FOR],
    )
    return await IdempotencyKey.filter(principal=actor, key=key).using_db(conn).first()


async def save(
    conn: BaseDBAsyncClient, principal: str, key: str, request_hash: str, status_code: int, response: Any
) -> None:
    """Store the response on ``conn``: in the use case's transaction, committed with its work."""
    await conn.execute_query(
        "INSERT INTO idempotency_key (principal, key, request_hash, status_code, response, created_at) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, now())",
        [principal, key, request_hash, status_code, json.dumps(response, ensure_ascii=False)],
    )


async def purge_expired() -> int:
    """Delete the stored responses older than :data:`KEEP_FOR`; returns how many."""
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "WITH gone AS (DELETE FROM idempotency_key WHERE created_at < now() - $1::interval RETURNING 1) "
            "SELECT count(*) AS n FROM gone",
            [KEEP_FOR],
        )
    return int(rows[0]["n"])
