from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from registry.models.audit import AuditEvent
from registry.models.institution import Institution
from tests.api.support import Actor
from tests.factories import make_uscc, new_institution

Make = Callable[..., Awaitable[Actor]]


def body(**overrides: Any) -> dict[str, Any]:
    data = {
        "uscc": make_uscc(),
        "name": "洛阳市某某职业培训学校",
        "division_code": "410305",
        "kinds": ["training"],
        "approved_years": [2025],
    }
    data.update(overrides)
    return data


async def test_admin_registers_an_institution_with_an_audit_event(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    admin = await sign_in("admin")
    data = body()
    response = await client.post("/api/v1/institutions", json=data, headers=admin.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["uscc"] == data["uscc"] and created["kinds"] == ["training"]
    events = await AuditEvent.filter(entity_type="institution", entity_id=created["id"])
    assert [e.action for e in events] == ["institution.create"]
    assert events[0].actor == f"user:{admin.user_id}"


async def test_bad_input_names_the_field_and_changes_nothing(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    admin = await sign_in("admin")
    before = await Institution.all().count()
    cases = [
        (body(uscc="91410300MA9XXXXXX0"), 422, "uscc"),  # checksum
        (body(uscc="123"), 422, "uscc"),
        (body(division_code="110101"), 422, "division_code"),  # Beijing: not a Luoyang division
        (body(kinds=["bakery"]), 422, "kinds"),
        (body(approved_years=[1850]), 422, "approved_years"),
        ({"name": "no code"}, 422, "uscc"),
        (body(extra="x"), 422, "extra"),
    ]
    for payload, status, field in cases:
        response = await client.post("/api/v1/institutions", json=payload, headers=admin.headers)
        assert response.status_code == status, (payload, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == status and problem["code"]
        assert any(field in e["field"] for e in problem["errors"]), problem
    malformed = await client.post(
        "/api/v1/institutions",
        content=b"{not json",
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert malformed.status_code in (400, 422)
    assert await Institution.all().count() == before


async def test_duplicate_uscc_is_a_conflict(client: httpx.AsyncClient, sign_in: Make) -> None:
    admin = await sign_in("admin")
    data = body()
    assert (await client.post("/api/v1/institutions", json=data, headers=admin.headers)).status_code == 201
    again = await client.post("/api/v1/institutions", json={**data, "name": "another"}, headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_institution"
    assert again.json()["errors"][0]["field"] == "uscc"


async def test_idempotency_key(client: httpx.AsyncClient, sign_in: Make) -> None:
    admin = await sign_in("admin")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    data = body()
    first = await client.post("/api/v1/institutions", json=data, headers={**admin.headers, **key})
    second = await client.post("/api/v1/institutions", json=data, headers={**admin.headers, **key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replay") == "true"
    assert await Institution.filter(uscc=data["uscc"]).count() == 1
    other = await client.post("/api/v1/institutions", json=body(), headers={**admin.headers, **key})
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


async def test_only_admin_registers(client: httpx.AsyncClient, sign_in: Make) -> None:
    for role in ("auditor", "institution", "assessor"):
        actor = await sign_in(role)
        response = await client.post("/api/v1/institutions", json=body(), headers=actor.headers)
        assert response.status_code == 403, (role, response.text)


async def test_tenancy_an_institution_sees_only_itself(client: httpx.AsyncClient, sign_in: Make) -> None:
    mine = await sign_in("institution")
    theirs = await new_institution(kinds=["training"])
    assert mine.institution is not None
    own = await client.get(f"/api/v1/institutions/{mine.institution.id}", headers=mine.headers)
    assert own.status_code == 200
    other = await client.get(f"/api/v1/institutions/{theirs.id}", headers=mine.headers)
    assert other.status_code == 404
    missing = await client.get(f"/api/v1/institutions/{uuid.uuid4()}", headers=mine.headers)
    assert missing.status_code == 404 and missing.json()["code"] == other.json()["code"]
    listed = await client.get("/api/v1/institutions", headers=mine.headers)
    assert [i["id"] for i in listed.json()["items"]] == [str(mine.institution.id)]
    assessor = await sign_in("assessor")
    assert (
        await client.get(f"/api/v1/institutions/{theirs.id}", headers=assessor.headers)
    ).status_code == 404


async def test_county_auditor_sees_its_division_only(client: httpx.AsyncClient, sign_in: Make) -> None:
    auditor = await sign_in("auditor", division="410323")
    inside = await new_institution("410323", kinds=["training"])
    outside = await new_institution("410305", kinds=["training"])
    assert (await client.get(f"/api/v1/institutions/{inside.id}", headers=auditor.headers)).status_code == 200
    assert (
        await client.get(f"/api/v1/institutions/{outside.id}", headers=auditor.headers)
    ).status_code == 404
    listed = (await client.get("/api/v1/institutions?limit=500", headers=auditor.headers)).json()
    assert {i["division_code"] for i in listed["items"]} == {"410323"}
    city = await sign_in("auditor")
    assert (await client.get(f"/api/v1/institutions/{outside.id}", headers=city.headers)).status_code == 200


async def test_pagination_is_bounded(client: httpx.AsyncClient, sign_in: Make) -> None:
    admin = await sign_in("admin")
    for query in ("limit=501", "limit=0", "offset=-1", "limit=abc"):
        response = await client.get(f"/api/v1/institutions?{query}", headers=admin.headers)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["errors"]
    page = await client.get("/api/v1/institutions?limit=2", headers=admin.headers)
    assert page.status_code == 200 and len(page.json()["items"]) <= 2 and page.json()["limit"] == 2
