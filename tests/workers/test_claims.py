"""Claims computed by real Celery workers (prefork), with the real PostgreSQL and Redis:
filed and computed within seconds; a worker SIGKILLed in the middle of a claim; the broker
down when a claim is filed. Nothing is mocked."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from cli.embedded import EmbeddedRedis
from registry.core import outbox
from registry.core.crypto import Vault, vault_from_settings
from registry.core.principal import system
from registry.core.settings import Settings
from registry.enums import ClaimStatus, SubsidyKind
from registry.models.audit import AuditEvent
from registry.models.outbox import OutboxJob
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.subsidy import claims
from registry.subsidy.service import load_shipped_policies
from tests import factories
from tests.broker import plugged, sender_for
from tests.factories import Trainee
from tests.workers.celery_worker import TASK_TIMEOUT, Worker, new_queue, running_worker

pytestmark = pytest.mark.worker

PEOPLE = [Trainee(), Trainee(), Trainee(hours=20), Trainee(outcome="withdrawn", hours=5, certified=False)]


@pytest.fixture(scope="module")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(test_env, settings, tmp_path_factory.mktemp("claims-worker")) as started:
        yield started


@pytest.fixture(autouse=True)
async def policies(database: None) -> None:
    await factories.ensure_catalogue()
    await load_shipped_policies(system("test"))


async def wait_status(claim_id: uuid.UUID, worker: Worker, status: ClaimStatus) -> SubsidyClaim:
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        claim = await SubsidyClaim.get(id=claim_id)
        if claim.status == status:
            return claim
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(
                f"claim {claim_id} is {claim.status}, not {status}, after {TASK_TIMEOUT:.0f} s:\n{worker.log()}"
            )
        await asyncio.sleep(0.1)


async def computed_once(claim_id: uuid.UUID) -> None:
    """Every person's line exactly once, and one compute event."""
    lines = await SubsidyLine.filter(claim_id=claim_id).values_list("enrolment_id", flat=True)
    assert len(lines) == len(PEOPLE) == len(set(lines))
    events = await AuditEvent.filter(entity_id=str(claim_id), action="subsidy_claim.compute").count()
    assert events == 1


async def test_a_filed_claim_is_computed_by_a_worker_within_seconds(worker: Worker, vault: Vault) -> None:
    cohort = await factories.claimable_cohort(vault, PEOPLE)
    started = time.monotonic()
    with plugged(worker.sender):
        filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    claim = await wait_status(filed.id, worker, ClaimStatus.COMPUTED)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"computed after {elapsed:.1f} s"
    assert claim.line_count == 4 and claim.clean_lines == 2 and claim.blocked_lines == 2
    await computed_once(filed.id)
    assert (await OutboxJob.get(id=claim.outbox_id)).done_at is not None


async def test_a_worker_killed_in_the_middle_of_a_claim_computes_it_once(
    worker: Worker, vault: Vault, owner: asyncpg.Connection
) -> None:
    """The worker's child is SIGKILLed while it holds the claim in an open transaction (it
    waits for a lock the test holds on the cohort); acks late and reject-on-worker-lost
    deliver the job again, and the second run computes every line once."""
    cohort = await factories.claimable_cohort(vault, PEOPLE)
    # Filed with no broker plugged in: the job waits in the outbox until the test sends it.
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    blocker = owner.transaction()
    await blocker.start()
    await owner.execute("SELECT 1 FROM cohort WHERE id = $1 FOR UPDATE", cohort.cohort_id)
    try:
        with plugged(worker.sender):
            assert (await outbox.relay(min_age_seconds=0)).sent >= 1
        # Wait until the worker's transaction is waiting for the cohort's lock: it has
        # marked the job done and locked the claim, and has written nothing that commits.
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
    claim = await wait_status(filed.id, worker, ClaimStatus.COMPUTED)
    assert claim.line_count == 4
    await computed_once(filed.id)
    log = worker.log()
    assert "SIGKILL" in log or "signal 9" in log, log


async def test_the_broker_down_at_filing_the_claim_is_computed_once_it_is_back(
    database: None, settings: Settings, test_env: dict[str, str], tmp_path: Path, vault: Vault
) -> None:
    broker = EmbeddedRedis(tmp_path / "redis")
    broker_url = broker.start()
    queue = new_queue()
    try:
        broker.stop()
        cohort = await factories.claimable_cohort(vault, PEOPLE)
        with plugged(sender_for(settings, queue, broker_url)):
            filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
            claim = await SubsidyClaim.get(id=filed.id)
            job = await OutboxJob.get(id=claim.outbox_id)
            assert claim.status == ClaimStatus.SUBMITTED and job.sent_at is None and job.last_error
            broker.start()
            with running_worker(test_env, settings, tmp_path, redis_url=broker_url, queue=queue) as worker:
                await outbox.relay(min_age_seconds=0)
                await wait_status(filed.id, worker, ClaimStatus.COMPUTED)
        await computed_once(filed.id)
    finally:
        broker.stop()
