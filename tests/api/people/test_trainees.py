"""People: read (masked), look up by ID number in the body, and the audited reveal.
ID numbers never appear in URLs, error bodies or the audit trail."""

from __future__ import annotations

import json
from typing import Any

import httpx

from registry.models.audit import AuditEvent
from tests.api.support import Api, Make, item, new_number
from tests.factories import new_institution


async def enrolled_person(api: Api, number: str, name: str, division: str, **extra: Any) -> str:
    cohort = await api.cohort(running=True, division_code=division)
    response = await api.post(f"/cohorts/{cohort['id']}/enrolments", item(number, name, **extra))
    assert response.status_code == 201, response.text
    return str(response.json()["trainee_id"])


def no_number(response: httpx.Response, *numbers: str) -> None:
    for number in numbers:
        assert number not in response.text
        assert number not in str(response.url)


async def test_read_lookup_and_reveal_with_tenancy(
    client: httpx.AsyncClient,
    sign_in: Make,
) -> None:
    a = Api(client, await sign_in("institution", institution=await new_institution("410323")))
    b = Api(client, await sign_in("institution", institution=await new_institution("410305")))
    number, other_number = new_number(), new_number()
    person = await enrolled_person(
        a, number, "周八", "410323", household_division="410302", groups=["veteran"]
    )
    other = await enrolled_person(b, other_number, "吴九", "410305")

    city = Api(client, await sign_in("auditor"))
    county = Api(client, await sign_in("auditor", division="410323"))
    household = Api(client, await sign_in("auditor", division="410302"))
    elsewhere = Api(client, await sign_in("auditor", division="410305"))
    assessor = Api(client, await sign_in("assessor"))
    admin = Api(client, await sign_in("admin"))

    # GET /trainees/{id}: masked; own people only for an institution; scope for auditors.
    for api in (a, city, county, household, admin):
        response = await api.get(f"/trainees/{person}")
        assert response.status_code == 200, response.text
        read = response.json()
        assert read["id_masked"] == number[:6] + "********" + number[-4:] and read["name"] == "周八"
        assert read["household_division"] == "410302" and read["groups"] == ["veteran"]
        no_number(response, number)
    for api in (b, elsewhere, assessor):
        response = await api.get(f"/trainees/{person}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert (await a.get(f"/trainees/{other}")).status_code == 404
    assert (await b.get(f"/trainees/{other}")).status_code == 200

    # POST /trainees/lookup: the number in the body; the answer masked, not cached.
    for api in (city, county, a, admin):
        response = await api.post("/trainees/lookup", {"id_number": f" {number.lower()} "})
        assert response.status_code == 200, response.text
        assert response.json()["id"] == person and response.headers["cache-control"] == "no-store"
        no_number(response, number)
    for api in (b, elsewhere):
        response = await api.post("/trainees/lookup", {"id_number": number})
        assert response.status_code == 404
        no_number(response, number)
    response = await assessor.post("/trainees/lookup", {"id_number": number})
    assert response.status_code == 403
    no_number(response, number)
    unknown = new_number()
    response = await city.post("/trainees/lookup", {"id_number": unknown})
    assert response.status_code == 404
    no_number(response, unknown)
    bad = number[:-1] + ("1" if number[-1] != "1" else "2")
    lookups: list[dict[str, Any]] = [
        {"id_number": bad},
        {"id_number": number[:17]},
        {"id_number": ""},
        {},
        {"id_number": number, "name": "x"},
        {"id_number": 410305},
    ]
    for payload in lookups:
        response = await city.post("/trainees/lookup", payload)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["code"]
        no_number(response, number, bad, number[:17])

    # POST /trainees/{id}/reveal: auditors and admins in scope, with a reason; audited.
    response = await county.post(f"/trainees/{person}/reveal", {"reason": "复核补贴申领 #2025-118"})
    assert response.status_code == 200, response.text
    assert response.json() == {"trainee_id": person, "id_number": number}
    assert response.headers["cache-control"] == "no-store"
    events = await AuditEvent.filter(
        entity_type="trainee", entity_id=person, action="trainee.reveal_id_number"
    )
    assert len(events) == 1 and events[0].after == {"reason": "复核补贴申领 #2025-118"}
    assert events[0].actor == f"user:{county.actor.user_id}"
    assert number not in json.dumps(
        [e.before for e in events] + [e.after for e in events], ensure_ascii=False
    )
    for api in (a, b, assessor, elsewhere):
        response = await api.post(f"/trainees/{person}/reveal", {"reason": "curious"})
        assert response.status_code == 404, response.text
        no_number(response, number)
    payloads: list[dict[str, Any]] = [
        {},
        {"reason": ""},
        {"reason": "    "},
        {"reason": "r" * 501},
        {"reason": "good reason", "x": 1},
    ]
    for payload in payloads:
        response = await city.post(f"/trainees/{person}/reveal", payload)
        assert response.status_code == 422, (payload, response.text)
        no_number(response, number)
    assert await AuditEvent.filter(entity_type="trainee", entity_id=person).count() == 1


async def test_no_trainee_endpoint_without_signing_in(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/trainees/lookup", json={"id_number": new_number()})).status_code == 401


async def test_another_institution_never_changes_what_the_first_sees_nor_who_has_scope(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    from registry.models.training import Trainee

    a = Api(client, await sign_in("institution", institution=await new_institution("410305")))
    b = Api(client, await sign_in("institution", institution=await new_institution("410305")))
    number = new_number()
    person = await enrolled_person(
        a, number, "郑十", "410305", phone="13911112222", household_division="410302", groups=["graduate"]
    )
    a_cohort = (await a.get(f"/trainees/{person}")).json()
    household = Api(client, await sign_in("auditor", division="410302"))
    assert (await household.get(f"/trainees/{person}")).status_code == 200

    # Institution B enrols the same person with another phone, household and groups.
    b_cohort = await b.cohort(running=True)
    response = await b.post(
        f"/cohorts/{b_cohort['id']}/enrolments",
        item(number, "郑十", phone="13733334444", household_division="410323", groups=["veteran"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["phone_masked"] == "137****4444" and response.json()["groups"] == ["veteran"]

    # A still sees its own facts, on its trainee view and on its enrolment list.
    seen_by_a = (await a.get(f"/trainees/{person}")).json()
    assert seen_by_a == a_cohort
    assert (seen_by_a["phone_masked"], seen_by_a["household_division"], seen_by_a["groups"]) == (
        "139****2222",
        "410302",
        ["graduate"],
    )
    a_cohorts = (await a.get("/cohorts")).json()["items"]
    listed = [
        e
        for c in a_cohorts
        for e in (await a.get(f"/cohorts/{c['id']}/enrolments")).json()["items"]
        if e["trainee_id"] == person
    ]
    assert [(e["phone_masked"], e["household_division"], e["groups"]) for e in listed] == [
        ("139****2222", "410302", ["graduate"])
    ]
    # B sees what it said.
    seen_by_b = (await b.get(f"/trainees/{person}")).json()
    assert (seen_by_b["phone_masked"], seen_by_b["household_division"], seen_by_b["groups"]) == (
        "137****4444",
        "410323",
        ["veteran"],
    )
    # The person's own record is unchanged, and the county of A's household keeps its scope.
    trainee = await Trainee.get(id=person)
    assert (trainee.phone_masked, trainee.household_division_id, trainee.groups) == (  # type: ignore[attr-defined]
        "139****2222",
        "410302",
        ["graduate"],
    )
    assert (await household.get(f"/trainees/{person}")).status_code == 200
    reveal = await household.post(f"/trainees/{person}/reveal", {"reason": "核对补贴申请"})
    assert reveal.status_code == 200, reveal.text


async def test_an_id_number_in_a_url_is_masked_in_the_answer_and_the_access_log(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    """``GET /api/v1/trainees/<ID number>`` (a caller's mistake): the problem's ``instance``
    and the access log line show the number masked (issue 7, section 6)."""
    import logging

    from api.app import mask_id_numbers_in_access_log

    auditor = await sign_in("auditor")
    number = new_number()
    response = await client.get(f"/api/v1/trainees/{number}", headers=auditor.headers)
    assert response.status_code == 404
    assert number not in response.text
    assert response.json()["instance"] == f"/api/v1/trainees/{number[:6]}********{number[-4:]}"
    # uvicorn's access log record, as uvicorn makes it (its arguments hold the path).
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/api/v1/trainees/{number}", "1.1", 404), None,
    )  # fmt: skip
    assert mask_id_numbers_in_access_log(record)
    assert number not in record.getMessage()
