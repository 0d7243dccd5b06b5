"""The workbench's people (人员, issue 16) over HTTP: found by ID number (posted, never in a
URL) or by name within the caller's scope; a person's record (enrolments, certificates,
grants with the annual cap, claim lines with their flags), every view an audit event; the
audited reveal; scope (a county auditor its county, an institution 404) and refusals (a
forged CSRF token: 403, nothing changed); no full ID number on any page but the reveal."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import httpx
import pytest

from api.dashboard import session
from registry.core.crypto import Vault
from registry.core.principal import system
from registry.models.audit import AuditEvent
from registry.models.subsidy import SubsidyLine
from registry.models.training import Trainee as TraineeRow
from registry.notices import service as notices
from tests.api.support import Make
from tests.api.workbench.test_pages import FULL_ID, browser, computed_claim, csrf_of
from tests.factories import Trainee, new_id_number, noticed_claim

pytestmark = pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")


def unique_name() -> str:
    """A name no other test's person has (the test database is shared by the session)."""
    return "欧阳" + "".join(chr(random.randint(0x4E00, 0x9FA5)) for _ in range(3))


async def granted_person(vault: Vault) -> tuple[uuid.UUID, str, uuid.UUID, str]:
    """A person whose line was noticed and granted (the notice ended), with a second line
    blocked on the same claim: (trainee id, ID number, claim id, name)."""
    number = new_id_number(working_age=True)
    claim_id, notice_id, cohort = await noticed_claim(
        vault, [Trainee(id_number=number), Trainee(hours=10)], published_on=dt.date(2026, 11, 2)
    )
    await notices.close_notice(system("test"), notice_id, dt.date(2026, 11, 10))
    trainee_id = cohort.trainee_ids[0]
    name = unique_name()
    await TraineeRow.filter(id=trainee_id).update(name=name)
    return trainee_id, number, claim_id, name


async def views_of(trainee_id: uuid.UUID) -> int:
    return await AuditEvent.filter(
        action="trainee.view", entity_type="trainee", entity_id=str(trainee_id)
    ).count()


async def test_an_institutions_session_gets_404_on_every_people_page(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault, app: Any
) -> None:
    trainee_id, number, _, _ = await granted_person(vault)
    _, cohort = await computed_claim(vault)
    actor = await password_sign_in("institution", institution=cohort.institution)
    started = await session.start(app.state.redis, actor.principal)
    client.cookies.clear()
    client.cookies.set("registry_session", started.session_id)
    for path in ("/workbench/people", "/workbench/people?name=张", f"/workbench/people/{trainee_id}"):
        answer = await client.get(path)
        assert answer.status_code == 404 and "页面不存在" in answer.text, path
    for path, data in (
        ("/workbench/people/lookup", {"csrf": started.csrf, "id_number": number}),
        (f"/workbench/people/{trainee_id}/reveal", {"csrf": started.csrf, "reason": "核实身份"}),
    ):
        answer = await client.post(path, data=data)
        assert answer.status_code == 404 and not FULL_ID.search(answer.text), path
    assert await views_of(trainee_id) == 0
    assert await AuditEvent.filter(action="trainee.reveal_id_number", entity_id=str(trainee_id)).count() == 0


async def test_without_a_session_the_people_pages_send_you_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/workbench/people", f"/workbench/people/{uuid.uuid4()}"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/dashboard/sign-in"), path


