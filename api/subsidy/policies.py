"""Subsidy policy documents (any signed-in user): the list, and one document in full."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import get

from registry.core.principal import Principal
from registry.subsidy import service
from registry.subsidy.queries import PolicyRow


class PolicySummary(msgspec.Struct):
    code: str
    title: str
    effective_from: dt.date
    effective_to: dt.date | None
    source_note: str
    sha256: str
    loaded_at: dt.datetime


class PolicyRead(PolicySummary):
    document: dict[str, Any]
    """The policy document as published (amounts in integer fen)."""


def _summary(row: PolicyRow) -> dict[str, Any]:
    return {
        "code": row.code,
        "title": str(row.document.get("title", "")),
        "effective_from": row.effective_from,
        "effective_to": row.effective_to,
        "source_note": row.source_note,
        "sha256": row.sha256,
        "loaded_at": row.loaded_at,
    }


@get("/policies", summary="The published subsidy policies, by effective date", tags=["subsidy"])
async def list_policies(principal: Principal) -> list[PolicySummary]:
    del principal
    return [PolicySummary(**_summary(row)) for row in await service.list_policies()]


@get("/policies/{code:str}", summary="One published subsidy policy document", tags=["subsidy"])
async def get_policy(principal: Principal, code: str) -> PolicyRead:
    del principal
    row = await service.get_policy(code)
    return PolicyRead(**_summary(row), document=row.document)


HANDLERS = [list_policies, get_policy]
