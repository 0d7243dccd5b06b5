"""The unit of work and the outbox (registry/core/uow.py, registry/core/outbox.py) against the real
PostgreSQL and Redis, without a worker: what is written, when it is sent, what the relay
takes, and that a job records its effect once. Messages are read back from a Redis queue
no worker consumes."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import enum
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from registry.core import outbox
from registry.core.principal import system
from registry.core.settings import Settings
from registry.core.uow import unit_of_work
from registry.models.outbox import OutboxJob
from tests.broker import drop_queue, plugged, queued, sender_for

JOB = "registry.test.nothing"  # no worker consumes the test queues; the name is never run
WHO = system("test")


@pytest.fixture(autouse=True)
async def no_test_jobs_left(database: None) -> AsyncIterator[None]:
    """Rows of the test job left unsent are marked done, so no later relay (a worker's at
    start-up) sends a job no worker knows."""
    yield
    async with in_transaction() as conn:
        await conn.execute_query(
            "UPDATE outbox SET sent_at = coalesce(sent_at, now()), done_at = coalesce(done_at, now()) "
            "WHERE name = $1 AND (sent_at IS NULL OR done_at IS NULL)",
            [JOB],
        )


@pytest.fixture
def queue(settings: Settings) -> Iterator[str]:
    """A queue of its own on the session's Redis, with a sender to it plugged in."""
    name = f"test-outbox-{uuid.uuid4().hex[:10]}"
    with plugged(sender_for(settings, name)):
        yield name
    drop_queue(settings.redis_url, name)


def ids_in(settings: Settings, queue: str) -> list[str]:
    return [kwargs["outbox_id"] for _name, kwargs in queued(settings.redis_url, queue)]


async def outside(awaitable_fn):  # type: ignore[no-untyped-def]
    """Await ``awaitable_fn()`` outside the current transaction (a fresh context, so
    Tortoise hands it a pool connection of its own)."""

    async def run():  # type: ignore[no-untyped-def]
        return await awaitable_fn()

    return await asyncio.create_task(run(), context=contextvars.Context())


class Colour(enum.Enum):
    RED = "red"


def test_job_kwargs_are_plain_json() -> None:
    some = uuid.uuid4()
    assert outbox.job_kwargs({"cohort_id": some, "day": dt.date(2025, 3, 10), "c": Colour.RED, "n": 3}) == {
        "cohort_id": str(some),
        "day": "2025-03-10",
        "c": "red",
        "n": 3,
    }
    with pytest.raises(TypeError):
        outbox.job_kwargs({"cohort": object()})
    with pytest.raises(TypeError):
        outbox.job_kwargs({"outbox_id": "x"})


async def test_a_committed_use_case_writes_a_row_and_sends_it_after_the_commit(
    database: None, settings: Settings, queue: str
) -> None:
    some = uuid.uuid4()
    async with unit_of_work(WHO) as uow:
        outbox_id = await uow.enqueue(JOB, cohort_id=some)
        assert ids_in(settings, queue) == []  # not before the commit
    assert queued(settings.redis_url, queue) == [(JOB, {"cohort_id": str(some), "outbox_id": str(outbox_id)})]
    row = await OutboxJob.get(id=outbox_id)
    assert row.sent_at is not None and row.attempts == 1 and row.done_at is None


async def test_a_rolled_back_use_case_writes_and_sends_nothing(
    database: None, settings: Settings, queue: str
) -> None:
    written: list[uuid.UUID] = []
    with pytest.raises(RuntimeError):
        async with unit_of_work(WHO) as uow:
            written.append(await uow.enqueue(JOB, n=1))
            raise RuntimeError("the use case fails")
    assert written and not await OutboxJob.exists(id=written[0])
    assert ids_in(settings, queue) == []


async def test_a_nested_unit_of_work_leaves_sending_to_the_outer_one(
    database: None, settings: Settings, queue: str
) -> None:
    async with unit_of_work(WHO) as outer:
        first = await outer.enqueue(JOB, n=1)
        async with unit_of_work(system("inner")) as inner:
            second = await inner.enqueue(JOB, n=2)
        # The inner block is over: nothing is sent, nothing is visible outside yet.
        assert ids_in(settings, queue) == []
        assert not await outside(lambda: OutboxJob.exists(id=second))
        # A nested unit of work that fails rolls back to its savepoint: its row goes.
        with pytest.raises(RuntimeError):
            async with unit_of_work(system("inner")) as failing:
                dropped = await failing.enqueue(JOB, n=3)
                raise RuntimeError("the inner use case fails")
        assert outer.outbox_ids == [first, second, dropped]
    assert ids_in(settings, queue) == [str(first), str(second)]
    assert not await OutboxJob.exists(id=dropped)


