from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment, Trainee
from tests.api.support import ELECTRICIAN, GROUP, URL, WELDER, Actor, id_number, issue
from tests.api.support import certificate_body as body
from tests.api.support import certificate_number as new_number
from tests.factories import new_institution

Make = Callable[..., Awaitable[Actor]]


async def cohort_with(
    institution: Institution,
    trainee_ids: list[uuid.UUID],
    division: str = "410305",
    occupation: str | None = ELECTRICIAN,
) -> Cohort:
    c = await Cohort.create(
        institution=institution,
        reference=uuid.uuid4().hex[:12],
        kind="vocational",
        occupation_id=occupation,
        division_id=division,
        planned_hours=80,
        start_date=dt.date(2025, 3, 1),
        end_date=dt.date(2025, 4, 30),
        capacity=50,
        status="closed",
    )
    for t in trainee_ids:
        await Enrolment.create(cohort_id=c.id, trainee_id=t, outcome="completed")
    return c


# --- issuing -----------------------------------------------------------------------------


async def test_an_assessor_issues_a_certificate(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    raw = id_number()
    data = body(id_number=raw, name="欧阳娜娜", level=3, direct_recognition=True)
    response = await client.post(URL, json=data, headers=assessor.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["number"] == data["number"] and created["status"] == "valid"
    assert (
        created["holder_name"] == "欧***" and created["holder_id_masked"] == raw[:6] + "********" + raw[-4:]
    )
    assert created["occupation_name"] == "电工" and created["level_label"] == "三级/高级工"
    assert created["issuer_id"] == str(assessor.institution.id) and created["direct_recognition"] is True  # type: ignore[union-attr]
    assert raw not in response.text and "欧阳娜娜" not in response.text
    events = await AuditEvent.filter(entity_type="certificate", entity_id=created["id"])
    assert [e.action for e in events] == ["certificate.issue"]
    assert events[0].actor == f"user:{assessor.user_id}" and raw not in str(events[0].after)
    read = await client.get(f"{URL}/{data['number']}", headers=assessor.headers)
    assert read.status_code == 200 and read.json() == created


async def test_an_existing_trainee_by_id(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    first = await issue(client, assessor, name="李四")
    second = await issue(
        client,
        assessor,
        id_number=...,
        name=...,
        trainee_id=first["trainee_id"],
        kind="special_operation",
        level=None,
        is_renewal=True,
    )
    assert second["trainee_id"] == first["trainee_id"] and second["is_renewal"] is True


async def test_every_bad_field_is_a_422_naming_it(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    registered = await issue(client, assessor, name="赵六")
    holder = await Trainee.get(id=registered["trainee_id"])
    from registry.core.crypto import vault_from_settings

    vault = vault_from_settings(client._transport.app.state.settings)  # type: ignore[attr-defined]
    raw_registered = vault.decrypt(holder.id_cipher, context="id_number")
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    bad_id = "410302199001011234"
    cases: list[tuple[dict[str, Any], str]] = [
        (body(number=...), "number"),
        (body(number=""), "number"),
        (body(number="LY 001"), "number"),
        (body(number="证书001"), "number"),
        (body(number="X" * 65), "number"),
        (body(number=123), "number"),
        (body(kind=...), "kind"),
        (body(kind="diploma"), "kind"),
        (body(level=None), "level"),
        (body(level=0), "level"),
        (body(level=6), "level"),
        (body(level="four"), "level"),
        (body(kind="special_ability", level=2), "level"),
        (body(occupation_code=...), "occupation_code"),
        (body(occupation_code="9-99-99-99"), "occupation_code"),
        (body(occupation_code=GROUP), "occupation_code"),
        (body(occupation_code="electrician"), "occupation_code"),
        (body(occupation_code="6-31-01-03-000000000"), "occupation_code"),
        (body(kind="startup", level=None), "occupation_code"),
        (body(issue_date=...), "issue_date"),
        (body(issue_date=tomorrow), "issue_date"),
        (body(issue_date="1999-12-31"), "issue_date"),
        (body(issue_date="2025-13-01"), "issue_date"),
        (body(issue_date="01/06/2025"), "issue_date"),
        (body(is_renewal=True), "is_renewal"),
        (body(is_renewal="yes"), "is_renewal"),
        (body(direct_recognition="yes"), "direct_recognition"),
        (body(cohort_id=str(uuid.uuid4())), "holder"),
        (body(cohort_id="not-a-uuid"), "cohort_id"),
        (body(id_number=..., name=...), "trainee_id"),
        (body(id_number=..., name=..., trainee_id=str(uuid.uuid4())), "holder"),
        (body(id_number=..., name=..., trainee_id="42"), "trainee_id"),
        (body(trainee_id=registered["trainee_id"]), "trainee_id"),  # both forms at once
        (body(id_number=bad_id), "id_number"),
        (body(id_number="12345"), "id_number"),
        (body(id_number=410302199001011234), "id_number"),
        (body(name=...), "name"),
        (body(name="张3"), "name"),
        (body(name="X"), "name"),
        (body(name="长" * 101), "name"),
        (body(id_number=raw_registered, name="赵七"), "holder"),  # registered under another name
        (body(extra="x"), "extra"),
    ]
    before = await Certificate.all().count()
    for payload, field in cases:
        response = await client.post(URL, json=payload, headers=assessor.headers)
        assert response.status_code == 422, (payload, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert any(field in e["field"] for e in problem["errors"]), (payload, problem)
        assert bad_id not in response.text and raw_registered not in response.text
    malformed = await client.post(
        URL, content=b"{not json", headers={**assessor.headers, "content-type": "application/json"}
    )
    assert malformed.status_code in (400, 422)
    assert await Certificate.all().count() == before


async def test_a_cohort_link(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    provider = await new_institution(kinds=["training"])
    first = await issue(client, assessor, name="周一")
    welders = await cohort_with(provider, [first["trainee_id"]], occupation=WELDER)
    linked = await issue(
        client,
        assessor,
        id_number=...,
        name=...,
        trainee_id=first["trainee_id"],
        cohort_id=str(welders.id),
        occupation_code=WELDER,
    )
    assert linked["cohort_id"] == str(welders.id)
    wrong = await client.post(
        URL,
        json=body(id_number=..., name=..., trainee_id=first["trainee_id"], cohort_id=str(welders.id)),
        headers=assessor.headers,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["code"] == "cohort_occupation"
    stranger = await client.post(
        URL, json=body(cohort_id=str(welders.id), occupation_code=WELDER), headers=assessor.headers
    )
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["code"] == "holder_not_found"


async def test_every_miss_on_the_holder_answers_the_same_and_reveals_nobody(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    """Defect 4: an assessor certifies only people it can reach (a trainee it certified
    before, or a person by ID number and name; in a cohort, a person enrolled in it). Every
    miss is one and the same answer, byte for byte, and certifies nobody."""
    a = await sign_in("assessor")
    b = await sign_in("assessor", institution=await new_institution("410302", kinds=["assessment"]))
    provider = await new_institution("410323", kinds=["training"])
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    from registry.core.crypto import vault_from_settings

    vault = vault_from_settings(settings)
    # a's person (b has never certified them), enrolled in a cohort of another institution
    theirs = await issue(client, a, name="欧阳娜娜")
    raw_theirs = vault.decrypt((await Trainee.get(id=theirs["trainee_id"])).id_cipher, context="id_number")
    their_cohort = await cohort_with(provider, [theirs["trainee_id"]], division="410323")
    # b's own person, not enrolled in that cohort
    mine = await issue(client, b, name="李小红")
    mine_raw = vault.decrypt((await Trainee.get(id=mine["trainee_id"])).id_cipher, context="id_number")
    empty_cohort = await cohort_with(provider, [], division="410323")

    async def their_person_seen_by_b() -> int:
        return (await client.get(f"/api/v1/trainees/{theirs['trainee_id']}", headers=b.headers)).status_code

    assert await their_person_seen_by_b() == 404
    number = new_number()
    holder_free = {"number": number, "id_number": ..., "name": ...}
    misses: dict[str, dict[str, Any]] = {
        "another body's trainee by id": body(**holder_free, trainee_id=theirs["trainee_id"]),
        "another body's trainee by id, right name": body(
            **{**holder_free, "name": "欧阳娜娜"}, trainee_id=theirs["trainee_id"]
        ),
        "another body's trainee by id, in their cohort": body(
            **holder_free, trainee_id=theirs["trainee_id"], cohort_id=str(their_cohort.id)
        ),
        "an unknown trainee id": body(**holder_free, trainee_id=str(uuid.uuid4())),
        "an unknown trainee id, guessed name": body(
            **{**holder_free, "name": "王小明"}, trainee_id=str(uuid.uuid4())
        ),
        "own trainee, wrong name": body(**{**holder_free, "name": "赵七"}, trainee_id=mine["trainee_id"]),
        "a registered ID number, wrong name": body(number=number, id_number=raw_theirs, name="赵七"),
        "own trainee, unknown cohort": body(
            **holder_free, trainee_id=mine["trainee_id"], cohort_id=str(uuid.uuid4())
        ),
        "own trainee, another institution's cohort": body(
            **holder_free, trainee_id=mine["trainee_id"], cohort_id=str(their_cohort.id)
        ),
        "own person by ID number, a cohort they are not in": body(
            number=number, id_number=mine_raw, name="李小红", cohort_id=str(empty_cohort.id)
        ),
        "a new person, a cohort": body(number=number, name="周一", cohort_id=str(their_cohort.id)),
    }
    answers: dict[str, httpx.Response] = {}
    for what, payload in misses.items():
        answers[what] = await client.post(URL, json=payload, headers=b.headers)
    first = next(iter(answers.values()))
    assert first.status_code == 422, first.text
    problem = first.json()
    assert [e["code"] for e in problem["errors"]] == ["holder_not_found"], problem
    for what, answer in answers.items():
        assert (answer.status_code, answer.headers["content-type"], answer.content) == (
            first.status_code,
            first.headers["content-type"],
            first.content,
        ), what
    assert (
        raw_theirs not in first.text and "欧阳" not in first.text and theirs["trainee_id"] not in first.text
    )
    assert not await Certificate.filter(number=number).exists()
    assert await their_person_seen_by_b() == 404

    # What b may do: certify its own person in a cohort they are enrolled in, and a person
    # it reaches by ID number and name (who it then sees, as the issuer).
    await Enrolment.create(cohort_id=empty_cohort.id, trainee_id=mine["trainee_id"], outcome="completed")
    linked = await issue(
        client, b, id_number=..., name=..., trainee_id=mine["trainee_id"], cohort_id=str(empty_cohort.id)
    )
    assert linked["cohort_id"] == str(empty_cohort.id)
    by_number = await issue(client, b, id_number=raw_theirs, name="欧阳娜娜", cohort_id=str(their_cohort.id))
    assert by_number["trainee_id"] == theirs["trainee_id"]
    assert await their_person_seen_by_b() == 200


async def test_a_duplicate_number_is_a_409(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor, other = await sign_in("assessor"), await sign_in("assessor")
    data = body()
    assert (await client.post(URL, json=data, headers=assessor.headers)).status_code == 201
    again = await client.post(URL, json=body(number=data["number"]), headers=other.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_certificate" and again.json()["errors"][0]["field"] == "number"


async def test_idempotency_key(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    data = body()
    first = await client.post(URL, json=data, headers={**assessor.headers, **key})
    second = await client.post(URL, json=data, headers={**assessor.headers, **key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers.get("idempotent-replay") == "true"
    assert await Certificate.filter(number=data["number"]).count() == 1
    other = await client.post(URL, json=body(), headers={**assessor.headers, **key})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


async def test_who_may_issue(client: httpx.AsyncClient, sign_in: Make) -> None:
    suspended_body = await new_institution(kinds=["assessment"])
    await Institution.filter(id=suspended_body.id).update(status="suspended")
    refused = [
        await sign_in("admin"),
        await sign_in("auditor"),
        await sign_in("auditor", division="410305"),
        await sign_in("institution"),
        await sign_in("assessor", institution=suspended_body),
    ]
    for actor in refused:
        response = await client.post(URL, json=body(), headers=actor.headers)
        assert response.status_code == 403, (actor.username, response.text)
    assert (await client.post(URL, json=body())).status_code == 401


# --- reading -----------------------------------------------------------------------------


async def test_reads_and_lists_are_scoped(client: httpx.AsyncClient, sign_in: Make) -> None:
    a = await sign_in("assessor")  # 涧西区 410305
    b = await sign_in("assessor", institution=await new_institution("410302", kinds=["assessment"]))
    provider = await new_institution("410323", kinds=["training"])
    institution = await sign_in("institution", institution=provider)
    other_institution = await sign_in("institution")
    mine = await issue(client, a, name="卫五")
    holder = await issue(client, b, name="蒋六")
    xinan = await cohort_with(provider, [holder["trainee_id"]], division="410323")
    linked = await issue(
        client, b, id_number=..., name=..., trainee_id=holder["trainee_id"], cohort_id=str(xinan.id)
    )

    async def status_of(actor: Actor, number: str) -> int:
        return (await client.get(f"{URL}/{number}", headers=actor.headers)).status_code

    assert await status_of(a, mine["number"]) == 200
    assert await status_of(b, mine["number"]) == 404
    assert await status_of(a, "NO-SUCH-" + uuid.uuid4().hex) == 404
    assert await status_of(institution, linked["number"]) == 200
    assert await status_of(institution, mine["number"]) == 404
    assert await status_of(other_institution, linked["number"]) == 404
    jianxi = await sign_in("auditor", division="410305")
    county = await sign_in("auditor", division="410323")
    city = await sign_in("auditor")
    assert await status_of(jianxi, mine["number"]) == 200
    assert await status_of(jianxi, linked["number"]) == 404
    assert await status_of(county, linked["number"]) == 200
    assert await status_of(county, mine["number"]) == 404
    assert await status_of(city, mine["number"]) == 200 and await status_of(city, linked["number"]) == 200

    async def numbers(actor: Actor, **params: Any) -> set[str]:
        response = await client.get(URL, params={"limit": 500, **params}, headers=actor.headers)
        assert response.status_code == 200, response.text
        return {c["number"] for c in response.json()["items"]}

    assert mine["number"] in await numbers(a) and linked["number"] not in await numbers(a)
    assert await numbers(institution) == {linked["number"]}
    county_sees = await numbers(county)
    assert linked["number"] in county_sees and mine["number"] not in county_sees
    assert (await client.get(URL)).status_code == 401


async def test_list_filters_and_pages(client: httpx.AsyncClient, sign_in: Make) -> None:
    a = await sign_in("assessor")
    issued = [await issue(client, a, issue_date=f"2025-05-0{d}") for d in (1, 2, 3)]
    await issue(client, a, kind="completion", level=None, occupation_code=...)
    page = await client.get(URL, params={"limit": 2, "offset": 1}, headers=a.headers)
    assert page.status_code == 200
    got = page.json()
    assert got["total"] == 4 and got["limit"] == 2 and got["offset"] == 1 and len(got["items"]) == 2
    filtered = await client.get(
        URL,
        params={"kind": "skill_level", "issued_from": "2025-05-02", "issued_to": "2025-05-03"},
        headers=a.headers,
    )
    assert [c["number"] for c in filtered.json()["items"]] == [issued[2]["number"], issued[1]["number"]]
    by_occupation = await client.get(
        URL, params={"occupation_code": ELECTRICIAN, "status": "valid"}, headers=a.headers
    )
    assert by_occupation.json()["total"] == 3
    bad: list[tuple[dict[str, str | int], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"kind": "diploma"}, "kind"),
        ({"status": "lost"}, "status"),
        ({"issued_from": "yesterday"}, "issued_from"),
        ({"issuer_id": "x"}, "issuer_id"),
        ({"cohort_id": "x"}, "cohort_id"),
        ({"trainee_id": "x"}, "trainee_id"),
        ({"occupation_code": "x" * 17}, "occupation_code"),
        ({"issued_from": "2025-02-01", "issued_to": "2025-01-01"}, "issued_from"),
    ]
    for params, field in bad:
        response = await client.get(URL, params=params, headers=a.headers)
        assert response.status_code in (400, 422), (params, response.text)
        assert any(field in e["field"] for e in response.json().get("errors", [])), (params, response.text)


# --- status ------------------------------------------------------------------------------


async def test_suspend_reinstate_revoke(client: httpx.AsyncClient, sign_in: Make) -> None:
    a = await sign_in("assessor")
    cert = await issue(client, a)
    at = f"{URL}/{cert['number']}"
    suspended = await client.post(f"{at}/suspend", json={"reason": "资料待核实"}, headers=a.headers)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert suspended.json()["status_reason"] == "资料待核实"
    assert (await client.post(f"{at}/suspend", json={"reason": "x"}, headers=a.headers)).status_code == 409
    reinstated = await client.post(f"{at}/reinstate", json={"reason": "核实无误"}, headers=a.headers)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "valid"
    assert (await client.post(f"{at}/reinstate", json={"reason": "x"}, headers=a.headers)).status_code == 409
    revoked = await client.post(f"{at}/revoke", json={"reason": "考核作弊"}, headers=a.headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = await client.post(f"{at}/revoke", json={"reason": "again"}, headers=a.headers)
    assert again.status_code == 409 and again.json()["code"] == "certificate_revoked"
    events = await AuditEvent.filter(entity_type="certificate", entity_id=cert["id"]).order_by("id")
    assert [e.action for e in events] == [
        "certificate.issue",
        "certificate.suspend",
        "certificate.reinstate",
        "certificate.revoke",
    ]
    assert events[3].before == {"status": "valid", "status_reason": "核实无误"}
    assert events[3].after == {"status": "revoked", "status_reason": "考核作弊"}


async def test_a_reason_is_required(client: httpx.AsyncClient, sign_in: Make) -> None:
    a = await sign_in("assessor")
    cert = await issue(client, a)
    for action in ("suspend", "revoke", "reinstate"):
        for payload in (
            {},
            {"reason": ""},
            {"reason": "   "},
            {"reason": "x" * 501},
            {"reason": 5},
            {"reason": "ok", "extra": 1},
        ):
            response = await client.post(f"{URL}/{cert['number']}/{action}", json=payload, headers=a.headers)
            assert response.status_code == 422, (action, payload, response.text)
            expected = "extra" if "extra" in payload else "reason"
            assert any(expected in e["field"] for e in response.json()["errors"]), response.text
    assert (await Certificate.get(number=cert["number"])).status.value == "valid"


async def test_tenancy_of_changes(client: httpx.AsyncClient, sign_in: Make) -> None:
    a = await sign_in("assessor")
    b = await sign_in("assessor", institution=await new_institution("410302", kinds=["assessment"]))
    provider = await new_institution(kinds=["training"])
    institution = await sign_in("institution", institution=provider)
    cert = await issue(client, a, name="韩八")
    await cohort_with(provider, [cert["trainee_id"]])
    linked = await issue(
        client,
        a,
        id_number=...,
        name=...,
        trainee_id=cert["trainee_id"],
        cohort_id=str((await Cohort.filter(institution=provider).first()).id),
    )  # type: ignore[union-attr]
    county = await sign_in("auditor", division="410323")
    for actor in (b, county):
        for action in ("suspend", "revoke", "reinstate"):
            response = await client.post(
                f"{URL}/{cert['number']}/{action}", json={"reason": "不是我的"}, headers=actor.headers
            )
            assert response.status_code == 404, (actor.username, action, response.text)
    for action in ("suspend", "revoke"):
        response = await client.post(
            f"{URL}/{linked['number']}/{action}", json={"reason": "x"}, headers=institution.headers
        )
        assert response.status_code == 403
        response = await client.post(
            f"{URL}/{cert['number']}/{action}", json={"reason": "x"}, headers=institution.headers
        )
        assert response.status_code == 404
    assert (await Certificate.get(number=cert["number"])).status.value == "valid"
    jianxi = await sign_in("auditor", division="410305")
    suspended = await client.post(
        f"{URL}/{cert['number']}/suspend", json={"reason": "县区核查"}, headers=jianxi.headers
    )
    assert suspended.status_code == 200
    admin = await sign_in("admin")
    revoked = await client.post(
        f"{URL}/{cert['number']}/revoke", json={"reason": "管理员撤销"}, headers=admin.headers
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert (await client.post(f"{URL}/{cert['number']}/revoke", json={"reason": "x"})).status_code == 401
