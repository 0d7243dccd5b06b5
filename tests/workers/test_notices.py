"""The notice-closing task with a real Celery worker: killed in the middle, run again, it
grants each line once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections.abc import Iterator

import asyncpg
import psutil
import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from registry.enums import ClaimStatus
from registry.models.audit import AuditEvent
from registry.models.ledger import SubsidyGrant
from registry.models.notice import ClaimNotice
from registry.models.subsidy import SubsidyClaim
from tests.factories import Trainee, noticed_claim
from tests.workers.celery_worker import TASK_TIMEOUT, Worker, running_worker
from workers.tasks.notices import CLOSE_DUE

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("working_day_calendar")]


@pytest.fixture(scope="module")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(test_env, settings, tmp_path_factory.mktemp("notices-worker")) as started:
        yield started


async def test_the_closing_task_killed_in_the_middle_grants_each_line_once(
    worker: Worker, vault: Vault, owner: asyncpg.Connection
) -> None:
    # Published a month ago: its five working days are over.
    claim_id, notice_id, _ = await noticed_claim(
        vault, [Trainee(), Trainee(), Trainee(hours=10)], published_on=dt.date(2026, 11, 2)
    )
    blocker = owner.transaction()
    await blocker.start()
    # The task locks the notice, then the claim: it waits here, its transaction open.
    await owner.execute("SELECT 1 FROM subsidy_claim WHERE id = $1 FOR UPDATE", claim_id)
    try:
        worker.sender.send(CLOSE_DUE, {})
        deadline = time.monotonic() + TASK_TIMEOUT
        while not await owner.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
        ):
            worker.check_alive()
            assert time.monotonic() < deadline, worker.log()
            await asyncio.sleep(0.1)
        children = psutil.Process(worker.process.pid).children()
        assert len(children) == 1, children
        os.kill(children[0].pid, signal.SIGKILL)
        children[0].wait(timeout=10)
    finally:
        await blocker.rollback()
    deadline = time.monotonic() + TASK_TIMEOUT
    while (await ClaimNotice.get(id=notice_id)).status != "closed":
        worker.check_alive()
        assert time.monotonic() < deadline, worker.log()
        await asyncio.sleep(0.2)
    grants = await SubsidyGrant.filter(claim_id=claim_id, reverses_id__isnull=True)
    assert len(grants) == 2 == len({g.line_id for g in grants})  # type: ignore[attr-defined]
    assert (await SubsidyClaim.get(id=claim_id)).status == ClaimStatus.PAYABLE
    assert await AuditEvent.filter(entity_id=str(claim_id), action="subsidy_claim.grant").count() == 1
    # Run again: nothing changes.
    before = worker.succeeded(CLOSE_DUE)
    worker.sender.send(CLOSE_DUE, {})
    deadline = time.monotonic() + TASK_TIMEOUT
    while worker.succeeded(CLOSE_DUE) == before:
        worker.check_alive()
        assert time.monotonic() < deadline, worker.log()
        await asyncio.sleep(0.2)
    assert await SubsidyGrant.filter(claim_id=claim_id).count() == 2
    log = worker.log()
    assert "SIGKILL" in log or "signal 9" in log, log
