"""A real Celery worker (prefork, one child) against the real Postgres and Redis.

The worker runs in a subprocess with the system's environment (``test_env``); the test
sends jobs through the registry's port (:class:`workers.sender.CelerySender`) and watches
the database for their effect. A missing server fails the suite (``servers``), never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.core.settings import Settings
from registry.enums import CohortStatus
from registry.models.audit import AuditCheck, AuditEvent
from registry.models.reference import Division, Occupation
from registry.models.training import Cohort
from workers.celery_app import create_celery
from workers.sender import CelerySender
from workers.tasks.audit import CHECKED_BY, VERIFY_CHAIN
from workers.tasks.training import START_DUE

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
TASK_TIMEOUT = 60.0
LOOP_STARTED = "event loop started, database initialised"
LOOP_CLOSED = "event loop closed"
SUCCEEDED = re.compile(r"Task registry\.audit\.verify_chain\[[0-9a-f-]+\] succeeded")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    queue: str
    sender: CelerySender

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then kill the worker's whole process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # The pool children are in the worker's own session; kill any left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if " ready." in text:
            return
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode} before it was ready:\n{text}")
        time.sleep(0.2)
    text = log_path.read_text(errors="replace")
    pytest.fail(f"the worker was not ready within {READY_TIMEOUT:.0f} s:\n{text}")


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    # A queue of its own, so no other worker on a shared Redis takes these messages.
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "workers.celery_app:app", "worker",
        "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
        "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **test_env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = create_celery(settings)
    app.conf.task_default_queue = queue
    try:
        _wait_ready(process, log_path)
        yield Worker(process=process, log_path=log_path, queue=queue, sender=CelerySender(app))
    finally:
        _stop(process)
        app.close()
    # worker_process_shutdown closed the pool process's loop and connections.
    log = log_path.read_text(errors="replace")
    if LOOP_STARTED in log:
        assert LOOP_CLOSED in log, log


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
    """The nightly calendar task, on a real worker: an open cohort whose start date has
    passed is stored as running, with its audit event."""
    from tests import factories

    await Division.get_or_create(code="410305", defaults={"name": "涧西区", "kind": "district"})
    await Occupation.get_or_create(code=factories.OCCUPATION, defaults={"name": "无人机驾驶员", "level": 4})
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
