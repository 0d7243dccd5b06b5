"""What-if of a draft policy: ``POST /policies/simulate`` (202: a worker runs it) and
``GET /policies/simulations/{id}`` (the result when done).

Who: auditors and admins (anyone else: 403; the endpoint is no secret). A county auditor's
simulation covers its division's claims and only that division's auditors (and the city's)
see it; another's id is a 404. The draft is validated as ``registry load-policy`` validates
a document: a 422 names each field (``draft.training.skill_level[0].amount_fen``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi import ResponseSpec

from api.idempotency import idempotent
from registry.core.principal import Principal
from registry.subsidy import simulations as service
from registry.subsidy.simulation import SimulationResult


class SimulationRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    draft: dict[str, Any]
    """The draft policy document as JSON: the same shape as a policy YAML (amounts in fen)."""
    year: Annotated[int, msgspec.Meta(ge=service.MIN_YEAR, le=service.MAX_YEAR)]
    """The lines' year (a line's year: its certificate's issue year, else its cohort's end year)."""


class SimulationRead(msgspec.Struct):
    id: uuid.UUID
    status: str
    """``queued``, ``done`` or ``failed``."""
    year: int
    division_code: str | None
    """A county auditor's division; None: the whole city."""
    draft_code: str
    requested_by: str
    requested_at: dt.datetime
    done_at: dt.datetime | None
    error: str
    result: SimulationResult | None
    """When done: the totals and the differences by sector, division and priority group (fen)."""

    @classmethod
    def of(cls, view: service.SimulationView) -> SimulationRead:
        return cls(
            id=view.id,
            status=view.status,
            year=view.year,
            division_code=view.division_code,
            draft_code=view.draft_code,
            requested_by=view.requested_by,
            requested_at=view.requested_at,
            done_at=view.done_at,
            error=view.error,
            result=view.result,
        )


@post(
    "/policies/simulate",
    status_code=202,
    summary="What-if: price a draft policy over a year's computed claims (a worker runs it)",
    description=(
        "Auditors and admins. Answers 202 at once with the simulation `queued`; poll "
        "`GET /policies/simulations/{id}` until it is `done`. The draft is validated as "
        "`registry load-policy` validates a document (422 naming each field). Nothing but the "
        "simulation is written. Accepts an `Idempotency-Key`."
    ),
    tags=["subsidy"],
    responses={202: ResponseSpec(SimulationRead, description="Queued; a worker runs it")},
)
async def simulate(
    request: Request[Any, Any, Any], principal: Principal, data: SimulationRequest
) -> Response[SimulationRead]:
    async def run() -> tuple[int, SimulationRead]:
        view = await service.request_simulation(principal, data.draft, data.year)
        return 202, SimulationRead.of(view)

    return await idempotent(request, principal, run)


@get(
    "/policies/simulations/{simulation_id:uuid}",
    summary="One what-if simulation, with its result when done",
    tags=["subsidy"],
)
async def read_simulation(principal: Principal, simulation_id: uuid.UUID) -> SimulationRead:
    return SimulationRead.of(await service.get_simulation(principal, simulation_id))


HANDLERS: list[Any] = [simulate, read_simulation]
