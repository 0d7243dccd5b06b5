"""What-if simulations of a draft policy over a year's real claims (``POST /policies/simulate``).

How the bureau prices a change (the 上浮, say) before it publishes it:

- :func:`request_simulation` (an auditor or an admin): the draft is validated exactly as
  ``registry load-policy`` validates a document (:func:`~registry.subsidy.policy.convert_policy`;
  a 422 names each field as ``draft.<path>``); the ``policy_simulation`` row, its audit event
  and the outbox row of :data:`SIMULATE_POLICY` commit together; the API answers 202.
- :func:`run_simulation` (the worker, once per outbox row): reads the year's computed claims
  (every status but submitted, withdrawn and failed) page by page, recomputes each claim's
  lines from its stored snapshot under the draft with the claims engine's own code
  (:func:`registry.subsidy.claims.line_records`), compares them with the stored lines
  (:class:`registry.subsidy.simulation.Comparison`) and stores the result on the row. Nothing
  else is written: no line, claim, grant or snapshot changes. The draft's effective dates are
  not applied: the draft is priced as if it were in force for every line of the year.
- :func:`get_simulation`: the row, with its result when done.

Scope (DESIGN.md section 9): the city's auditors and the admins simulate the whole city and
see every simulation; a county auditor's simulation covers its division's claims only, and
only that division's auditors (and the city's) see it; anyone else is refused (403: the
endpoint is no secret), and a simulation the caller may not see is a 404.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.core import outbox
from registry.core.errors import FieldError, NotFound, PermissionDenied, RegistryError, ValidationFailed
from registry.core.principal import Principal, system
from registry.core.tenancy import bureau_scope
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.models.subsidy import PolicySimulation
from registry.subsidy import queries, snapshot
from registry.subsidy.claims import line_records
from registry.subsidy.policy import Policy, content_sha256, convert_policy, document_of
from registry.subsidy.queries import LINE_COLUMNS
from registry.subsidy.simulation import ClaimLines, Comparison, LineAmount, SimulationResult

log = logging.getLogger(__name__)

SIMULATE_POLICY = "registry.subsidy.simulate_policy"
"""The job that runs a requested simulation (queued by :func:`request_simulation`)."""

SIMULATORS = frozenset({Role.AUDITOR, Role.ADMIN})
MIN_YEAR, MAX_YEAR = 2000, 2100
PAGE = 200
"""Claims read (with their snapshots) per query."""
MAX_ERROR = 2000

QUEUED, DONE, FAILED = "queued", "done", "failed"


@dataclass(frozen=True)
class SimulationView:
    id: uuid.UUID
    year: int
    division_code: str | None
    draft_code: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    done_at: dt.datetime | None
    error: str
    result: SimulationResult | None


@dataclass(frozen=True)
class SimulationReport:
    simulation_id: uuid.UUID
    status: str
    """``done``, ``failed``, or ``skipped`` (not queued any more)."""
    lines: int = 0
    difference_fen: int = 0


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


def _view(row: dict[str, Any]) -> SimulationView:
    result = _json(row["result"])
    return SimulationView(
        id=row["id"],
        year=row["year"],
        division_code=row["division_id"],
        draft_code=row["draft_code"],
        status=row["status"],
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        done_at=row["done_at"],
        error=row["error"],
        result=None if result is None else msgspec.convert(result, SimulationResult),
    )


def _refuse_role(principal: Principal) -> None:
    if principal.role not in SIMULATORS:
        raise PermissionDenied("only auditors and admins simulate draft policies")


def _scope_of(principal: Principal) -> str | None:
    """The division a principal simulates and sees: a county auditor's, else None (the city)."""
    scope = bureau_scope(principal)
    return None if scope is None else scope.division_code


def validate_draft(draft: Any) -> Policy:
    """The draft as a :class:`Policy`, validated as ``registry load-policy`` validates a
    document; the errors name the request's fields (``draft.training.skill_level[0].amount_fen``)."""
    try:
        return convert_policy(draft, "draft")
    except ValidationFailed as exc:
        errors = [
            FieldError("draft" + e.field[1:] if e.field.startswith("$") else e.field, e.code, e.message)
            for e in exc.errors
        ]
        first = errors[0] if errors else FieldError("draft", exc.code, exc.message)
        message = f"the draft: {len(errors)} problem(s); first: {first.field}: {first.message}"
        raise ValidationFailed(message, code=exc.code, errors=errors) from exc


async def request_simulation(principal: Principal, draft: Any, year: int) -> SimulationView:
    """Queue a what-if of ``draft`` over ``year``'s lines (:data:`SIMULATE_POLICY`)."""
    _refuse_role(principal)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(
            f"the year {year} is out of range",
            errors=[FieldError("year", "out_of_range", f"a year from {MIN_YEAR} to {MAX_YEAR}")],
        )
    policy = validate_draft(draft)
    division = _scope_of(principal)
    async with unit_of_work(principal) as uow:
        simulation = await PolicySimulation.create(
            using_db=uow.conn,
            year=year,
            division_id=division,
            draft=document_of(policy),
            draft_code=policy.code,
            status=QUEUED,
            requested_by=principal.actor,
            requested_at=dt.datetime.now(dt.UTC),
        )
        simulation.outbox_id = await uow.enqueue(SIMULATE_POLICY, simulation_id=simulation.id)
        await simulation.save(using_db=uow.conn, update_fields=["outbox_id"])
        await uow.audit(
            "policy_simulation.request",
            "policy_simulation",
            simulation.id,
            after={
                "year": year,
                "division_code": division,
                "draft_code": policy.code,
                "draft_sha256": content_sha256(policy),
            },
        )
        row = await queries.simulation_row(simulation.id, uow.conn)
    assert row is not None
    return _view(row)