async def test_found_by_id_number_posted_never_in_a_url_and_every_view_audited(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    trainee_id, number, claim_id, name = await granted_person(vault)
    actor = await browser(client, password_sign_in)
    search = await client.get("/workbench/people")
    assert search.status_code == 200 and 'method="post" action="/workbench/people/lookup"' in search.text
    assert search.headers["cache-control"] == "no-store" and "style=" not in search.text
    token = csrf_of(search)
    found = await client.post("/workbench/people/lookup", data={"csrf": token, "id_number": number.lower()})
    assert found.status_code == 303, found.text[:400]
    location = found.headers["location"]
    assert location == f"/workbench/people/{trainee_id}" and number not in location
    assert await views_of(trainee_id) == 0  # the lookup is not yet a view: the page is
    page = await client.get(location)
    assert page.status_code == 200 and name in page.text
    assert page.headers["cache-control"] == "no-store"
    assert not FULL_ID.search(page.text) and number not in page.text
    events = await AuditEvent.filter(action="trainee.view", entity_id=str(trainee_id))
    assert len(events) == 1 and events[0].actor == f"user:{actor.user_id}"
    await client.get(location)
    assert await views_of(trainee_id) == 2

    # What the record holds: the enrolment, the certificate, the grant and the cap, the lines.
    text = page.text
    enrolments = text.split('id="enrolments"', 1)[1].split("</table>", 1)[0]
    assert "涧西区" in enrolments and "已结业" in enrolments and "80" in enrolments
    certificates = text.split('id="certificates"', 1)[1].split("</table>", 1)[0]
    assert "职业技能等级证书" in certificates and "有效" in certificates and "五级/初级工" in certificates
    grants = text.split('id="grants"', 1)[1].split("</table>", 1)[0]
    assert "培训补贴" in grants and "¥" in grants and f"/workbench/claims/{claim_id}" in grants
    assert "1 / 3 次" in text.split('id="cap"', 1)[1]
    granted = await SubsidyLine.get(claim_id=claim_id, trainee_id=trainee_id)
    lines = text.split('id="claim-lines"', 1)[1].split("</table>", 1)[0]
    assert f"/workbench/claims/{claim_id}#line-{granted.seq}" in lines and "已核拨（待拨付）" in lines
    assert "80 / 80" in enrolments
    for word in ("skill_level", "completed", "training", "valid", "vocational"):
        assert f">{word}<" not in text, word  # codes only beside their Chinese names

    # The other person's line: rejected, its flag a chip in Chinese (the code beside) linking to the claim.
    other = await SubsidyLine.get(claim_id=claim_id, outcome="blocked")
    flagged = await client.get(f"/workbench/people/{other.trainee_id}")
    lines = flagged.text.split('id="claim-lines"', 1)[1].split("</table>", 1)[0]
    chip = lines.split('class="chip-link"', 1)[1].split("</a>", 1)[0]
    assert f'href="/workbench/claims/{claim_id}#line-{other.seq}"' in chip
    assert "出勤不足" in chip and "ATTENDANCE" in chip and "不予支付" in lines and "未通过" in lines
    assert not FULL_ID.search(flagged.text)

    # A mistyped number: the error beside the field, the number shown masked, not in full.
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    mistyped = await client.post("/workbench/people/lookup", data={"csrf": token, "id_number": wrong})
    assert mistyped.status_code == 200 and "校验位不符" in mistyped.text
    assert wrong not in mistyped.text and not FULL_ID.search(mistyped.text)
    assert f"{wrong[:6]}********{wrong[-4:]}" in mistyped.text
    # A valid number of nobody (or of nobody in scope): said beside the field.
    nobody = await client.post(
        "/workbench/people/lookup", data={"csrf": token, "id_number": new_id_number(working_age=True)}
    )
    assert nobody.status_code == 200 and "没有这个身份证号的人员" in nobody.text
    assert not FULL_ID.search(nobody.text)


async def test_found_by_name_within_the_scope_paged(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    trainee_id, number, _, name = await granted_person(vault)
    await browser(client, password_sign_in)
    found = await client.get("/workbench/people", params={"name": name[:3]})
    assert found.status_code == 200 and f"/workbench/people/{trainee_id}" in found.text
    assert "共 1 条" in found.text and "涧西区" not in found.text.split('id="people"')[0]
    assert number[:6] + "********" + number[-4:] in found.text and not FULL_ID.search(found.text)
    # An ID number typed where a name goes: refused, not searched, not shown again.
    digits = await client.get("/workbench/people", params={"name": number})
    assert digits.status_code == 200 and "姓名中不能有数字" in digits.text
    assert number not in digits.text
    none = await client.get("/workbench/people", params={"name": unique_name()})
    assert none.status_code == 200 and 'id="no-people"' in none.text

    await browser(client, password_sign_in, division="410302")  # another county
    elsewhere = await client.get("/workbench/people", params={"name": name})
    assert elsewhere.status_code == 200 and f"/workbench/people/{trainee_id}" not in elsewhere.text
    await browser(client, password_sign_in, division="410305")  # the cohort's county
    here = await client.get("/workbench/people", params={"name": name})
    assert f"/workbench/people/{trainee_id}" in here.text


async def test_a_county_auditor_sees_only_its_countys_people(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    trainee_id, number, _, _ = await granted_person(vault)  # trained in 410305
    await browser(client, password_sign_in, division="410302")
    assert (await client.get(f"/workbench/people/{trainee_id}")).status_code == 404
    token = csrf_of(await client.get("/workbench/people"))
    lookup = await client.post("/workbench/people/lookup", data={"csrf": token, "id_number": number})
    assert lookup.status_code == 200 and "没有这个身份证号的人员" in lookup.text
    reveal = await client.post(
        f"/workbench/people/{trainee_id}/reveal", data={"csrf": token, "reason": "核实"}
    )
    assert reveal.status_code == 404 and not FULL_ID.search(reveal.text)
    assert await views_of(trainee_id) == 0
    await browser(client, password_sign_in, division="410305")
    assert (await client.get(f"/workbench/people/{trainee_id}")).status_code == 200
    assert await views_of(trainee_id) == 1


async def test_the_reveal_with_a_reason_shown_once_and_a_forged_token_changes_nothing(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    trainee_id, number, _, _ = await granted_person(vault)
    await browser(client, password_sign_in)
    page = await client.get(f"/workbench/people/{trainee_id}")
    token = csrf_of(page)
    path = f"/workbench/people/{trainee_id}/reveal"

    def reveals() -> Any:
        return AuditEvent.filter(action="trainee.reveal_id_number", entity_id=str(trainee_id)).count()

    for data, headers in (
        ({"reason": "核实身份"}, {}),
        ({"reason": "核实身份", "csrf": "forged"}, {}),
        ({"reason": "核实身份", "csrf": token}, {"Origin": "https://evil.example"}),
    ):
        refused = await client.post(path, data=data, headers=headers)
        assert refused.status_code == 403 and "未做任何更改" in refused.text
        assert number not in refused.text
    for data in ({"id_number": number}, {"id_number": number, "csrf": "forged"}):
        refused = await client.post("/workbench/people/lookup", data=data)
        assert refused.status_code == 403 and number not in refused.text
        assert "location" not in refused.headers
    assert await reveals() == 0

    # No reason (or only invisible characters): the error beside the field, nothing revealed.
    missing = await client.post(path, data={"csrf": token, "reason": " \u200b "})
    assert (
        missing.status_code == 200
        and 'id="error-reason"' in missing.text
        and "请说明查看原因" in missing.text
    )
    assert not FULL_ID.search(missing.text) and await reveals() == 0
    shown = await client.post(path, data={"csrf": token, "reason": "电话核实本人身份"})
    assert shown.status_code == 200 and FULL_ID.findall(shown.text) == [number]
    assert shown.headers["cache-control"] == "no-store"
    events = await AuditEvent.filter(action="trainee.reveal_id_number", entity_id=str(trainee_id))
    assert len(events) == 1 and events[0].after == {"reason": "电话核实本人身份"}
    again = await client.get(f"/workbench/people/{trainee_id}")
    assert not FULL_ID.search(again.text)  # shown once
