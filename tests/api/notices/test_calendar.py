"""``GET /api/v1/calendar/working-days`` (any signed-in user): the DESIGN example, sign-in,
bad parameters, a year the calendar does not cover."""

from __future__ import annotations

import httpx
import pytest

from tests.api.support import Make, problem

pytestmark = pytest.mark.usefixtures("working_day_calendar")

URL = "/api/v1/calendar/working-days"


async def test_the_design_example(client: httpx.AsyncClient, sign_in: Make) -> None:
    actor = await sign_in("institution")
    response = await client.get(f"{URL}?from=2025-09-30&count=5", headers=actor.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["from"] == "2025-09-30"
    assert data["count"] == 5
    assert data["days"] == ["2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11", "2025-10-13"]
    assert [(s["year"], s["origin"]) for s in data["sources"]] == [(2025, "package")]
    assert data["sources"][0]["source"].startswith("chinese-calendar 1.11")


@pytest.mark.parametrize("role", ["admin", "auditor", "institution", "assessor"])
async def test_any_signed_in_user_and_count_defaults_to_five(
    client: httpx.AsyncClient, sign_in: Make, role: str
) -> None:
    actor = await sign_in(role)
    response = await client.get(f"{URL}?from=2025-02-07", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.json()["days"] == ["2025-02-07", "2025-02-08", "2025-02-10", "2025-02-11", "2025-02-12"]


async def test_unauthenticated_is_401(client: httpx.AsyncClient) -> None:
    problem(await client.get(f"{URL}?from=2025-09-30&count=5"), 401)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2025-13-01&count=5", "from"),
        ("from=2025-9-30&count=5", "from"),
        ("from=yesterday", "from"),
        ("count=5", "from"),
        ("from=2025-09-30&count=0", "count"),
        ("from=2025-09-30&count=61", "count"),
        ("from=2025-09-30&count=five", "count"),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    client: httpx.AsyncClient, sign_in: Make, query: str, field: str
) -> None:
    actor = await sign_in("auditor")
    data = problem(await client.get(f"{URL}?{query}", headers=actor.headers), 422)
    assert [e["field"] for e in data["errors"]] == [field], data


async def test_sixty_is_the_most(client: httpx.AsyncClient, sign_in: Make) -> None:
    actor = await sign_in("auditor")
    response = await client.get(f"{URL}?from=2025-01-01&count=60", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["days"]) == 60


async def test_a_year_the_calendar_does_not_cover_is_422_naming_it(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    actor = await sign_in("institution")
    # 2026-12-28..31 are four working days; the fifth would be in 2027.
    data = problem(
        await client.get(f"{URL}?from=2026-12-28&count=5", headers=actor.headers), 422, "calendar_not_loaded"
    )
    assert "does not cover 2027" in data["detail"]
    assert "registry calendar load" in data["detail"]
    assert data["errors"] == [{"field": "from", "code": "calendar_not_loaded", "message": data["detail"]}]
    ok = await client.get(f"{URL}?from=2026-12-28&count=4", headers=actor.headers)
    assert ok.json()["days"][-1] == "2026-12-31"
    for day in ("2027-06-01", "0001-01-01", "9999-12-31"):
        problem(await client.get(f"{URL}?from={day}", headers=actor.headers), 422, "calendar_not_loaded")
