"""``registry.subsidy.*`` tasks: computing a filed claim, running a what-if simulation."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from celery import shared_task

from registry.core.crypto import Vault, vault_from_settings
from registry.subsidy import claims, simulations
from workers import loop
from workers.tasks import MAX_RETRIES, RETRY_BACKOFF_MAX_SECONDS, RETRY_BACKOFF_SECONDS, TRANSIENT_ERRORS

COMPUTE_CLAIM = claims.COMPUTE_CLAIM


@functools.cache
def _vault() -> Vault:
    return vault_from_settings(loop.settings())


@shared_task(
    name=COMPUTE_CLAIM,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def compute_claim(claim_id: str, outbox_id: str) -> dict[str, Any]:
    """Compute a filed claim's lines, once per outbox row (acks late: a worker lost mid-way
    leaves nothing behind and the job is delivered again)."""
    report = loop.run(claims.compute_claim(uuid.UUID(claim_id), vault=_vault(), outbox_id=outbox_id))
    if report is None:
        return {"claim_id": claim_id, "duplicate": True}
    return {
        "claim_id": claim_id,
        "status": report.status,
        "lines": report.lines,
        "total_fen": report.total_fen,
    }


SIMULATE_POLICY = simulations.SIMULATE_POLICY


@shared_task(
    name=SIMULATE_POLICY,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=RETRY_BACKOFF_SECONDS,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def simulate_policy(simulation_id: str, outbox_id: str) -> dict[str, Any]:
    """Run a what-if of a draft policy over a year's computed claims, once per outbox row
    (writes nothing but the simulation's result)."""
    report = loop.run(simulations.run_simulation(uuid.UUID(simulation_id), outbox_id=outbox_id))
    if report is None:
        return {"simulation_id": simulation_id, "duplicate": True}
    return {
        "simulation_id": simulation_id,
        "status": report.status,
        "lines": report.lines,
        "difference_fen": report.difference_fen,
    }
