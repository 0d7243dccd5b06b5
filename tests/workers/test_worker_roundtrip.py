"""A real Celery worker (prefork, one child) against the real Postgres and Redis.

The worker runs in a subprocess with the system's environment (``test_env``); the test
sends jobs through the registry's port (:class:`workers.sender.CelerySender`) and watches
the database for their effect. A missing server fails the suite (``servers``), never skips.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Iterator

import pytest

from registry.core.settings import Settings
from registry.enums import CohortStatus
from registry.models.audit import AuditCheck, AuditEvent
from registry.models.outbox import OutboxJob
from registry.models.training import Cohort
from tests.workers.celery_worker import LOOP_STARTED, TASK_TIMEOUT, Worker, running_worker
from workers.tasks.audit import CHECKED_BY, VERIFY_CHAIN
from workers.tasks.training import START_DUE, START_DUE_RUN

SUCCEEDED = re.compile(r"Task registry\.audit\.verify_chain\[[0-9a-f-]+\] succeeded")


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(test_env, settings, tmp_path_factory.mktemp("celery-worker")) as started:
        yield started


async def _checks() -> int:
    return await AuditCheck.filter(checked_by=CHECKED_BY).count()


async def _wait_for(worker: Worker, *, checks: int, succeeded: int) -> None:
    """Until ``checks`` audit_check rows exist and the log shows ``succeeded`` tasks."""
    deadline = time.monotonic() + TASK_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the worker died ({worker.process.returncode}):\n{worker.log()}")
        if await _checks() >= checks and len(SUCCEEDED.findall(worker.log())) >= succeeded:
            return
        await asyncio.sleep(0.2)
    pytest.fail(
        f"expected {checks} checks by {CHECKED_BY} and {succeeded} succeeded tasks within "
        f"{TASK_TIMEOUT:.0f} s; found {await _checks()} checks. Worker log:\n{worker.log()}"
    )


@pytest.mark.worker
async def test_verify_chain_runs_on_a_real_worker(worker: Worker, database: None) -> None:
    before = await _checks()
    done = len(SUCCEEDED.findall(worker.log()))
    worker.sender.send(VERIFY_CHAIN, {})
    await _wait_for(worker, checks=before + 1, succeeded=done + 1)
    latest = await AuditCheck.filter(checked_by=CHECKED_BY).order_by("-id").first()
    assert latest is not None
    assert latest.ok, latest.message


@pytest.mark.worker
async def test_later_tasks_reuse_the_process_loop(worker: Worker, database: None) -> None:
    """Two more tasks on the same (single) pool process: both succeed, and the process
    started its event loop and opened the database exactly once."""
    before = await _checks()
    done = len(SUCCEEDED.findall(worker.log()))
    worker.sender.send(VERIFY_CHAIN, {})
    worker.sender.send(VERIFY_CHAIN, {})
    await _wait_for(worker, checks=before + 2, succeeded=done + 2)
    log = worker.log()
    assert log.count(LOOP_STARTED) == 1, log
    assert "Traceback" not in log, log


@pytest.mark.worker
async def test_start_due_stores_running_for_cohorts_that_began(worker: Worker, database: None) -> None:
    """The nightly calendar task, on a real worker: it queues the day's run through the
    outbox (a follow-up job sent by the worker itself), and that run stores an open cohort
    whose start date has passed as running, with its audit event."""
    from tests import factories

    await factories.ensure_catalogue()
    since = dt.datetime.now(dt.UTC)
    who = factories.acting_for(await factories.new_institution())
    cohort_id = await factories.new_cohort(who, running=True)
    assert (await Cohort.get(id=cohort_id)).status == CohortStatus.OPEN
    worker.sender.send(START_DUE, {})
    deadline = time.monotonic() + TASK_TIMEOUT
    while (await Cohort.get(id=cohort_id)).status != CohortStatus.RUNNING:
        if time.monotonic() > deadline:
            pytest.fail(f"the cohort was not started by {START_DUE}:\n{worker.log()}")
        await asyncio.sleep(0.2)
    events = await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort_id), action="cohort.start")
    assert len(events) == 1 and events[0].actor == "system:calendar"
    deadline = time.monotonic() + TASK_TIMEOUT
    while worker.succeeded(START_DUE_RUN) < 1:
        if time.monotonic() > deadline:
            pytest.fail(f"{START_DUE_RUN} did not finish:\n{worker.log()}")
        await asyncio.sleep(0.2)
    run = await OutboxJob.filter(name=START_DUE_RUN, created_at__gte=since).first()
    assert run is not None and run.sent_at is not None and run.done_at is not None
