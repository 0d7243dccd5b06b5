"""The transactional outbox: follow-up jobs are never lost, and run once.

A use case queues a job with :meth:`registry.core.uow.UnitOfWork.enqueue`, which writes an
``outbox`` row (:class:`registry.models.outbox.OutboxJob`) in the use case's own
transaction: a rolled-back use case leaves no row, a committed one always does.

* **Immediate send** (:func:`send_committed`): after the OUTERMOST unit of work commits,
  each of its rows is locked (``FOR UPDATE SKIP LOCKED``), handed to the job sender
  (:mod:`registry.core.jobs`) and marked ``sent_at`` only once the broker accepted it. A
  failed send is logged on its own, counted (``attempts``, ``last_error``) and leaves the
  row unsent; it is never raised into the use case, which has committed.
* **Relay** (:func:`relay`): sends, oldest first, every row still unsent that is older
  than :data:`RELAY_MIN_AGE_SECONDS` (so it does not race the immediate send). A beat
  task runs it every few seconds and a worker runs it at start-up (``registry.core.outbox.relay``),
  ``registry relay-outbox`` runs it once. Rows are locked with ``SKIP LOCKED``, a batch of
  them per transaction (:data:`RELAY_ROWS_PER_TRANSACTION`): two relays (or a relay and an
  immediate send) never send a row twice.
* **Once** (:func:`record_done`): a sent job may still arrive twice (the broker accepted
  it but ``sent_at`` was not stored; a redelivery after a worker died). Every message
  carries ``outbox_id``; the task calls :func:`record_done` first in its own transaction,
  which sets ``done_at`` under the row's lock, and does nothing when the job was done.

Operators see the backlog with ``SELECT id, name, created_at, attempts, last_error FROM
outbox WHERE sent_at IS NULL ORDER BY created_at``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.core import jobs

log = logging.getLogger(__name__)

OUTBOX_ID = "outbox_id"
"""The kwarg every job sent from the outbox carries (its row's id, a string)."""

RELAY_MIN_AGE_SECONDS = 5.0
"""The relay leaves younger rows to the immediate send that follows their commit."""

RELAY_BATCH = 500
"""At most this many rows per relay run; the next run takes the rest."""

_ERROR_MAX_CHARS = 2000


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    raise TypeError(f"a job takes ids and plain values, not {type(value).__name__}")


def job_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a job's kwargs are stored (and sent) as: UUIDs, dates and enums become
    strings; objects are refused (jobs take ids, never objects)."""
    if OUTBOX_ID in kwargs:
        raise TypeError(f"{OUTBOX_ID} is added by the outbox; do not pass it")
    return {str(key): _plain(value) for key, value in kwargs.items()}


async def write(conn: BaseDBAsyncClient, name: str, kwargs: Mapping[str, Any]) -> uuid.UUID:
    """Insert one outbox row on ``conn`` (the use case's transaction); returns its id."""
    outbox_id = uuid.uuid4()
    await conn.execute_query(
        "INSERT INTO outbox (id, name, kwargs, created_at, attempts) VALUES ($1, $2, $3::jsonb, $4, 0)",
        [outbox_id, name, json.dumps(job_kwargs(kwargs), separators=(",", ":")), dt.datetime.now(dt.UTC)],
    )
    return outbox_id


def _message(row: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = row["kwargs"]
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    return {**kwargs, OUTBOX_ID: str(row["id"])}


async def _deliver(conn: BaseDBAsyncClient, row: Mapping[str, Any]) -> bool:
    """Send one row locked on ``conn`` and record the outcome on it; True when the broker
    accepted it. The (blocking) send runs in a thread, off the event loop."""
    sender = jobs.get_job_sender()
    try:
        await asyncio.to_thread(sender.send, row["name"], _message(row))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX_CHARS]
        log.warning("outbox %s: sending %s failed, left for the relay: %s", row["id"], row["name"], error)
        await conn.execute_query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", [row["id"], error]
        )
        return False
    await conn.execute_query(
        "UPDATE outbox SET attempts = attempts + 1, sent_at = $2 WHERE id = $1",
        [row["id"], dt.datetime.now(dt.UTC)],
    )
    log.info("outbox %s: sent %s", row["id"], row["name"])
    return True


async def send_committed(outbox_ids: Iterable[uuid.UUID]) -> int:
    """Send the given rows, just committed, now; returns how many the broker accepted.

    Never raises (short of cancellation): every failure is logged and left to the relay.
    A row a relay holds, or already sent, is skipped; an id whose row was rolled back
    (a nested unit of work's savepoint) finds nothing."""
    sent = 0
    for outbox_id in outbox_ids:
        try:
            async with in_transaction() as conn:
                rows = await conn.execute_query_dict(
                    "SELECT id, name, kwargs FROM outbox WHERE id = $1 AND sent_at IS NULL "
                    "FOR UPDATE SKIP LOCKED",
                    [outbox_id],
                )
                if rows and await _deliver(conn, rows[0]):
                    sent += 1
        except Exception:
            log.exception("outbox %s: could not be sent after the commit; the relay will send it", outbox_id)
    return sent


@dataclass(frozen=True)
class RelayReport:
    sent: int
    failed: int
    """0 or 1: the relay stops at the first failed send (the broker is most likely down;
    the next run tries again)."""


RELAY_ROWS_PER_TRANSACTION = 50
"""The relay locks, sends and records up to this many rows per transaction (one SELECT, the
sends, one UPDATE, one COMMIT). A task that calls :func:`record_done` on one of them waits
until the batch commits: a few milliseconds of sends."""


def _send_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[int, str | None]:
    """Send ``rows`` in order, stopping at the first failure (run in a thread: the sends
    block): how many the broker accepted, and the failed one's error."""
    sender = jobs.get_job_sender()
    for count, row in enumerate(rows):
        try:
            sender.send(row["name"], _message(row))
        except Exception as exc:
            return count, f"{type(exc).__name__}: {exc}"[:_ERROR_MAX_CHARS]
    return len(rows), None


async def relay(min_age_seconds: float = RELAY_MIN_AGE_SECONDS, limit: int = RELAY_BATCH) -> RelayReport:
    """Send up to ``limit`` unsent rows older than ``min_age_seconds``, oldest first.

    Up to :data:`RELAY_ROWS_PER_TRANSACTION` rows per transaction: locked ``FOR UPDATE SKIP
    LOCKED`` (another relay, or an immediate send, skips them), sent one by one, and the ones
    the broker accepted marked ``sent_at`` before the commit. The first failed send stops
    the relay: the rows sent before it are recorded as sent, the failed one keeps
    ``sent_at`` empty with its ``attempts`` and ``last_error``, the rest of the batch is left
    for the next run."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=min_age_seconds)
    sent = 0
    while sent < limit:
        async with in_transaction() as conn:
            rows = await conn.execute_query_dict(
                "SELECT id, name, kwargs FROM outbox "
                "WHERE sent_at IS NULL AND done_at IS NULL AND created_at <= $1 "
                "ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                [cutoff, min(RELAY_ROWS_PER_TRANSACTION, limit - sent)],
            )
            if not rows:
                break
            accepted, error = await asyncio.to_thread(_send_rows, rows)
            now = dt.datetime.now(dt.UTC)
            if accepted:
                await conn.execute_query(
                    "UPDATE outbox SET attempts = attempts + 1, sent_at = $2 WHERE id = ANY($1::uuid[])",
                    [[row["id"] for row in rows[:accepted]], now],
                )
                for row in rows[:accepted]:
                    log.info("outbox %s: sent %s", row["id"], row["name"])
            if error is not None:
                failed = rows[accepted]
                log.warning(
                    "outbox %s: sending %s failed, left for the relay: %s",
                    failed["id"],
                    failed["name"],
                    error,
                )
                await conn.execute_query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    [failed["id"], error],
                )
        sent += accepted
        if error is not None:
            log.warning("outbox relay: stopped after %d sent, a send failed; the next run retries", sent)
            return RelayReport(sent=sent, failed=1)
    if sent:
        log.info("outbox relay: sent %d unsent jobs", sent)
    return RelayReport(sent=sent, failed=0)


async def record_done(conn: BaseDBAsyncClient, outbox_id: uuid.UUID | str) -> bool:
    """Record, in the task's own transaction ``conn``, that the job ``outbox_id`` has had
    its effect; False when it already had (a duplicate delivery: do nothing) or there is
    no such job.

    Call it FIRST in the task's unit of work: it locks the row until that transaction
    ends, so a second delivery running at the same time waits and then finds it done,
    and the effect and the mark commit together or not at all."""
    count, _ = await conn.execute_query(
        "UPDATE outbox SET done_at = $2, sent_at = coalesce(sent_at, $2) WHERE id = $1 AND done_at IS NULL",
        [uuid.UUID(str(outbox_id)), dt.datetime.now(dt.UTC)],
    )
    if count != 1:
        log.info("outbox %s: already done (or unknown); this delivery changes nothing", outbox_id)
        return False
    return True
