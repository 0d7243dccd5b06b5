"""registry/core/idempotency.py against the real PostgreSQL: the use case joins the key's
transaction (its jobs are sent after that one commits, and only then), a failure leaves
neither work nor key, and keys expire after 24 hours."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from registry.core import idempotency
from registry.core.principal import system
from registry.core.uow import unit_of_work
from registry.models.idempotency import IdempotencyKey
from registry.models.outbox import OutboxJob
from tests.broker import plugged

JOB = "registry.test.nothing"  # recorded by the test's sender, never sent to a broker
WHO = system("test-idempotency")


async def _jobs(marker: str) -> int:
    return sum(1 for job in await OutboxJob.filter(name=JOB) if job.kwargs.get("marker") == marker)


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        self.sent.append((name, kwargs))


async def test_the_use_case_joins_the_key_transaction_and_its_jobs_go_after_the_commit(
    database: None,
) -> None:
    sender, key, marker = Recording(), uuid.uuid4().hex, uuid.uuid4().hex
    seen_during_run: list[int] = []

    async def run() -> tuple[int, Any]:
        async with unit_of_work(WHO) as uow:  # the service's own unit of work: nested
            await uow.enqueue(JOB, marker=marker)
        seen_during_run.append(len(sender.sent))
        return 201, {"marker": marker}

    with plugged(sender):
        outcome = await idempotency.once(WHO, key, "h", run)
        replay = await idempotency.once(WHO, key, "h", run)
    assert outcome == idempotency.Outcome(201, {"marker": marker}, replayed=False)
    assert replay == idempotency.Outcome(201, {"marker": marker}, replayed=True)
    assert seen_during_run == [0]  # nothing sent before the outermost commit
    assert [(name, kwargs["marker"]) for name, kwargs in sender.sent] == [(JOB, marker)]
    assert await _jobs(marker) == 1


async def test_a_failure_after_the_work_leaves_no_work_no_job_and_no_key(
    database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, key, marker = Recording(), uuid.uuid4().hex, uuid.uuid4().hex

    async def run() -> tuple[int, Any]:
        async with unit_of_work(WHO) as uow:
            await uow.enqueue(JOB, marker=marker)
        return 201, {}

    async def crash(*_args: Any) -> None:
        raise RuntimeError("died before the response was stored")

    monkeypatch.setattr(idempotency, "save", crash)
    with plugged(sender), pytest.raises(RuntimeError):
        await idempotency.once(WHO, key, "h", run)
    assert sender.sent == []
    assert await _jobs(marker) == 0
    assert await IdempotencyKey.filter(principal=WHO.actor, key=key).count() == 0


async def test_a_key_is_replayed_for_24_hours_then_purged(database: None) -> None:
    key, runs = uuid.uuid4().hex, []

    async def run() -> tuple[int, Any]:
        runs.append(1)
        return 201, {"run": len(runs)}

    assert (await idempotency.once(WHO, key, "h", run)).response == {"run": 1}
    assert (await idempotency.once(WHO, key, "h", run)).replayed
    async with in_transaction() as conn:
        await conn.execute_query(
            "UPDATE idempotency_key SET created_at = now() - $3::interval WHERE principal = $1 AND key = $2",
            [WHO.actor, key, idempotency.KEEP_FOR + dt.timedelta(minutes=1)],
        )
    # Expired: a new request, even with another body.
    fresh = await idempotency.once(WHO, key, "another", run)
    assert fresh == idempotency.Outcome(201, {"run": 2}, replayed=False)
    old = uuid.uuid4().hex
    await idempotency.once(WHO, old, "h", run)
    async with in_transaction() as conn:
        await conn.execute_query(
            "UPDATE idempotency_key SET created_at = now() - interval '25 hours' WHERE principal = $1 AND key = $2",
            [WHO.actor, old],
        )
    assert await idempotency.purge_expired() >= 1
    assert await IdempotencyKey.filter(principal=WHO.actor, key=old).count() == 0
    assert await IdempotencyKey.filter(principal=WHO.actor, key=key).count() == 1