async def get_simulation(principal: Principal, simulation_id: uuid.UUID) -> SimulationView:
    _refuse_role(principal)
    row = await queries.simulation_row(simulation_id)
    scope = _scope_of(principal)
    if row is None or (scope is not None and row["division_id"] != scope):
        raise NotFound("no such simulation")
    return _view(row)


# ---------------------------------------------------------------------------
# Running (the worker)
# ---------------------------------------------------------------------------

_AT = {name: LINE_COLUMNS.index(name) for name in LINE_COLUMNS}


def _draft_amount(record: tuple[Any, ...]) -> LineAmount:
    return LineAmount(
        enrolment_id=record[_AT["enrolment_id"]],
        kind=record[_AT["kind"]],
        year=record[_AT["year"]],
        total_fen=record[_AT["total_fen"]],
        outcome=record[_AT["outcome"]],
        policy_code=record[_AT["policy_code"]],
        cohort_kind=record[_AT["cohort_kind"]],
        occupation_code=record[_AT["occupation_code"]],
    )


def _stored_amount(row: dict[str, Any]) -> LineAmount:
    return LineAmount(
        enrolment_id=row["enrolment_id"],
        kind=str(row["kind"]),
        year=int(row["year"]),
        total_fen=int(row["total_fen"]),
        outcome=str(row["outcome"]),
        policy_code=str(row["policy_code"]),
        cohort_kind=str(row["cohort_kind"]),
        occupation_code=row["occupation_code"],
    )


def _snapshot_of(value: Any) -> snapshot.Snapshot:
    if isinstance(value, (str, bytes)):
        return snapshot.decode(value)
    return snapshot.decode(msgspec.json.encode(value))


def claim_lines(claim: dict[str, Any], stored: Iterable[dict[str, Any]], draft: Policy) -> ClaimLines:
    """One claim both ways: its stored lines, and its lines recomputed from its snapshot under
    the draft by the claims engine's own code (no rule is reimplemented here)."""
    snap = _snapshot_of(claim["snapshot"])
    records = line_records(claim["id"], snap, draft)
    return ClaimLines(
        claim_id=claim["id"],
        division_code=claim["division_id"],
        in_force=[_stored_amount(row) for row in stored],
        draft=[_draft_amount(record) for record in records],
        groups={person.enrolment_id: list(person.groups) for person in snap.people},
    )


async def run_simulation(
    simulation_id: uuid.UUID, *, outbox_id: uuid.UUID | str | None = None
) -> SimulationReport | None:
    """Run a queued simulation (the worker's task), once per outbox row: a duplicate delivery
    returns None and changes nothing. Reads in one transaction (the result and the outbox mark
    commit together); writes nothing but the simulation's row. A simulation that cannot be
    run (a snapshot that no longer decodes, a rule error) is marked failed with the reason."""
    principal = system("simulation")
    try:
        async with unit_of_work(principal) as uow:
            if outbox_id is not None and not await outbox.record_done(uow.conn, outbox_id):
                return None
            row = await queries.lock_simulation(uow.conn, simulation_id)
            if row is None or row["status"] != QUEUED:
                return SimulationReport(simulation_id, "skipped")
            draft = convert_policy(_json(row["draft"]), "draft")
            year, division = int(row["year"]), row["division_id"]
            comparison = Comparison(
                year,
                draft.code,
                division_code=division,
                sector_names=await queries.major_group_names(uow.conn),
                division_names=await queries.division_names(uow.conn),
            )
            after: uuid.UUID | None = None
            while True:
                page = await queries.simulated_claims(uow.conn, year, division, after=after, limit=PAGE)
                if not page:
                    break
                stored: dict[uuid.UUID, list[dict[str, Any]]] = {claim["id"]: [] for claim in page}
                for line in await queries.simulated_lines(uow.conn, list(stored), year):
                    stored[line["claim_id"]].append(line)
                for claim in page:
                    comparison.add(claim_lines(claim, stored[claim["id"]], draft))
                after = page[-1]["id"]
            result = comparison.result()
            await queries.store_simulation(
                uow.conn, simulation_id, DONE, result_json=msgspec.json.encode(result).decode()
            )
            await uow.audit(
                "policy_simulation.done",
                "policy_simulation",
                simulation_id,
                before={"status": QUEUED},
                after={
                    "status": DONE,
                    "claims": result.claims,
                    "lines": result.lines,
                    "total_fen_in_force": result.total_fen_in_force,
                    "total_fen_draft": result.total_fen_draft,
                    "difference_fen": result.difference_fen,
                },
            )
        return SimulationReport(simulation_id, DONE, result.lines, result.difference_fen)
    except (RegistryError, msgspec.ValidationError, msgspec.DecodeError) as exc:
        log.warning("simulation %s could not be run: %s", simulation_id, exc)
        await _mark_failed(principal, simulation_id, str(exc), outbox_id)
        return SimulationReport(simulation_id, FAILED)


async def _mark_failed(
    principal: Principal, simulation_id: uuid.UUID, reason: str, outbox_id: uuid.UUID | str | None
) -> None:
    async with unit_of_work(principal) as uow:
        if outbox_id is not None:
            await outbox.record_done(uow.conn, outbox_id)
        row = await queries.lock_simulation(uow.conn, simulation_id)
        if row is None or row["status"] != QUEUED:
            return
        await queries.store_simulation(uow.conn, simulation_id, FAILED, error=reason[:MAX_ERROR])
        await uow.audit(
            "policy_simulation.fail",
            "policy_simulation",
            simulation_id,
            before={"status": QUEUED},
            after={"status": FAILED, "error": reason[:MAX_ERROR]},
        )
