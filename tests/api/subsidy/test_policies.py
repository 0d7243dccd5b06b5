"""``GET /api/v1/policies`` and ``GET /api/v1/policies/{code}`` (any signed-in user)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import Make, problem

pytestmark = pytest.mark.usefixtures("subsidy_policies")


async def test_policies(client: httpx.AsyncClient, sign_in: Make) -> None:
    actor = await sign_in("assessor")
    listed = await client.get("/api/v1/policies", headers=actor.headers)
    assert listed.status_code == 200, listed.text
    henan = next(p for p in listed.json() if p["code"] == "henan-2022")
    assert henan["effective_from"] == "2022-03-31" and henan["effective_to"] is None
    assert len(henan["sha256"]) == 64 and "豫人社规〔2022〕2号" in henan["source_note"]
    one = await client.get("/api/v1/policies/henan-2022", headers=actor.headers)
    assert one.status_code == 200, one.text
    document = one.json()["document"]
    assert document["code"] == "henan-2022"
    assert document["training"]["completion"]["cap_fen"] == 70000
    assert {r["code"] for r in document["rules"]} >= {"ID_INVALID", "AGE_RANGE", "NOT_COMPLETED"}
    problem(await client.get("/api/v1/policies/nope", headers=actor.headers), 404, "not_found")


async def test_policies_need_sign_in(client: httpx.AsyncClient) -> None:
    problem(await client.get("/api/v1/policies"), 401)
    problem(await client.get("/api/v1/policies/henan-2022"), 401)
