"""Bad input is a 4xx problem document naming the field, never a 500, and writes nothing
(issue 7 §2: what a fuzzing probe found)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from registry.accounts.api_keys import create_api_key
from registry.audit.service import _CHAIN_LOCK_KEY as CHAIN_LOCK_KEY
from registry.core.principal import Principal
from registry.enums import Role
from registry.models.audit import AuditEvent
from registry.models.auth import ApiKey, User
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment
from tests.api.support import (
    Api,
    Make,
    body,
    certificate_body,
    item,
    new_number,
    owner,
    problem,
    roster_csv,
)
from tests.factories import make_uscc

NUL = "\x00"


def institution(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uscc": make_uscc(),
        "name": "洛阳市某某职业培训学校",
        "division_code": "410305",
        "kinds": ["training"],
        "approved_years": [2025],
    }
    data.update(overrides)
    return data


async def counts() -> tuple[int, ...]:
    return (
        await Institution.all().count(),
        await User.all().count(),
        await Cohort.all().count(),
        await ApiKey.all().count(),
        await AuditEvent.all().count(),
    )


def fields_of(data: dict[str, Any]) -> list[str]:
    return [e["field"] for e in data.get("errors", [])]


# --- NUL characters --------------------------------------------------------------------


async def test_a_nul_in_a_body_field_is_a_422_naming_the_field(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    inst = await owner(client, sign_in)
    admin = Api(client, await sign_in("admin"))
    cohort = await inst.cohort(open_it=False)
    before = await counts()
    cases: list[tuple[Api | None, str, Any, str]] = [
        (None, "/auth/token", {"username": f"ad{NUL}min", "password": "x"}, "username"),
        (inst, "/cohorts", body(name=f"班{NUL}级"), "name"),
        (inst, "/cohorts", body(reference=f"R{NUL}"), "reference"),
        (inst, f"/cohorts/{cohort['id']}/cancel", {"reason": f"because{NUL}"}, "reason"),
        (admin, "/institutions", institution(name=f"机构{NUL}"), "name"),
        (
            admin,
            "/users",
            {"username": f"u{NUL}x", "password": "long enough pass", "role": "admin"},
            "username",
        ),
        (inst, f"/cohorts/{cohort['id']}/enrolments", [item(name=f"李{NUL}四")], "[0].name"),
    ]
    for api, path, payload, field in cases:
        if api is None:
            response = await client.post(f"/api/v1{path}", json=payload)
        else:
            response = await api.post(path, payload)
        data = problem(response, 422, "validation_failed")
        assert field in fields_of(data), (path, data)
        assert NUL not in response.text.replace("\\u0000", "")
    assert await counts() == before
    after = await inst.get(f"/cohorts/{cohort['id']}")
    assert after.json()["status"] == "draft"


async def test_a_nul_in_a_query_or_path_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    auditor = await sign_in("auditor")
    admin = await sign_in("admin")
    for actor, url, field in [
        (auditor, "/api/v1/cohorts?division=41%0005", "division"),
        (admin, "/api/v1/institutions?division_code=41%0005", "division_code"),
        (auditor, "/api/v1/audit-events?actor=user%00x", "actor"),
        (auditor, "/api/v1/certificates/LY%0012", "ref"),
        (auditor, "/api/v1/occupations?q=%00", "q"),
    ]:
        response = await client.get(url, headers=actor.headers)
        data = problem(response, 422, "validation_failed")
        assert field in fields_of(data), (url, data)


# --- longer than the column --------------------------------------------------------------


async def test_strings_longer_than_their_column_are_refused(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    auditor = await sign_in("auditor")
    admin = Api(client, await sign_in("admin"))
    cohort = await inst.cohort(open_it=False)
    before = await counts()
    for api, method, path, payload, field in [
        (inst, "post", "/cohorts", body(division_code="4103050"), "division_code"),
        (inst, "patch", f"/cohorts/{cohort['id']}", {"division_code": "4103050"}, "division_code"),
        (admin, "post", "/institutions", institution(uscc="9" * 19), "uscc"),
    ]:
        response = await (api.post(path, payload) if method == "post" else api.patch(path, payload))
        assert field in fields_of(problem(response, 422)), (path, response.text)
    response = await client.get("/api/v1/cohorts?division=4103050", headers=auditor.headers)
    assert "division" in fields_of(problem(response, 422))
    response = await client.get("/api/v1/institutions?division_code=4103050", headers=admin.actor.headers)
    assert "division_code" in fields_of(problem(response, 422))
    assert await counts() == before


async def test_enrolment_fields_longer_than_their_column_are_refused(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    inst = await owner(client, sign_in)
    cohort = await inst.cohort()
    url = f"/cohorts/{cohort['id']}/enrolments"
    for payload, field in [
        (item(name="张" * 51), "name"),
        (item(household_division="4103050"), "household_division"),
    ]:
        response = await inst.post(url, payload)
        assert field in fields_of(problem(response, 422)), response.text
    assert await Enrolment.filter(cohort_id=cohort["id"]).count() == 0


# --- numbers out of range, deep nesting ------------------------------------------------------


async def test_offsets_and_limits_beyond_64_bits_are_a_422(client: httpx.AsyncClient, sign_in: Make) -> None:
    auditor = await sign_in("auditor")
    huge = str(2**70)
    for url, field in [
        (f"/api/v1/cohorts?offset={huge}", "offset"),
        (f"/api/v1/cohorts?limit={huge}", "limit"),
        (f"/api/v1/audit-events?offset={huge}", "offset"),
        (f"/api/v1/occupations?offset={huge}", "offset"),
        (f"/api/v1/certificates?offset={huge}", "offset"),
    ]:
        response = await client.get(url, headers=auditor.headers)
        assert field in fields_of(problem(response, 422)), (url, response.text)


async def test_a_deeply_nested_body_is_a_4xx(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    before = await counts()
    response = await client.post(
        "/api/v1/cohorts",
        content=b"[" * 100_000,
        headers={**inst.actor.headers, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await counts() == before


async def test_numbers_out_of_range_are_a_422(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    cohort = await inst.cohort(running=True)
    created = await inst.post(f"/cohorts/{cohort['id']}/enrolments", item())
    assert created.status_code == 201, created.text
    enrolment = created.json()["id"]
    for hours in [1e30, "1E+999999", -1, "NaN", 100000]:
        response = await inst.patch(f"/enrolments/{enrolment}", {"attended_hours": hours})
        assert "attended_hours" in fields_of(problem(response, 422)), (hours, response.text)
    raw = await client.patch(
        f"/api/v1/enrolments/{enrolment}",
        content=b'{"attended_hours": 1E+999999}',
        headers={**inst.actor.headers, "Content-Type": "application/json"},
    )
    assert "attended_hours" in fields_of(problem(raw, 422)), raw.text
    assert (await inst.get(f"/cohorts/{cohort['id']}/enrolments")).json()["items"][0]["attended_hours"] == 0
    admin = Api(client, await sign_in("admin"))
    before = await counts()
    for overrides, field in [
        ({"capacity": 2**70}, "capacity"),
        ({"planned_hours": 2**40}, "planned_hours"),
        ({"certificate_level": 2**20}, "certificate_level"),
    ]:
        response = await inst.post("/cohorts", body(**overrides))
        assert field in fields_of(problem(response, 422)), (overrides, response.text)
    response = await admin.post("/institutions", institution(approved_years=[2**40]))
    assert "approved_years" in " ".join(fields_of(problem(response, 422))), response.text
    assert await counts() == before


async def test_dates_out_of_range_in_any_body_are_a_422_naming_the_field(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    """Every date of a JSON body is 1900-01-01..2100-12-31, checked once at the boundary
    (``api.strict``): past it a rule adding months, or a day made an instant, left the years
    Python can hold (a 500 of the calculator, issue 15 item 15)."""
    inst = await owner(client, sign_in)
    assessor = Api(client, await sign_in("assessor"))
    auditor = Api(client, await sign_in("auditor"))
    cohort = await inst.cohort(open_it=False)
    before = await counts()
    cases: list[tuple[Api, str, Any, str]] = [
        (inst, "/cohorts", body(start_date="0001-01-01"), "start_date"),
        (inst, "/cohorts", body(end_date="9999-12-31"), "end_date"),
        (assessor, "/certificates", certificate_body(issue_date="9999-12-31"), "issue_date"),
        (
            auditor,
            f"/claims/{uuid.uuid4()}/paid",
            {"paid_on": "0001-01-01", "batch_reference": "B1"},
            "paid_on",
        ),
    ]
    for api, path, payload, field in cases:
        data = problem(await api.post(path, payload), 422, "validation_failed")
        assert [(e["field"], e["code"]) for e in data["errors"]] == [(field, "out_of_range")], (path, data)
    patched = await inst.patch(f"/cohorts/{cohort['id']}", {"end_date": "9999-12-31"})
    assert [e["field"] for e in problem(patched, 422)["errors"]] == ["end_date"], patched.text
    assert await counts() == before


# --- strict bodies -------------------------------------------------------------------------------


async def test_a_string_is_not_a_number(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    before = await counts()
    response = await inst.post("/cohorts", body(capacity="5"))
    assert "capacity" in fields_of(problem(response, 422, "validation_failed")), response.text
    response = await inst.post("/cohorts", body(planned_hours="80"))
    assert "planned_hours" in fields_of(problem(response, 422, "validation_failed")), response.text
    assert await counts() == before


async def test_a_json_body_sent_as_another_media_type_is_a_415(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    inst = await owner(client, sign_in)
    before = await counts()
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"]:
        response = await client.post(
            "/api/v1/cohorts",
            content=json.dumps(body()).encode(),
            headers={**inst.actor.headers, "Content-Type": content_type},
        )
        problem(response, 415, "unsupported_media_type")
    response = await client.post(
        "/api/v1/auth/token",
        content=b'{"username": "x", "password": "y"}',
        headers={"Content-Type": "text/plain"},
    )
    problem(response, 415, "unsupported_media_type")
    assert await counts() == before
    # application/json with a charset, and the +json suffix, are JSON
    response = await client.post(
        "/api/v1/cohorts",
        content=json.dumps(body()).encode(),
        headers={**inst.actor.headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    response = await client.post(
        "/api/v1/cohorts",
        content=b'{"reference": ',
        headers={**inst.actor.headers, "Content-Type": "application/json"},
    )
    problem(response, 400, "malformed_body")


# --- API keys creating API keys -------------------------------------------------------------------


async def test_an_api_key_cannot_create_api_keys(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await sign_in("institution")
    admin = await sign_in("admin")
    assert inst.institution is not None
    principal = Principal(kind="user", id=admin.user_id, role=Role.ADMIN)
    created = await create_api_key(principal, name="sis", institution_id=inst.institution.id)
    before = await counts()
    response = await client.post(
        "/api/v1/api-keys", json={"name": "another"}, headers={"X-API-Key": created.secret}
    )
    problem(response, 403, "permission_denied")
    assert await counts() == before


# --- races on unique values --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def audit_chain_held(owner: asyncpg.Connection) -> AsyncIterator[None]:
    """Hold the audit chain's lock: every use case stops at its audit event, after its
    INSERT and before its commit, so parallel requests all get past their duplicate checks."""
    await owner.execute("SELECT pg_advisory_lock($1)", CHAIN_LOCK_KEY)
    try:
        yield
    finally:
        await owner.execute("SELECT pg_advisory_unlock($1)", CHAIN_LOCK_KEY)


async def race(
    owner: asyncpg.Connection, send: Callable[[], Awaitable[httpx.Response]], n: int
) -> list[httpx.Response]:
    async with audit_chain_held(owner):
        tasks = [asyncio.ensure_future(send()) for _ in range(n)]
        await asyncio.sleep(1.0)
    return await asyncio.gather(*tasks)


async def test_parallel_institutions_with_one_uscc_are_one_201_and_409s(
    client: httpx.AsyncClient, sign_in: Make, owner: asyncpg.Connection
) -> None:
    admin = await sign_in("admin")
    data = institution()
    responses = await race(
        owner, lambda: client.post("/api/v1/institutions", json=data, headers=admin.headers), 5
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert "uscc" in fields_of(problem(response, 409, "duplicate_institution"))
    assert await Institution.filter(uscc=data["uscc"]).count() == 1


async def test_parallel_users_with_one_username_are_one_201_and_409s(
    client: httpx.AsyncClient, sign_in: Make, owner: asyncpg.Connection
) -> None:
    admin = await sign_in("admin")
    username = f"race-{uuid.uuid4().hex[:8]}"
    data = {"username": username, "password": "long enough pass", "role": "admin"}
    responses = await race(owner, lambda: client.post("/api/v1/users", json=data, headers=admin.headers), 3)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert "username" in fields_of(problem(response, 409, "duplicate_username"))
    assert await User.filter(username=username).count() == 1


async def test_a_nul_in_a_roster_file_name_is_not_a_500(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await owner(client, sign_in)
    cohort = await inst.cohort()
    response = await client.post(
        f"/api/v1/cohorts/{cohort['id']}/roster",
        files={"file": (f"名单{NUL}.csv", roster_csv(("李四", new_number())), "text/csv")},
        headers=inst.actor.headers,
    )
    assert response.status_code == 200, response.text
    assert NUL not in response.json()["file_name"]
