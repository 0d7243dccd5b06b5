"""Cohort and enrolment endpoints: bad input for every field, the workflow, frozen closed
cohorts, capacity, all-or-nothing lists, duplicates, and tenancy on every endpoint.

Each test makes its own institutions and cohorts (the database is shared and not cleaned)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from registry.models.audit import AuditEvent
from registry.models.training import Cohort, Enrolment
from tests.api.support import GROUP, OCCUPATION, Api, Make, body, item, new_number, owner, problem
from tests.factories import TODAY, new_institution

# --- create ----------------------------------------------------------------------------------


async def test_create_read_and_retry_by_reference(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    data = body()
    created = await api.post("/cohorts", data)
    assert created.status_code == 201, created.text
    cohort = created.json()
    assert (
        cohort["status"] == "draft" and cohort["enrolled"] == 0 and cohort["reference"] == data["reference"]
    )
    assert cohort["institution_id"] == str(api.actor.institution.id)  # type: ignore[union-attr]
    assert cohort["occupation_code"] == OCCUPATION and cohort["training_mode"] == "order_based"
    again = await api.post("/cohorts", data)
    assert again.status_code == 200 and again.json()["id"] == cohort["id"]
    other = problem(await api.post("/cohorts", {**data, "capacity": 25}), 409, "duplicate_reference")
    assert [e["field"] for e in other["errors"]] == ["capacity"]
    read = await api.get(f"/cohorts/{cohort['id']}")
    assert read.status_code == 200 and read.json() == again.json()
    events = await AuditEvent.filter(entity_type="cohort", entity_id=cohort["id"])
    assert [e.action for e in events] == ["cohort.create"]
    # Idempotency-Key: the stored answer is replayed.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    fresh = body()
    first = await api.post("/cohorts", fresh, headers=key)
    second = await api.post("/cohorts", fresh, headers=key)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second.headers.get("idempotent-replay") == "true"


async def test_startup_cohort(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    data = body(kind="startup", startup_course="SYB", planned_hours=56)
    for key in ("occupation_code", "certificate_kind", "certificate_level"):
        data.pop(key)
    created = await api.post("/cohorts", data)
    assert created.status_code == 201, created.text
    assert created.json()["certificate_kind"] == "startup" and created.json()["occupation_code"] is None


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"reference": ""}, "reference"),
    ({"reference": "R" * 65}, "reference"),
    ({"reference": 12}, "reference"),
    ({"name": "n" * 201}, "name"),
    ({"kind": "evening"}, "kind"),
    ({"occupation_code": None}, "occupation_code"),
    ({"occupation_code": "6-30"}, "occupation_code"),
    ({"occupation_code": "9-99-99-99"}, "occupation_code"),
    ({"occupation_code": GROUP}, "occupation_code"),
    ({"certificate_kind": "diploma"}, "certificate_kind"),
    ({"certificate_kind": None}, "certificate_kind"),
    ({"certificate_kind": "startup"}, "certificate_kind"),
    ({"certificate_level": 0}, "certificate_level"),
    ({"certificate_level": 6}, "certificate_level"),
    ({"certificate_level": None}, "certificate_level"),
    ({"certificate_level": "three"}, "certificate_level"),
    ({"startup_course": "SYB"}, "startup_course"),
    ({"startup_course": "MBA"}, "startup_course"),
    ({"training_mode": "remote"}, "training_mode"),
    ({"delivery": "postal"}, "delivery"),
    ({"division_code": "110101"}, "division_code"),
    ({"division_code": ""}, "division_code"),
    ({"division_code": "4103050000000000000"}, "division_code"),
    ({"planned_hours": 0}, "planned_hours"),
    ({"planned_hours": 2001}, "planned_hours"),
    ({"planned_hours": 8.5}, "planned_hours"),
    ({"start_date": "2025-13-01"}, "start_date"),
    ({"start_date": "1999-01-01", "end_date": "1999-02-01"}, "start_date"),
    ({"end_date": "yesterday"}, "end_date"),
    ({"end_date": (TODAY - dt.timedelta(days=30)).isoformat()}, "end_date"),
    ({"end_date": (TODAY + dt.timedelta(days=500)).isoformat()}, "end_date"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": 501}, "capacity"),
    ({"capacity": -3}, "capacity"),
    ({"institution_id": "not-a-uuid"}, "institution_id"),
    ({"colour": "red"}, "colour"),
]


async def test_every_field_refuses_bad_values(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    for overrides, field in BAD_FIELDS:
        data = problem(await api.post("/cohorts", body(**overrides)), 422)
        assert any(field in e["field"] for e in data["errors"]), (overrides, data)
    missing = body()
    del missing["planned_hours"]
    assert any(
        e["field"] == "planned_hours" for e in problem(await api.post("/cohorts", missing), 422)["errors"]
    )
    other = await new_institution()
    assert problem(await api.post("/cohorts", body(institution_id=str(other.id))), 422)["errors"][0][
        "field"
    ] == ("institution_id")
    assert await Cohort.filter(institution_id=api.actor.institution.id).count() == 0  # type: ignore[union-attr]


async def test_who_may_create(client: httpx.AsyncClient, sign_in: Make) -> None:
    for role in ("auditor", "assessor"):
        actor = await sign_in(role)
        problem(
            await client.post("/api/v1/cohorts", json=body(), headers=actor.headers), 403, "permission_denied"
        )
    admin = await sign_in("admin")
    inst = await new_institution()
    created = await client.post(
        "/api/v1/cohorts", json=body(institution_id=str(inst.id)), headers=admin.headers
    )
    assert created.status_code == 201 and created.json()["institution_id"] == str(inst.id)
    problem(await client.post("/api/v1/cohorts", json=body()), 401)


# --- workflow --------------------------------------------------------------------------------


async def test_workflow_and_frozen_closed_cohort(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    draft = await api.cohort(open_it=False)
    problem(await api.post(f"/cohorts/{draft['id']}/close"), 409, "cohort_not_running")
    problem(await api.post(f"/cohorts/{draft['id']}/enrolments", item()), 409, "cohort_not_open")
    future = await api.cohort()
    assert future["status"] == "open"
    problem(await api.post(f"/cohorts/{future['id']}/open"), 409, "cohort_not_draft")
    problem(await api.post(f"/cohorts/{future['id']}/close"), 409, "cohort_not_running")

    running = await api.cohort(running=True)
    assert running["status"] == "running"
    problem(await api.patch(f"/cohorts/{running['id']}", {"capacity": 10}), 409, "cohort_running")
    enrolled = await api.post(f"/cohorts/{running['id']}/enrolments", [item(), item()])
    assert enrolled.status_code == 201, enrolled.text
    first, second = enrolled.json()
    closing = problem(await api.post(f"/cohorts/{running['id']}/close"), 409, "outcomes_missing")
    assert closing["detail"].startswith("2 of 2")
    assert (
        await api.patch(f"/enrolments/{first['id']}", {"attended_hours": 80, "outcome": "completed"})
    ).status_code == 200
    assert (await api.patch(f"/enrolments/{second['id']}", {"outcome": "withdrawn"})).status_code == 200
    closed = await api.post(f"/cohorts/{running['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]

    cid = running["id"]
    for response in (
        await api.patch(f"/cohorts/{cid}", {"name": "x"}),
        await api.post(f"/cohorts/{cid}/open"),
        await api.post(f"/cohorts/{cid}/close"),
        await api.post(f"/cohorts/{cid}/cancel"),
        await api.post(f"/cohorts/{cid}/enrolments", item()),
        await api.patch(f"/enrolments/{first['id']}", {"attended_hours": 10}),
    ):
        problem(response, 409, "cohort_closed")
    assert (await api.get(f"/cohorts/{cid}/enrolments")).json()["total"] == 2

    cancelled = await api.post(f"/cohorts/{future['id']}/cancel", json={"reason": "too few sign-ups"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    problem(await api.post(f"/cohorts/{future['id']}/cancel"), 409, "cohort_cancelled")
    problem(await api.post(f"/cohorts/{future['id']}/enrolments", item()), 409, "cohort_cancelled")
    problem(await api.post(f"/cohorts/{future['id']}/cancel", json={"reason": "r" * 501}), 422)
    actions = [e.action for e in await AuditEvent.filter(entity_type="cohort", entity_id=cid).order_by("id")]
    assert actions == ["cohort.create", "cohort.open", "cohort.start", "enrolment.create", "cohort.close"]


async def test_patch_cohort(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    cohort = await api.cohort(open_it=False)
    changed = await api.patch(f"/cohorts/{cohort['id']}", {"capacity": 12, "delivery": "blended"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["capacity"] == 12 and changed.json()["delivery"] == "blended"
    assert changed.json()["reference"] == cohort["reference"]
    for payload, field in [
        ({"capacity": 0}, "capacity"),
        ({"capacity": "ten"}, "capacity"),
        ({"reference": None}, "reference"),
        ({"certificate_level": None}, "certificate_level"),
        ({"end_date": "2020-01-01"}, "end_date"),
        ({"kind": "evening"}, "kind"),
        ({"occupation_code": "1-2"}, "occupation_code"),
        ({"colour": "red"}, "colour"),
        ({"division_code": "110101"}, "division_code"),
    ]:
        data = problem(await api.patch(f"/cohorts/{cohort['id']}", payload), 422)
        assert any(field in e["field"] for e in data["errors"]), (payload, data)
    assert (await api.get(f"/cohorts/{cohort['id']}")).json()["capacity"] == 12


async def test_list_filters_and_pagination(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    draft = await api.cohort(open_it=False, division_code="410302")
    running = await api.cohort(running=True)
    future = await api.cohort()

    async def ids(query: str = "") -> set[str]:
        response = await api.get(f"/cohorts?limit=500&{query}")
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert await ids() == {draft["id"], running["id"], future["id"]}
    assert await ids("status=running") == {running["id"]}
    assert await ids("status=open") == {future["id"]}
    assert await ids("status=draft") == {draft["id"]}
    assert await ids("division=410302") == {draft["id"]}
    assert await ids("kind=startup") == set()
    assert await ids(f"year={TODAY.year - 20}") == set()
    page = (await api.get("/cohorts?limit=2&offset=0")).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    for query in (
        "limit=501",
        "limit=0",
        "offset=-1",
        "limit=abc",
        "status=sleeping",
        "kind=evening",
        "year=1850",
    ):
        problem(await api.get(f"/cohorts?{query}"), 422)


# --- enrolments ------------------------------------------------------------------------------


async def test_enrol_one_or_a_list(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    cohort = await api.cohort(running=True, capacity=4)
    number = new_number()
    one = await api.post(
        f"/cohorts/{cohort['id']}/enrolments",
        item(number, "王小明", phone="13912345678", groups=["graduate"], household_division="410305"),
    )
    assert one.status_code == 201, one.text
    enrolment = one.json()
    assert enrolment["id_masked"] == number[:6] + "********" + number[-4:] and enrolment["groups"] == [
        "graduate"
    ]
    assert enrolment["phone_masked"] == "139****5678" and number not in one.text
    listed = await api.post(f"/cohorts/{cohort['id']}/enrolments", [item(), item()])
    assert listed.status_code == 201 and len(listed.json()) == 2
    page = await api.get(f"/cohorts/{cohort['id']}/enrolments")
    assert page.status_code == 200 and page.json()["total"] == 3 and number not in page.text
    assert (await api.get(f"/cohorts/{cohort['id']}")).json()["enrolled"] == 3
    # Duplicate person: 409, nothing enrolled.
    duplicate = problem(
        await api.post(f"/cohorts/{cohort['id']}/enrolments", [item(), item(number, "王小明")]),
        409,
        "already_enrolled",
    )
    assert duplicate["errors"][0]["field"] == "items[1].id_number" and number not in str(duplicate)
    # Capacity: one place left.
    problem(await api.post(f"/cohorts/{cohort['id']}/enrolments", [item(), item()]), 409, "capacity_exceeded")
    assert await Enrolment.filter(cohort_id=cohort["id"]).count() == 3
    # Idempotency-Key on a list.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    last = [item()]
    first = await api.post(f"/cohorts/{cohort['id']}/enrolments", last, headers=key)
    replay = await api.post(f"/cohorts/{cohort['id']}/enrolments", last, headers=key)
    assert first.status_code == replay.status_code == 201 and first.json() == replay.json()
    assert await Enrolment.filter(cohort_id=cohort["id"]).count() == 4
    problem(await api.get(f"/cohorts/{cohort['id']}/enrolments?limit=501"), 422)
    problem(await api.get(f"/cohorts/{cohort['id']}/enrolments?outcome=graduated"), 422)


async def test_bad_items_are_all_reported_and_numbers_never_echoed(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    api = await owner(client, sign_in)
    cohort = await api.cohort(running=True)
    good = new_number()
    bad_check = good[:-1] + ("1" if good[-1] != "1" else "2")
    short = good[:17]
    first_generation = good[:6] + good[8:17]
    payload = [
        item(good),
        item(bad_check),
        item(short),
        item(first_generation),
        item(good.replace("1", "A", 1)),
        item(new_number(), name="1234"),
        item(new_number(), name=""),
        item(new_number(), phone="0379-6512345"),
        item(new_number(), phone="12345"),
        item(new_number(), household_division="110101"),
        item(new_number(), groups=["rich"]),
        item(good),
    ]
    response = await api.post(f"/cohorts/{cohort['id']}/enrolments", payload)
    data = problem(response, 422, "validation_failed")
    assert {(e["field"], e["code"]) for e in data["errors"]} == {
        ("items[1].id_number", "id_checksum"),
        ("items[2].id_number", "id_length"),
        ("items[3].id_number", "id_first_generation"),
        ("items[4].id_number", "id_format"),
        ("items[5].name", "name_digits"),
        ("items[6].name", "name_required"),
        ("items[7].phone", "phone_not_mobile"),
        ("items[8].phone", "phone_format"),
        ("items[9].household_division", "unknown_division"),
        ("items[10].groups", "invalid_choice"),
        ("items[11].id_number", "duplicate_in_request"),
    }
    for number in (good, bad_check, short, first_generation):
        assert number not in response.text
    assert await Enrolment.filter(cohort_id=cohort["id"]).count() == 0
    single = problem(await api.post(f"/cohorts/{cohort['id']}/enrolments", item(bad_check)), 422)
    assert single["errors"][0]["field"] == "id_number" and bad_check not in str(single)
    for payload_ in (
        [],
        {"id_number": good},
        [{"id_number": 410305, "name": "张三"}],
        {**item(), "extra": 1},
        [item()] * 501,
        "text",
        {**item(), "groups": ["veteran"] * 9},
    ):
        response = await api.post(f"/cohorts/{cohort['id']}/enrolments", payload_)
        problem(response, 422)
        assert good not in response.text
    # A name that differs from the registered one.
    await api.post(f"/cohorts/{cohort['id']}/enrolments", item(good, "赵六"))
    other = await api.cohort(running=True)
    mismatch = problem(await api.post(f"/cohorts/{other['id']}/enrolments", item(good, "赵七")), 422)
    assert mismatch["errors"][0]["code"] == "name_mismatch" and good not in str(mismatch)


async def test_patch_enrolment(client: httpx.AsyncClient, sign_in: Make) -> None:
    api = await owner(client, sign_in)
    cohort = await api.cohort(running=True)  # 80 planned hours
    enrolment = (await api.post(f"/cohorts/{cohort['id']}/enrolments", item())).json()
    path = f"/enrolments/{enrolment['id']}"
    ok = await api.patch(path, {"attended_hours": 64.5})
    assert (
        ok.status_code == 200
        and ok.json()["attended_hours"] == 64.5
        and ok.json()["outcome"] == "in_progress"
    )
    for payload, field in [
        ({"attended_hours": -1}, "attended_hours"),
        ({"attended_hours": 120.5}, "attended_hours"),
        ({"attended_hours": 1.25}, "attended_hours"),
        ({"attended_hours": "lots"}, "attended_hours"),
        ({"outcome": "graduated"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"trainee_id": str(uuid.uuid4())}, "trainee_id"),
    ]:
        data = problem(await api.patch(path, payload), 422)
        assert any(field in e["field"] for e in data["errors"]), (payload, data)
    problem(await api.patch(f"/enrolments/{uuid.uuid4()}", {"outcome": "completed"}), 404)
    future = await api.cohort()
    early = (await api.post(f"/cohorts/{future['id']}/enrolments", item())).json()
    problem(
        await api.patch(f"/enrolments/{early['id']}", {"outcome": "completed"}), 409, "cohort_not_started"
    )
    assert (await api.patch(f"/enrolments/{early['id']}", {"outcome": "withdrawn"})).status_code == 200


# --- tenancy ---------------------------------------------------------------------------------


async def test_tenancy_on_every_endpoint(client: httpx.AsyncClient, sign_in: Make) -> None:
    mine = await owner(client, sign_in, "410323")
    cohort = await mine.cohort(running=True, division_code="410323")
    enrolment = (await mine.post(f"/cohorts/{cohort['id']}/enrolments", item())).json()
    draft = await mine.cohort(open_it=False, division_code="410323")
    cid = cohort["id"]

    stranger = await owner(client, sign_in)
    county_elsewhere = Api(client, await sign_in("auditor", division="410305"))
    assessor = Api(client, await sign_in("assessor"))
    for api in (stranger, county_elsewhere, assessor):
        for response in (
            await api.get(f"/cohorts/{cid}"),
            await api.patch(f"/cohorts/{draft['id']}", {"capacity": 3}),
            await api.post(f"/cohorts/{draft['id']}/open"),
            await api.post(f"/cohorts/{cid}/close"),
            await api.post(f"/cohorts/{cid}/cancel"),
            await api.post(f"/cohorts/{cid}/enrolments", item()),
            await api.post(f"/cohorts/{cid}/enrolments", [item("123")]),
            await api.get(f"/cohorts/{cid}/enrolments"),
            await api.patch(f"/enrolments/{enrolment['id']}", {"attended_hours": 3}),
        ):
            problem(response, 404, "not_found")
        listed = (await api.get("/cohorts?limit=500")).json()
        assert cid not in {c["id"] for c in listed["items"]}
    assert (await assessor.get("/cohorts")).json()["total"] == 0

    county = Api(client, await sign_in("auditor", division="410323"))
    city = Api(client, await sign_in("auditor"))
    for api in (county, city):
        assert (await api.get(f"/cohorts/{cid}")).status_code == 200
        assert (await api.get(f"/cohorts/{cid}/enrolments")).json()["total"] == 1
        for response in (
            await api.patch(f"/cohorts/{draft['id']}", {"capacity": 3}),
            await api.post(f"/cohorts/{draft['id']}/open"),
            await api.post(f"/cohorts/{cid}/close"),
            await api.post(f"/cohorts/{cid}/cancel"),
            await api.post(f"/cohorts/{cid}/enrolments", item()),
            await api.patch(f"/enrolments/{enrolment['id']}", {"attended_hours": 3}),
        ):
            problem(response, 403, "permission_denied")
    county_list = (await county.get("/cohorts?limit=500")).json()
    assert {c["division_code"] for c in county_list["items"]} == {"410323"}
    assert await Enrolment.filter(cohort_id=cid).count() == 1
    assert (await mine.get(f"/cohorts/{draft['id']}")).json()["status"] == "draft"


# --- household divisions as people write them ----------------------------------------------

HOUSEHOLD_AS_WRITTEN = {
    "偃师市": "410307",
    "410381": "410307",
    "孟津县": "410308",
    "410322": "410308",
    "吉利区": "410308",
    "410306": "410308",
    "瀍河区": "410304",
    "瀍河": "410304",
    "高新区": "410371",
    "河南省洛阳市偃师市": "410307",
    "涧西区": "410305",
    "410305": "410305",
}


async def test_household_division_accepts_retired_and_short_names_and_keeps_what_was_written(
    client: httpx.AsyncClient, sign_in: Make, catalogue: None
) -> None:
    api = await owner(client, sign_in)
    cohort = await api.cohort(running=True, capacity=len(HOUSEHOLD_AS_WRITTEN))
    written = list(HOUSEHOLD_AS_WRITTEN)
    created = await api.post(
        f"/cohorts/{cohort['id']}/enrolments", [item(household_division=text) for text in written]
    )
    assert created.status_code == 201, created.text
    assert [e["household_division"] for e in created.json()] == list(HOUSEHOLD_AS_WRITTEN.values())
    assert [e["household_as_written"] for e in created.json()] == written
    stored = {
        str(e.id): (e.household_division_id, e.household_as_written)  # type: ignore[attr-defined]
        for e in await Enrolment.filter(cohort_id=cohort["id"])
    }
    assert sorted(stored.values()) == sorted((code, text) for text, code in HOUSEHOLD_AS_WRITTEN.items())
    bad = problem(
        await api.post(f"/cohorts/{cohort['id']}/enrolments", item(household_division="火星")),
        422,
        "validation_failed",
    )
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [("household_division", "unknown_division")]


# --- a caller learns nothing about people it never enrolled ---------------------------------


def _shape(response: httpx.Response) -> tuple[int, tuple[str, ...]]:
    data = response.json()
    return response.status_code, tuple(sorted(data if isinstance(data, dict) else data[0]))


async def test_a_wrong_name_answers_like_a_right_one_for_a_person_the_caller_never_enrolled(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    a = await owner(client, sign_in)
    b = await owner(client, sign_in)
    number = new_number()
    a_cohort = await a.cohort(running=True)
    assert (await a.post(f"/cohorts/{a_cohort['id']}/enrolments", item(number, "王小明"))).status_code == 201

    # A wrong name, an unknown number (B) and the right name (C) all answer alike, and enrol.
    answers = []
    for who, name in ((number, "王小红"), (new_number(), "王小红")):
        cohort = await b.cohort(running=True)
        answers.append(await b.post(f"/cohorts/{cohort['id']}/enrolments", item(who, name)))
    c = await owner(client, sign_in)  # another institution that never enrolled the person
    right_cohort = await c.cohort(running=True)
    answers.append(await c.post(f"/cohorts/{right_cohort['id']}/enrolments", item(number, "王小明")))
    assert {_shape(r) for r in answers} == {_shape(answers[0])} and answers[0].status_code == 201
    wrong = answers[0].json()
    assert wrong["name"] == "王小红" and "review_flags" not in wrong and "registered_name" not in wrong
    assert "王小明" not in answers[0].text

    # The person keeps the registered name; B's enrolment keeps the name as given, flagged.
    enrolment = await Enrolment.get(id=wrong["id"]).prefetch_related("trainee")
    assert enrolment.trainee.name == "王小明"
    assert (enrolment.name_as_given, enrolment.review_flags) == ("王小红", ["name_differs"])  # type: ignore[attr-defined]
    # B's views show what B said and no flag; an auditor sees the flag and the registered name.
    b_list = (await b.get(f"/cohorts/{wrong['cohort_id']}/enrolments")).json()["items"]
    assert [(e["name"], "review_flags" in e) for e in b_list] == [("王小红", False)]
    assert (await b.get(f"/trainees/{wrong['trainee_id']}")).json()["name"] == "王小红"
    city = Api(client, await sign_in("auditor"))
    audited = (await city.get(f"/cohorts/{wrong['cohort_id']}/enrolments")).json()["items"]
    assert [(e["name"], e["registered_name"], e["review_flags"]) for e in audited] == [
        ("王小红", "王小明", ["name_differs"])
    ]
    person = (await city.get(f"/trainees/{wrong['trainee_id']}")).json()
    assert person["name"] == "王小明" and person["review_flags"] == ["name_differs"]

    # Once B has enrolled the person, B may be told the name differs.
    again = await b.cohort(running=True)
    told = problem(
        await b.post(f"/cohorts/{again['id']}/enrolments", item(number, "王大红")), 422, "validation_failed"
    )
    assert [(e["field"], e["code"]) for e in told["errors"]] == [("name", "name_mismatch")]


async def test_a_full_cohort_answers_capacity_whoever_the_people_are(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    a = await owner(client, sign_in)
    b = await owner(client, sign_in)
    number = new_number()
    a_cohort = await a.cohort(running=True)
    assert (await a.post(f"/cohorts/{a_cohort['id']}/enrolments", item(number, "王小明"))).status_code == 201
    full = await b.cohort(running=True, capacity=1)
    assert (await b.post(f"/cohorts/{full['id']}/enrolments", item())).status_code == 201
    for who, name in ((number, "王小红"), (number, "王小明"), (new_number(), "王小红")):
        problem(await b.post(f"/cohorts/{full['id']}/enrolments", item(who, name)), 409, "capacity_exceeded")
