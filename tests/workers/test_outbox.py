"""Jobs are never lost and run once: the outbox end to end, with real Celery workers
(prefork), the real PostgreSQL and real Redis brokers; nothing is mocked.

The job is the real one: ``registry.cohorts.queue_start_due`` (what beat's nightly task
calls) writes a ``registry.cohorts.start_due_run`` row; the task stores ``running`` on the
cohorts due, once per outbox id. A test that stops the broker uses a Redis of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.embedded import EmbeddedRedis
from registry.core import outbox
from registry.core.clock import business_today
from registry.core.principal import system
from registry.core.settings import Settings
from registry.core.uow import unit_of_work
from registry.enums import CohortStatus
from registry.models.audit import AuditEvent
from registry.models.outbox import OutboxJob
from registry.models.training import Cohort
from registry.training import service as cohorts
from tests import factories
from tests.broker import drop_queue, plugged, queued, sender_for
from tests.workers.celery_worker import ROOT, TASK_TIMEOUT, Worker, new_queue, running_worker
from workers.tasks.outbox import RELAY
from workers.tasks.training import START_DUE, START_DUE_RUN

CALENDAR = system("calendar")


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(test_env, settings, tmp_path_factory.mktemp("outbox-worker")) as started:
        yield started


async def due_cohort() -> uuid.UUID:
    """An open cohort whose start date has passed, stored as open."""
    await factories.ensure_catalogue()
    who = factories.acting_for(await factories.new_institution())
    cohort_id = await factories.new_cohort(who, running=True)
    assert await stored_status(cohort_id) == CohortStatus.OPEN
    return cohort_id


async def stored_status(cohort_id: uuid.UUID) -> CohortStatus:
    return CohortStatus((await Cohort.get(id=cohort_id)).status)


async def wait_done(outbox_id: uuid.UUID, worker: Worker) -> OutboxJob:
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        row = await OutboxJob.get(id=outbox_id)
        if row.done_at is not None:
            return row
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"outbox job {outbox_id} was not done within {TASK_TIMEOUT:.0f} s:\n{worker.log()}")
        await asyncio.sleep(0.2)


async def wait_until(worker: Worker, what: str, check) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + TASK_TIMEOUT
    while not await check():
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {TASK_TIMEOUT:.0f} s:\n{worker.log()}")
        await asyncio.sleep(0.2)


async def starts(cohort_id: uuid.UUID) -> int:
    return await AuditEvent.filter(
        entity_type="cohort", entity_id=str(cohort_id), action="cohort.start"
    ).count()


@pytest.mark.worker
async def test_a_rolled_back_use_case_sends_nothing(database: None, settings: Settings) -> None:
    queue = new_queue()  # no worker consumes it: what is sent stays there to be seen
    try:
        with plugged(sender_for(settings, queue)):
            written: list[uuid.UUID] = []
            with pytest.raises(RuntimeError):
                async with unit_of_work(system("test")):
                    written.append(await cohorts.queue_start_due(CALENDAR))
                    raise RuntimeError("the use case fails after queueing its job")
            assert not await OutboxJob.exists(id=written[0])
            assert queued(settings.redis_url, queue) == []
            # The same use case committed: one row, one message.
            committed = await cohorts.queue_start_due(CALENDAR)
            assert queued(settings.redis_url, queue) == [
                (START_DUE_RUN, {"day": business_today().isoformat(), "outbox_id": str(committed)})
            ]
    finally:
        drop_queue(settings.redis_url, queue)


@pytest.mark.worker
async def test_a_nested_unit_of_work_does_not_send_before_the_outer_commit(
    worker: Worker, database: None, settings: Settings
) -> None:
    """queue_start_due called inside another use case: its job goes out after the outer
    commit (sent earlier, the worker would find no committed row and do nothing)."""
    cohort_id = await due_cohort()
    with plugged(worker.sender):
        async with unit_of_work(system("test")) as outer:
            outbox_id = await cohorts.queue_start_due(CALENDAR)
            assert outer.outbox_ids == [outbox_id]
            assert (
                queued(worker.sender.app.conf.broker_url.replace("redis+socket://", "unix://"), worker.queue)
                == []
            )
            assert (await OutboxJob.get(id=outbox_id).using_db(outer.conn)).sent_at is None
    row = await wait_done(outbox_id, worker)
    assert row.sent_at is not None and row.attempts == 1
    assert await stored_status(cohort_id) == CohortStatus.RUNNING


@pytest.mark.worker
async def test_a_task_that_queues_a_follow_up_job(worker: Worker, database: None) -> None:
    """Beat's start_due runs on the worker and queues start_due_run through the outbox;
    the worker's own sender sends it after the task's commit and the worker runs it."""
    cohort_id = await due_cohort()
    before = set(await OutboxJob.filter(name=START_DUE_RUN).values_list("id", flat=True))
    worker.sender.send(START_DUE, {})

    async def follow_up_done() -> bool:
        rows = await OutboxJob.filter(name=START_DUE_RUN, done_at__isnull=False).values_list("id", flat=True)
        return bool(set(rows) - before)

    await wait_until(worker, f"the follow-up {START_DUE_RUN} was not done", follow_up_done)
    assert await stored_status(cohort_id) == CohortStatus.RUNNING
    assert await starts(cohort_id) == 1
    assert "no job sender configured" not in worker.log()


@pytest.mark.worker
async def test_the_same_job_delivered_twice_has_its_effect_once(worker: Worker, database: None) -> None:
    first = await due_cohort()
    with plugged(worker.sender):
        outbox_id = await cohorts.queue_start_due(CALENDAR)
    await wait_done(outbox_id, worker)
    assert await stored_status(first) == CohortStatus.RUNNING
    # Another cohort falls due; the same job (same outbox id) arrives twice more.
    second = await due_cohort()
    message = {"day": business_today().isoformat(), "outbox_id": str(outbox_id)}
    task_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    for task_id in task_ids:
        worker.sender.app.send_task(START_DUE_RUN, kwargs=message, task_id=task_id)

    async def both_ran() -> bool:
        log = worker.log()
        return all(f"{START_DUE_RUN}[{task_id}] succeeded" in log for task_id in task_ids)

    await wait_until(worker, "the two duplicate deliveries did not finish", both_ran)
    log = worker.log()
    for task_id in task_ids:
        line = next(line for line in log.splitlines() if f"{START_DUE_RUN}[{task_id}] succeeded" in line)
        assert "'duplicate': True" in line, line
    assert await starts(first) == 1
    assert await stored_status(second) == CohortStatus.OPEN  # the duplicates did nothing


@pytest.mark.worker
async def test_a_process_killed_between_commit_and_send_loses_nothing(
    worker: Worker, database: None, test_env: dict[str, str]
) -> None:
    """A process commits the use case and is SIGKILLed inside the send; the relay (run by
    the worker, as beat would have it) sends the row and the worker runs it."""
    cohort_id = await due_cohort()
    script = textwrap.dedent(
        """
        import asyncio, os, signal

        from registry.core import db
        from registry.core import jobs
        from registry.core.principal import system
        from registry.training import service as cohorts
        from registry.core.settings import load_settings

        class DieBeforeSending:
            def send(self, name, kwargs):
                print(kwargs["outbox_id"], flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        async def main():
            await db.init_db(load_settings().database_url, pool_max_size=2)
            jobs.set_job_sender(DieBeforeSending())
            await cohorts.queue_start_due(system("calendar"))
            print("NOT KILLED", flush=True)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **test_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    outbox_id = uuid.UUID(result.stdout.split()[0])
    row = await OutboxJob.get(id=outbox_id)
    assert row.sent_at is None and row.attempts == 0 and row.done_at is None
    assert await stored_status(cohort_id) == CohortStatus.OPEN
    worker.sender.send(RELAY, {"min_age_seconds": 0})
    row = await wait_done(outbox_id, worker)
    assert row.sent_at is not None
    assert await stored_status(cohort_id) == CohortStatus.RUNNING


@pytest.mark.worker
async def test_broker_down_at_commit_the_job_runs_once_it_is_back(
    database: None, settings: Settings, test_env: dict[str, str], tmp_path: Path
) -> None:
    broker = EmbeddedRedis(tmp_path / "redis")
    broker_url = broker.start()
    queue = new_queue()
    try:
        broker.stop()
        cohort_id = await due_cohort()
        with plugged(sender_for(settings, queue, broker_url)):
            outbox_id = await cohorts.queue_start_due(CALENDAR)  # commits; the send fails
            row = await OutboxJob.get(id=outbox_id)
            assert row.sent_at is None and row.attempts == 1 and row.last_error, row.last_error
            assert await stored_status(cohort_id) == CohortStatus.OPEN
            broker.start()
            with running_worker(test_env, settings, tmp_path, redis_url=broker_url, queue=queue) as worker:
                # The worker queued a relay when it was ready (it sends rows older than a
                # few seconds); this one, like `registry relay-outbox --min-age 0`, does
                # not wait for that.
                await outbox.relay(min_age_seconds=0)
                row = await wait_done(outbox_id, worker)
            assert row.sent_at is not None
            assert await stored_status(cohort_id) == CohortStatus.RUNNING
            assert await starts(cohort_id) == 1
    finally:
        broker.stop()
