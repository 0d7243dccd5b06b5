"""The bureau's workbench over HTTP (issue 16): the pages' scope and refusals, the session
they share, CSRF on every form, and the auditor's actions (decide, publish, object, pay,
reveal) through the same services as the API."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from api.dashboard import session
from registry.core.crypto import Vault
from registry.enums import ClaimStatus
from registry.models.audit import AuditEvent
from registry.models.notice import ClaimNotice as NoticeRow
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.subsidy import claims
from tests.api.support import PASSWORD, Make
from tests.factories import Trainee, claimable_cohort, compute_filed

pytestmark = pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")

FULL_ID = re.compile(r"\b\d{17}[\dXx]\b")
"""An 18-digit ID number in full: never on a page outside the audited reveal."""


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


async def browser(client: httpx.AsyncClient, password_sign_in: Make, role: str = "auditor", **kw: Any) -> Any:
    """A signed-in browser session of a new user (the sign-in form, as a person does)."""
    actor = await password_sign_in(role, **kw)
    client.cookies.clear()
    form = await client.get("/dashboard/sign-in?next=/workbench")
    answer = await client.post(
        "/dashboard/sign-in",
        data={"username": actor.username, "password": PASSWORD, "csrf": csrf_of(form), "next": "/workbench"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/workbench", answer.text
    return actor


async def computed_claim(vault: Vault, people: list[Trainee] | None = None) -> tuple[uuid.UUID, Any]:
    cohort = await claimable_cohort(vault, people or [Trainee(), Trainee(hours=10)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await compute_filed(vault, filed.id)
    return filed.id, cohort


PAGES = ("/workbench", "/workbench/claims", "/workbench/claims.xlsx")


async def test_without_a_session_every_page_sends_you_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    for path in (*PAGES, f"/workbench/claims/{uuid.uuid4()}"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/sign-in?next=/workbench"), answer.headers


async def test_an_institutions_session_gets_404_on_every_page(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault, app: Any
) -> None:
    claim_id, cohort = await computed_claim(vault)
    actor = await password_sign_in("institution", institution=cohort.institution)
    started = await session.start(app.state.redis, actor.principal)
    client.cookies.clear()
    client.cookies.set("registry_session", started.session_id)
    for path in (*PAGES, f"/workbench/claims/{claim_id}", f"/workbench/claims/{claim_id}/notice"):
        answer = await client.get(path)
        assert answer.status_code == 404 and "页面不存在" in answer.text, path
    refused = await client.post(
        f"/workbench/claims/{claim_id}/decisions", data={"csrf": started.csrf, "approve_clean": "1"}
    )
    assert refused.status_code == 404
    assert await SubsidyLine.filter(claim_id=claim_id, decision__isnull=False).count() == 0


async def test_the_home_and_the_list_in_chinese_with_strict_headers(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    claim_id, cohort = await computed_claim(vault)
    await browser(client, password_sign_in)
    home = await client.get("/workbench")
    assert home.status_code == 200 and "工作台" in home.text and "待办的补贴申请" in home.text
    csp = home.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert home.headers["x-frame-options"] == "DENY" and home.headers["cache-control"] == "no-store"
    assert "<script>" not in home.text and "style=" not in home.text
    listed = await client.get("/workbench/claims", params={"status": "computed", "sort": "amount"})
    assert listed.status_code == 200 and str(claim_id) in listed.text
    assert "已计算" in listed.text and "涧西区" in listed.text
    by_institution = await client.get("/workbench/claims", params={"institution": str(cohort.institution.id)})
    assert str(claim_id) in by_institution.text
    by_flag = await client.get(
        "/workbench/claims", params={"flag": "ATTENDANCE", "institution": str(cohort.institution.id)}
    )
    assert str(claim_id) in by_flag.text
    no_flag = await client.get(
        "/workbench/claims", params={"flag": "SHARED_PHONE", "institution": str(cohort.institution.id)}
    )
    assert str(claim_id) not in no_flag.text
    bad = await client.get("/workbench/claims", params={"year": "二〇二五", "min": "abc"})
    assert bad.status_code == 200 and "请填写整数" in bad.text and "请填写金额" in bad.text, bad.text[:600]
    sheet = await client.get("/workbench/claims.xlsx", params={"institution": str(cohort.institution.id)})
    assert sheet.status_code == 200 and sheet.headers["x-content-type-options"] == "nosniff"
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[2][0] == "培训机构" and rows[3][0] == cohort.institution.name and rows[3][5] == "已计算"


async def test_a_county_auditor_sees_only_its_county(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    claim_id, _ = await computed_claim(vault)  # held in 410305
    await browser(client, password_sign_in, division="410302")
    assert (await client.get(f"/workbench/claims/{claim_id}")).status_code == 404
    assert str(claim_id) not in (await client.get("/workbench/claims")).text
    await browser(client, password_sign_in, division="410305")
    assert (await client.get(f"/workbench/claims/{claim_id}")).status_code == 200


async def test_a_forged_or_missing_csrf_token_changes_nothing(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    claim_id, _ = await computed_claim(vault)
    await browser(client, password_sign_in)
    page = await client.get(f"/workbench/claims/{claim_id}")
    token = csrf_of(page)
    for data, headers in (
        ({"approve_clean": "1"}, {}),
        ({"approve_clean": "1", "csrf": "forged"}, {}),
        ({"approve_clean": "1", "csrf": token}, {"Origin": "https://evil.example"}),
    ):
        refused = await client.post(f"/workbench/claims/{claim_id}/decisions", data=data, headers=headers)
        assert refused.status_code == 403 and "未做任何更改" in refused.text
    assert await SubsidyLine.filter(claim_id=claim_id, decision__isnull=False).count() == 0


async def test_an_auditor_decides_publishes_objects_and_reveals(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    claim_id, _ = await computed_claim(vault, [Trainee(), Trainee(), Trainee(hours=10)])
    await browser(client, password_sign_in)
    page = await client.get(f"/workbench/claims/{claim_id}")
    assert page.status_code == 200 and not FULL_ID.search(page.text)
    assert "计算过程" in page.text and "出勤不足" in page.text
    assert '"rule"' not in page.text  # the trace in words, not JSON
    blocked_line = await SubsidyLine.get(claim_id=claim_id, outcome="blocked")
    trace_page = await client.get(f"/workbench/claims/{claim_id}/lines/{blocked_line.id}/trace")
    assert trace_page.status_code == 200 and "补贴标准" in trace_page.text and "<html" in trace_page.text
    fragment = await client.get(
        f"/workbench/claims/{claim_id}/lines/{blocked_line.id}/trace", headers={"HX-Request": "true"}
    )
    assert "补贴标准" in fragment.text and "<html" not in fragment.text and "出勤学时" in fragment.text
    assert (await client.get(f"/workbench/claims/{claim_id}/lines/{uuid.uuid4()}/trace")).status_code == 404
    token = csrf_of(page)
    done = await client.post(
        f"/workbench/claims/{claim_id}/decisions", data={"csrf": token, "approve_clean": "1"}
    )
    assert done.status_code == 303 and "done=decided" in done.headers["location"]
    blocked = await SubsidyLine.get(claim_id=claim_id, outcome="blocked")
    # A rejection without a reason: the error beside that line, what was typed kept.
    missing = await client.post(
        f"/workbench/claims/{claim_id}/decisions",
        data={"csrf": token, f"decision:{blocked.id}": "rejected", f"reason:{blocked.id}": " \u200b "},
    )
    assert missing.status_code == 200 and f'id="error-{blocked.id}"' in missing.text
    assert 'value="rejected" selected' in missing.text
    decided = await client.post(
        f"/workbench/claims/{claim_id}/decisions",
        data={
            "csrf": token,
            f"decision:{blocked.id}": "rejected",
            f"reason:{blocked.id}": "出勤记录不实；只上了10学时",
        },
    )
    assert decided.status_code == 303
    assert (await SubsidyLine.get(id=blocked.id)).reason == "出勤记录不实；只上了10学时"
    confirm = await client.get(f"/workbench/claims/{claim_id}/notice")
    assert confirm.status_code == 200 and "5 个工作日" in confirm.text and "年" in confirm.text
    published = await client.post(f"/workbench/claims/{claim_id}/notice", data={"csrf": token})
    assert published.status_code == 303
    assert (await SubsidyClaim.get(id=claim_id)).status is ClaimStatus.NOTICED
    page = await client.get(f"/workbench/claims/{claim_id}?done=published")
    assert "公示已发布" in page.text and "/notices/" in page.text
    wrong_seq = await client.post(
        f"/workbench/claims/{claim_id}/objections", data={"csrf": token, "seq": "99", "reason": "反映"}
    )
    assert (
        wrong_seq.status_code == 200
        and "序号 99 不在这份申请中" in wrong_seq.text
        and "反映" in wrong_seq.text
    )
    first = await SubsidyLine.filter(claim_id=claim_id, decision="approved").order_by("seq").first()
    assert first is not None
    objected = await client.post(
        f"/workbench/claims/{claim_id}/objections",
        data={"csrf": token, "seq": str(first.seq), "reason": "群众反映未参训"},
    )
    assert objected.status_code == 303
    assert (await SubsidyLine.get(id=first.id)).decision is None
    revealed = await client.post(
        f"/workbench/claims/{claim_id}/reveal",
        data={"csrf": token, "trainee": str(first.trainee_id), "reason": "核实身份"},
    )
    assert revealed.status_code == 200 and len(FULL_ID.findall(revealed.text)) == 1
    assert (
        await AuditEvent.filter(action="trainee.reveal_id_number", entity_id=str(first.trainee_id)).count()
        == 1
    )
    again = await client.get(f"/workbench/claims/{claim_id}")
    assert not FULL_ID.search(again.text)  # shown once, never kept on the page
    timeline = again.text.split('id="timeline"', 1)[1]
    assert "发布公示" in timeline and "记录公示异议" in timeline and "subsidy_claim." not in timeline


async def test_the_claims_spreadsheet_from_the_page_and_the_public_notice_headers(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    """The claim's spreadsheet with the page's session (not a bearer token); the public notice
    page never framed, its spreadsheet not sniffed nor indexed (issue 16's security probe)."""
    claim_id, _ = await computed_claim(vault)
    await browser(client, password_sign_in)
    sheet = await client.get(f"/workbench/claims/{claim_id}/export.xlsx")
    assert sheet.status_code == 200 and sheet.headers["x-content-type-options"] == "nosniff"
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert any(row[0] == "序号" for row in rows)
    token = csrf_of(await client.get(f"/workbench/claims/{claim_id}"))
    await client.post(f"/workbench/claims/{claim_id}/decisions", data={"csrf": token, "approve_clean": "1"})
    blocked = await SubsidyLine.get(claim_id=claim_id, outcome="blocked")
    await client.post(
        f"/workbench/claims/{claim_id}/decisions",
        data={"csrf": token, f"decision:{blocked.id}": "rejected", f"reason:{blocked.id}": "出勤不足"},
    )
    assert (
        await client.post(f"/workbench/claims/{claim_id}/notice", data={"csrf": token})
    ).status_code == 303
    client.cookies.clear()
    notice = await NoticeRow.get(claim_id=claim_id)
    public = await client.get(f"/notices/{notice.id}")
    assert public.status_code == 200
    assert "frame-ancestors 'none'" in public.headers["content-security-policy"]
    assert public.headers["x-frame-options"] == "DENY"
    xlsx = await client.get(f"/notices/{notice.id}/notice.xlsx")
    assert xlsx.headers["x-content-type-options"] == "nosniff" and "noindex" in xlsx.headers["x-robots-tag"]


async def test_the_public_notice_pages_are_rate_limited(client: httpx.AsyncClient, app: Any) -> None:
    limit = app.state.settings.verify_max_requests
    missing = uuid.uuid4()
    answers = [(await client.get(f"/notices/{missing}")).status_code for _ in range(limit + 1)]
    assert answers[:limit] == [404] * limit and answers[-1] == 429