async def test_an_outer_rollback_drops_the_nested_jobs(
    database: None, settings: Settings, queue: str
) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(WHO):
            async with unit_of_work(system("inner")) as inner:
                await inner.enqueue(JOB, n=1)
            raise RuntimeError("the outer use case fails")
    assert ids_in(settings, queue) == []


async def test_a_broker_error_after_the_commit_is_recorded_not_raised(
    database: None, settings: Settings, tmp_path: Path
) -> None:
    down = f"redis+socket://{tmp_path / 'no-redis.sock'}"  # nothing listens there
    with plugged(sender_for(settings, "test-down", down)):
        async with unit_of_work(WHO) as uow:
            first = await uow.enqueue(JOB, n=1)
            second = await uow.enqueue(JOB, n=2)
    for outbox_id in (first, second):  # each send failed on its own
        row = await OutboxJob.get(id=outbox_id)
        assert row.sent_at is None and row.attempts == 1 and row.last_error


async def test_inside_a_bare_transaction_the_relay_sends(
    database: None, settings: Settings, queue: str
) -> None:
    async with in_transaction(), unit_of_work(WHO) as uow:
        outbox_id = await uow.enqueue(JOB, n=1)
    assert ids_in(settings, queue) == []
    assert (await OutboxJob.get(id=outbox_id)).sent_at is None
    await outbox.relay(min_age_seconds=0)
    assert str(outbox_id) in ids_in(settings, queue)


async def _unsent_row() -> uuid.UUID:
    async with in_transaction() as conn:
        return await outbox.write(conn, JOB, {"n": 1})


async def test_the_relay_leaves_young_rows_to_the_immediate_send(
    database: None, settings: Settings, queue: str
) -> None:
    outbox_id = await _unsent_row()
    await outbox.relay(min_age_seconds=3600)
    assert str(outbox_id) not in ids_in(settings, queue)
    await outbox.relay(min_age_seconds=0)
    assert ids_in(settings, queue).count(str(outbox_id)) == 1
    row = await OutboxJob.get(id=outbox_id)
    assert row.sent_at is not None and row.attempts == 1


async def test_two_relays_at_once_send_each_row_once(database: None, settings: Settings, queue: str) -> None:
    rows = [await _unsent_row() for _ in range(30)]
    await asyncio.gather(*(outside(lambda: outbox.relay(min_age_seconds=0)) for _ in range(3)))
    sent = ids_in(settings, queue)
    for outbox_id in rows:
        assert sent.count(str(outbox_id)) == 1
    assert await OutboxJob.filter(id__in=rows, sent_at__isnull=True).count() == 0


async def test_record_done_once_even_for_two_deliveries_at_once(database: None) -> None:
    outbox_id = await _unsent_row()
    first_claimed = asyncio.Event()

    async def deliver(hold: bool) -> bool:
        async with unit_of_work(WHO) as uow:
            done = await outbox.record_done(uow.conn, outbox_id)
            if hold:
                first_claimed.set()
                await asyncio.sleep(0.3)  # the other delivery waits on the row meanwhile
            return done

    first = asyncio.create_task(deliver(True), context=contextvars.Context())
    await first_claimed.wait()
    second = asyncio.create_task(deliver(False), context=contextvars.Context())
    assert sorted(await asyncio.gather(first, second)) == [False, True]
    async with unit_of_work(WHO) as uow:
        assert not await outbox.record_done(uow.conn, outbox_id)  # a third, later
        assert not await outbox.record_done(uow.conn, uuid.uuid4())  # no such job
    row = await OutboxJob.get(id=outbox_id)
    assert row.done_at is not None and row.sent_at is not None


async def test_a_failed_task_transaction_leaves_the_job_to_do(database: None) -> None:
    outbox_id = await _unsent_row()
    with pytest.raises(RuntimeError):
        async with unit_of_work(WHO) as uow:
            assert await outbox.record_done(uow.conn, outbox_id)
            raise RuntimeError("the task's effect failed")
    assert (await OutboxJob.get(id=outbox_id)).done_at is None
