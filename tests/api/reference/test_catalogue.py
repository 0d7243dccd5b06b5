from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from registry.core.principal import system
from registry.reference.service import load_reference
from tests.api.support import Actor
from tests.factories import CONFIRMED_AS, confirm_reference_list

Make = Callable[..., Awaitable[Actor]]


@pytest.fixture(scope="module")
async def catalogue(database: None) -> None:
    await load_reference(system("test"))
    await confirm_reference_list()  # as the bureau does (tests.factories)


async def test_reference_endpoints(client: httpx.AsyncClient, sign_in: Make, catalogue: None) -> None:
    actor = await sign_in("institution")
    occ = await client.get("/api/v1/occupations?level=4&limit=1", headers=actor.headers)
    assert occ.status_code == 200, occ.text
    assert occ.json()["total"] == 1632
    trades = await client.get("/api/v1/priority-trades?on=2025-06-01&limit=500", headers=actor.headers)
    assert trades.status_code == 200, trades.text
    data = trades.json()
    assert data["total"] == 158 == len(data["items"])
    assert all(item["sector"] for item in data["items"])
    # The list's facts: the shipped selection, confirmed by the bureau in the suite's setup
    # (tests.factories.confirm_reference_list; issue 15, item 10).
    assert {(i["list_code"], i["list_document"], i["list_confirmed"]) for i in data["items"]} == {
        ("reference-2025-01-01", CONFIRMED_AS, True)
    }
    divisions = (await client.get("/api/v1/divisions", headers=actor.headers)).json()
    codes = {d["code"]: d for d in divisions}
    assert len([d for d in divisions if d["is_administrative"]]) == 14
    assert codes["410371"]["kind"] == "statistics" and not codes["410371"]["is_administrative"]
    search = await client.get("/api/v1/occupations?q=无人机&level=4", headers=actor.headers)
    assert search.json()["total"] >= 1


async def test_reference_needs_sign_in_and_bounded_pages(client: httpx.AsyncClient, sign_in: Make) -> None:
    assert (await client.get("/api/v1/occupations")).status_code == 401
    actor = await sign_in("auditor")
    assert (await client.get("/api/v1/occupations?limit=501", headers=actor.headers)).status_code == 422
    assert (await client.get("/api/v1/occupations?level=9", headers=actor.headers)).status_code == 422
