"""One use case, one transaction.

``async with unit_of_work(principal) as uow:`` opens a transaction; the service loads
(and locks), applies rules, saves, records audit events with :meth:`UnitOfWork.audit`,
and queues follow-up jobs with :meth:`UnitOfWork.enqueue`, which writes an ``outbox``
row in the same transaction (see :mod:`registry.core.outbox`).

Only the OUTERMOST unit of work commits and sends. A ``unit_of_work`` opened inside
another (a service called from another service's use case) joins it: like Tortoise's
nested ``in_transaction`` it runs in a savepoint on the outer connection, and its jobs
are sent by the outer one after the outer commit. A rolled-back unit of work (or a
rolled-back savepoint) leaves no rows, so nothing is sent. A unit of work opened inside
a bare ``in_transaction()`` cannot see when that commits: it sends nothing itself and
the relay sends its rows a few seconds later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from registry.core import outbox
from registry.core.principal import Principal

log = logging.getLogger(__name__)

CONNECTION = "default"


@dataclass
class UnitOfWork:
    conn: BaseDBAsyncClient
    principal: Principal
    outbox_ids: list[uuid.UUID] = field(default_factory=list)
    """The rows this unit of work (and any nested in it) wrote; sent after the commit.
    A nested unit of work shares its outer one's list."""

    async def enqueue(self, name: str, **kwargs: Any) -> uuid.UUID:
        """Queue the job ``name`` with ``kwargs`` (ids and plain values): an outbox row in
        this transaction, sent after the outermost commit. Returns the row's id, which
        the task receives as ``outbox_id``."""
        outbox_id = await outbox.write(self.conn, name, kwargs)
        self.outbox_ids.append(outbox_id)
        return outbox_id

    async def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: object,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        from registry.audit.service import record_event

        await record_event(
            self.conn,
            actor=self.principal.actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )


_outermost: ContextVar[UnitOfWork | None] = ContextVar("registry_outermost_uow", default=None)


def current() -> UnitOfWork | None:
    """The outermost unit of work open in this context, if any."""
    return _outermost.get()


@asynccontextmanager
async def unit_of_work(principal: Principal) -> AsyncIterator[UnitOfWork]:
    outer = _outermost.get()
    if outer is not None:
        # Nested: a savepoint on the outer transaction; the outer one sends.
        async with in_transaction(CONNECTION) as conn:
            yield UnitOfWork(conn=conn, principal=principal, outbox_ids=outer.outbox_ids)
        return
    inside_bare_transaction = isinstance(connections.get(CONNECTION), TransactionalDBClient)
    async with in_transaction(CONNECTION) as conn:
        uow = UnitOfWork(conn=conn, principal=principal)
        token = _outermost.set(uow)
        try:
            yield uow
        finally:
            _outermost.reset(token)
    # Committed (an error, or a failed commit, raised past this line).
    if not uow.outbox_ids:
        return
    if inside_bare_transaction:
        log.info("unit of work inside a bare transaction: %d jobs left to the relay", len(uow.outbox_ids))
        return
    await outbox.send_committed(uow.outbox_ids)
