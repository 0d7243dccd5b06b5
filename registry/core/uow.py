"""One use case, one transaction.

``async with unit_of_work() as uow:`` opens a transaction; the service loads (and
locks), applies rules, saves, records audit events with :meth:`UnitOfWork.audit`,
and queues follow-up jobs with :meth:`UnitOfWork.enqueue`. Jobs are sent only after
the transaction has committed; on an error nothing is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.core import jobs
from registry.core.principal import Principal


@dataclass
class UnitOfWork:
    conn: BaseDBAsyncClient
    principal: Principal
    pending_jobs: list[jobs.Job] = field(default_factory=list)

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.pending_jobs.append(jobs.Job(name, kwargs))

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


@asynccontextmanager
async def unit_of_work(principal: Principal) -> AsyncIterator[UnitOfWork]:
    async with in_transaction() as conn:
        uow = UnitOfWork(conn=conn, principal=principal)
        yield uow
    jobs.send_all(uow.pending_jobs)
