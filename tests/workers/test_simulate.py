"""A what-if simulation end to end: requested as the API requests it, sent through the
outbox to a real Celery worker (prefork) on the real Redis and PostgreSQL, run by
``registry.subsidy.simulate_policy`` once, and nothing but the simulation written."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from tortoise import connections

from registry.core.crypto import vault_from_settings
from registry.core.settings import Settings
from registry.enums import SubsidyKind
from registry.models.audit import AuditEvent
from registry.models.outbox import OutboxJob
from registry.models.subsidy import PolicySimulation
from registry.subsidy import claims, simulations
from tests import factories
from tests.broker import plugged
from tests.factories import TODAY, Trainee, claimable_cohort, draft_policy
from tests.workers.celery_worker import TASK_TIMEOUT, Worker, running_worker
from workers.tasks.subsidy import SIMULATE_POLICY

DIVISION = "410327"  # 宜阳县


@pytest.fixture(scope="module")
def worker(
    test_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    with running_worker(test_env, settings, tmp_path_factory.mktemp("simulate-worker")) as started:
        yield started


async def wait_done(simulation_id: uuid.UUID, worker: Worker) -> PolicySimulation:
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        row = await PolicySimulation.get(id=simulation_id)
        if row.status != "queued":
            return row
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(
                f"simulation {simulation_id} was not run within {TASK_TIMEOUT:.0f} s:\n{worker.log()}"
            )
        await asyncio.sleep(0.2)


async def lines_and_claim(claim_id: uuid.UUID) -> list[dict[str, object]]:
    """The claim's row and lines, and the ledger's size. (Not every table's size: the worker's
    start-up relay may send jobs other tests left unsent, and compute their claims.)"""
    conn = connections.get("default")
    claim = await conn.execute_query_dict("SELECT * FROM subsidy_claim WHERE id = $1", [claim_id])
    lines = await conn.execute_query_dict(
        "SELECT * FROM subsidy_line WHERE claim_id = $1 ORDER BY seq", [claim_id]
    )
    grants = await conn.execute_query_dict("SELECT count(*) AS n FROM subsidy_grant")
    return [dict(row) for row in [*claim, *lines, *grants]]


@pytest.mark.worker
async def test_the_worker_runs_a_simulation_once_through_the_outbox(
    worker: Worker, database: None, settings: Settings
) -> None:
    await factories.ensure_priority_reference()
    vault = vault_from_settings(settings)
    cohort = await claimable_cohort(vault, [Trainee(), Trainee()], division_code=DIVISION)
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    computed = await factories.compute_filed(vault, filed.id)
    assert computed is not None and computed.status == "computed"
    before = await lines_and_claim(filed.id)

    county = factories.auditor(DIVISION)
    with plugged(worker.sender):
        requested = await simulations.request_simulation(county, draft_policy(), TODAY.year)
    row = await wait_done(requested.id, worker)
    assert row.status == "done", (row.error, worker.log())
    assert row.outbox_id is not None
    job = await OutboxJob.get(id=row.outbox_id)
    assert job.name == SIMULATE_POLICY and job.sent_at is not None and job.done_at is not None

    done = await simulations.get_simulation(county, requested.id)
    assert done.result is not None and done.result.division_code == DIVISION
    assert done.result.lines >= 2 and done.result.difference_fen >= 2 * 24_000
    assert [b.key for b in done.result.by_division] == [DIVISION]
    assert await lines_and_claim(filed.id) == before
    assert worker.succeeded(SIMULATE_POLICY) >= 1

    # The same job again (a redelivery) changes nothing.
    await asyncio.to_thread(
        worker.sender.send, SIMULATE_POLICY, {"simulation_id": str(requested.id), "outbox_id": str(job.id)}
    )
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        if worker.succeeded(SIMULATE_POLICY) >= 2:
            break
        worker.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"the redelivered job did not run:\n{worker.log()}")
        await asyncio.sleep(0.2)
    events = await AuditEvent.filter(entity_type="policy_simulation", entity_id=str(requested.id)).count()
    assert events == 2  # requested, done: once
    assert (await PolicySimulation.get(id=requested.id)).done_at == row.done_at
