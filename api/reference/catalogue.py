"""Reference data: occupations, priority trades, divisions (any signed-in user)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from api.pagination import Limit, Offset, Page
from registry.core.clock import business_today
from registry.core.principal import Principal
from registry.reference import queries


class OccupationRead(msgspec.Struct):
    code: str
    name: str
    level: int
    parent_code: str | None
    is_digital: bool
    is_green: bool
    definition: str
    priority_sector: str | None


class PriorityTradeRead(msgspec.Struct):
    code: str
    name: str
    sector: str
    list_id: uuid.UUID
    list_name: str
    effective_from: dt.date
    is_reference_selection: bool
    list_code: str
    """The list's stable code (``reference-2025-01-01`` for the shipped selection)."""
    list_document: str
    """The document the list was published under; empty when none was given."""
    list_confirmed: bool
    """Published by the bureau (loaded by it, or the shipped selection it confirmed). An uplift
    on an unconfirmed list is flagged ``PRIORITY_LIST_UNCONFIRMED``."""


class PriorityTradePage(msgspec.Struct):
    items: list[PriorityTradeRead]
    total: int
    limit: int
    offset: int
    on: dt.date


class DivisionRead(msgspec.Struct):
    code: str
    name: str
    kind: str
    is_administrative: bool


@get("/occupations", summary="The 2022 occupational classification", tags=["reference"])
async def occupations(
    principal: Principal,
    level: Annotated[int | None, Parameter(ge=1, le=4, description="4 = an occupation (细类)")] = None,
    q: Annotated[str | None, Parameter(max_length=50, description="code prefix or part of the name")] = None,
    priority_on: Annotated[
        dt.date | None, Parameter(description="only the priority trades in force on this date")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[OccupationRead]:
    del principal
    page = await queries.list_occupations(
        level=level, q=q, priority_on=priority_on, limit=limit, offset=offset
    )
    items, total = page.items, page.total
    return Page(
        [msgspec.convert(i, OccupationRead, from_attributes=True) for i in items], total, limit, offset
    )


@get(
    "/priority-trades",
    summary="The priority-trade list in force on a date (default today)",
    tags=["reference"],
)
async def priority_trades(
    principal: Principal,
    on: Annotated[dt.date | None, Parameter(description="default: today, Asia/Shanghai")] = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> PriorityTradePage:
    del principal
    day = on or business_today()
    page = await queries.list_priority_trades(day, limit=limit, offset=offset)
    items, total = page.items, page.total
    return PriorityTradePage(
        [msgspec.convert(i, PriorityTradeRead, from_attributes=True) for i in items],
        total,
        limit,
        offset,
        day,
    )


@get("/divisions", summary="Luoyang's districts and counties", tags=["reference"])
async def divisions(principal: Principal, request: Request[Any, Any, Any]) -> list[DivisionRead]:
    del principal, request
    return [
        DivisionRead(d.code, d.name, str(d.kind), d.is_administrative) for d in await queries.list_divisions()
    ]


HANDLERS = [occupations, priority_trades, divisions]
