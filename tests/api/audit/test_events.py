"""GET /api/v1/audit-events: filters, pagination, who may read it, a county auditor's scope,
and bad parameters (DESIGN.md section 8).

The database is shared by the whole run and never cleaned, so every assertion filters on
objects (or actors) the test made itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from registry.audit.queries import business_day_bounds
from registry.core.clock import BUSINESS_TZ, business_today
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment
from tests.api.conftest import Actor
from tests.api.support import roster_csv
from tests.factories import make_cohort
from tests.factories import new_id_number as new_number

Make = Callable[..., Awaitable[Actor]]
URL = "/api/v1/audit-events"


async def cancel(client: httpx.AsyncClient, actor: Actor, cohort: Cohort) -> None:
    response = await client.post(
        f"/api/v1/cohorts/{cohort.id}/cancel", json={"reason": "测试"}, headers=actor.headers
    )
    assert response.status_code == 200, response.text


async def upload(client: httpx.AsyncClient, actor: Actor, cohort: Cohort, *rows: tuple[str, str]) -> str:
    response = await client.post(
        f"/api/v1/cohorts/{cohort.id}/roster",
        headers=actor.headers,
        files={"file": ("r.csv", roster_csv(*rows), "text/csv")},
    )
    assert response.status_code == 200, response.text
    batch: str = response.json()["batch_id"]
    return batch


async def events(client: httpx.AsyncClient, reader: Actor, **params: Any) -> dict[str, Any]:
    response = await client.get(URL, params=params, headers=reader.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def in_division(institution: Institution, division: str) -> Cohort:
    cohort = await make_cohort(institution, capacity=50)
    cohort.division_id = division  # type: ignore[attr-defined]
    await cohort.save(update_fields=["division_id"])
    return cohort


async def test_filters_and_pages_newest_first(client: httpx.AsyncClient, sign_in: Make) -> None:
    inst = await sign_in("institution")
    admin = await sign_in("admin")
    assert inst.institution is not None
    cancelled = await make_cohort(inst.institution, capacity=50)
    filled = await make_cohort(inst.institution, capacity=50)
    await cancel(client, inst, cancelled)
    number = new_number()
    batch = await upload(client, inst, filled, ("张三", number))
    actor = f"user:{inst.user_id}"

    mine = await events(client, admin, actor=actor)
    assert mine["total"] == 2 and mine["limit"] == 50 and mine["offset"] == 0
    assert [e["action"] for e in mine["items"]] == ["roster.import", "cohort.cancel"]
    newest, oldest = mine["items"]
    assert newest["id"] > oldest["id"] and newest["at"] >= oldest["at"]
    assert set(oldest) == {"id", "at", "actor", "action", "entity_type", "entity_id", "before", "after"}
    assert (oldest["actor"], oldest["entity_type"], oldest["entity_id"]) == (
        actor,
        "cohort",
        str(cancelled.id),
    )
    assert oldest["before"] == {"status": "running"}  # open, and its start date has passed
    assert oldest["after"]["status"] == "cancelled"
    assert (newest["entity_type"], newest["entity_id"]) == ("import_batch", batch)
    assert newest["after"]["accepted"] == 1
    assert number not in str(mine)  # never an ID number

    first = await events(client, admin, actor=actor, limit=1)
    second = await events(client, admin, actor=actor, limit=1, offset=1)
    assert (first["total"], second["total"]) == (2, 2)
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [newest["id"], oldest["id"]]
    assert (await events(client, admin, actor=actor, offset=2))["items"] == []

    by_entity = await events(client, admin, entity_type="cohort", entity_id=str(cancelled.id))
    # the calendar's cohort.start (recorded when the cancel found it due) is the cohort's too
    assert [(e["action"], e["actor"]) for e in by_entity["items"]] == [
        ("cohort.cancel", actor),
        ("cohort.start", "system:calendar"),
    ]
    assert (await events(client, admin, entity_type="import_batch", actor=actor))["total"] == 1
    assert (await events(client, admin, action="cohort.cancel", actor=actor))["total"] == 1
    assert (await events(client, admin, action="cohort.close", actor=actor))["total"] == 0

    today = business_today()
    day = dt.timedelta(days=1)
    assert (await events(client, admin, actor=actor, **{"from": today, "to": today}))["total"] == 2
    assert (await events(client, admin, actor=actor, **{"from": today + day}))["total"] == 0
    assert (await events(client, admin, actor=actor, to=today - day))["total"] == 0

    city = await sign_in("auditor")
    assert (await events(client, city, actor=actor))["total"] == 2


def test_a_date_range_is_whole_business_days_in_shanghai() -> None:
    start, end = business_day_bounds(dt.date(2025, 5, 1), dt.date(2025, 5, 2))
    assert start == dt.datetime(2025, 5, 1, tzinfo=BUSINESS_TZ)
    assert start.astimezone(dt.UTC) == dt.datetime(2025, 4, 30, 16, tzinfo=dt.UTC)
    assert end == dt.datetime(2025, 5, 3, tzinfo=BUSINESS_TZ)  # exclusive: all of 2 May counts
    assert business_day_bounds(None, None) == (None, None)


async def test_institutions_and_assessors_get_404(client: httpx.AsyncClient, sign_in: Make) -> None:
    for role in ("institution", "assessor"):
        actor = await sign_in(role)
        response = await client.get(URL, headers=actor.headers)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "not_found"
    assert (await client.get(URL)).status_code == 401


async def test_a_county_auditor_sees_only_its_divisions_objects(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    inst = await sign_in("institution")
    assert inst.institution is not None  # registered in 410305, trains in 新安县 too
    own = await in_division(inst.institution, "410323")
    other = await in_division(inst.institution, "410305")
    await cancel(client, inst, own)
    await cancel(client, inst, other)
    own_cohort = await in_division(inst.institution, "410323")
    other_cohort = await in_division(inst.institution, "410305")
    own_batch = await upload(client, inst, own_cohort, ("李四", new_number()))
    other_batch = await upload(client, inst, other_cohort, ("王五", new_number()))
    actor = f"user:{inst.user_id}"

    county = await sign_in("auditor", division="410323")
    seen = await events(client, county, actor=actor)
    assert {(e["entity_type"], e["entity_id"]) for e in seen["items"]} == {
        ("cohort", str(own.id)),
        ("import_batch", own_batch),
    }
    assert seen["total"] == 2
    assert (await events(client, county, entity_type="cohort", entity_id=str(other.id)))["total"] == 0
    assert (await events(client, county, entity_type="import_batch", entity_id=other_batch))["total"] == 0
    city = await sign_in("auditor")
    assert (await events(client, city, actor=actor))["total"] == 4

    # people: one trained in 新安县 is the county's, one trained (and living) elsewhere is not
    trained_here = await Enrolment.get(cohort_id=own_cohort.id)
    trained_there = await Enrolment.get(cohort_id=other_cohort.id)
    for enrolment in (trained_here, trained_there):
        response = await client.post(
            f"/api/v1/trainees/{enrolment.trainee_id}/reveal",  # type: ignore[attr-defined]
            json={"reason": "核查补贴申请"},
            headers=city.headers,
        )
        assert response.status_code == 200, response.text
    reveals = await events(client, county, actor=f"user:{city.user_id}")
    assert [(e["action"], e["entity_id"]) for e in reveals["items"]] == [
        ("trainee.reveal_id_number", str(trained_here.trainee_id))  # type: ignore[attr-defined]
    ]
    assert (await events(client, city, actor=f"user:{city.user_id}"))["total"] == 2


async def test_bad_parameters_are_422_naming_the_parameter(client: httpx.AsyncClient, sign_in: Make) -> None:
    admin = await sign_in("admin")
    bad: list[tuple[dict[str, str | int], str]] = [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "from"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"entity_type": "x" * 65}, "entity_type"),
        ({"actor": "x" * 101}, "actor"),
        # an instant before year 1 or after 9999 was a 500 (OverflowError): 1900..2100 only
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "1899-12-31"}, "from"),
        ({"to": "2101-01-01"}, "to"),
    ]
    for params, field in bad:
        response = await client.get(URL, params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], (params, response.text)
    for params in ({"from": "1900-01-01"}, {"to": "2100-12-31"}):
        response = await client.get(URL, params=params, headers=admin.headers)
        assert response.status_code == 200, (params, response.text)
