"""The notice endpoints over HTTP: publishing (201, 409 naming the state), the public page
and its XLSX (no sign-in, masked), objections, payment (409 for a line not granted), the
claim's spreadsheet (auditors, Chinese headers), and who may."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import httpx
import pytest
from openpyxl import load_workbook

from registry.core.clock import business_today
from registry.core.crypto import Vault, vault_from_settings
from registry.core.principal import system
from registry.core.settings import Settings
from registry.models.subsidy import SubsidyLine
from registry.notices import service as notices
from registry.subsidy import claims
from tests.api.support import Api, Make, problem
from tests.factories import Trainee, claimable_cohort, compute_filed, noticed_claim

pytestmark = pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")

TODAY = business_today().isoformat()
"""Payments are dated on or after their grants (written today)."""


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


async def test_publish_over_http_and_the_public_page(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(hours=10)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await compute_filed(vault, filed.id)
    auditor = Api(client, await sign_in("auditor", division="410305"))
    await auditor.post(f"/claims/{filed.id}/decisions", {"approve_clean": True})
    problem(await auditor.post(f"/claims/{filed.id}/notice"), 409, "lines_undecided")
    blocked = await SubsidyLine.get(claim_id=filed.id, outcome="blocked")
    decided = await auditor.post(
        f"/claims/{filed.id}/decisions",
        {"lines": [{"line_id": str(blocked.id), "decision": "rejected", "reason": "出勤不足80%"}]},
    )
    assert decided.json()["status"] == "decided"
    own = Api(client, await sign_in("institution", institution=cohort.institution))
    problem(await own.post(f"/claims/{filed.id}/notice"), 404)

    published = await auditor.post(f"/claims/{filed.id}/notice")
    assert published.status_code == 201, published.text
    notice = published.json()
    assert notice["status"] == "running" and notice["lines"] == 1 and len(notice["days"]) == 5
    assert notice["public_url"] == f"/notices/{notice['id']}"
    problem(await auditor.post(f"/claims/{filed.id}/notice"), 409)
    listed = await own.get(f"/claims/{filed.id}/notices")
    assert [n["id"] for n in listed.json()] == [notice["id"]]

    page = await client.get(notice["public_url"])  # no sign-in
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "公示" in text and "张*" in text and "********" in text
    line = await SubsidyLine.get(claim_id=filed.id, decision="approved")
    assert f"{line.total_fen / 100:,.2f}" in text
    from registry.models.training import Enrolment
    from registry.models.training import Trainee as TraineeRow

    person = await TraineeRow.get(id=(await Enrolment.get(id=line.enrolment_id)).trainee_id)  # type: ignore[attr-defined]
    assert person.name not in text  # the name only masked
    sheet = await client.get(f"{notice['public_url']}/notice.xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert ("序号", "姓名", "身份证号", "职业/课程", "等级", "证书编号", "补贴金额(元)") in rows
    assert (await client.get(f"/notices/{uuid.uuid4()}")).status_code == 404


async def test_objection_payment_and_export_over_http(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    claim_id, notice_id, cohort = await noticed_claim(
        vault, [Trainee(), Trainee(), Trainee(hours=10)], published_on=dt.date(2026, 11, 2)
    )
    auditor = Api(client, await sign_in("auditor"))
    lines = await SubsidyLine.filter(claim_id=claim_id, decision="approved").order_by("seq")
    missing = problem(
        await auditor.post(f"/claims/{claim_id}/objections", {"line_id": str(lines[0].id), "reason": ""}), 422
    )
    assert missing["errors"][0]["field"] == "reason"
    objected = await auditor.post(
        f"/claims/{claim_id}/objections", {"line_id": str(lines[0].id), "reason": "群众来电反映未参训"}
    )
    assert objected.status_code == 200, objected.text
    line = next(x for x in objected.json()["lines"] if x["id"] == str(lines[0].id))
    assert line["decision"] is None and line["flags"][-1]["code"] == "OBJECTION"

    problem(
        await auditor.post(f"/claims/{claim_id}/paid", {"paid_on": TODAY, "batch_reference": "B1"}),
        409,
        "line_not_granted",
    )
    await notices.close_notice(system("test"), notice_id, dt.date(2026, 11, 10))
    county = Api(client, await sign_in("auditor", division="410305"))
    problem(await county.post(f"/claims/{claim_id}/paid", {"paid_on": TODAY, "batch_reference": "B1"}), 403)
    problem(
        await auditor.post(
            f"/claims/{claim_id}/paid",
            {"paid_on": TODAY, "batch_reference": "B1", "line_ids": [str(lines[0].id)]},
        ),
        409,
        "line_not_granted",
    )
    paid = await auditor.post(
        f"/claims/{claim_id}/paid", {"paid_on": TODAY, "batch_reference": "LY-2026-11-B3"}
    )
    assert paid.status_code == 200 and paid.json()["paid_lines"] == 1, paid.text
    claim = (await auditor.get(f"/claims/{claim_id}")).json()
    assert claim["paid_fen"] == claim["granted_fen"] == claim["net_fen"] == lines[1].total_fen

    export = await auditor.get(f"/claims/{claim_id}/export.xlsx")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    header = rows.index(
        (
            "序号",
            "姓名",
            "身份证号",
            "职业/课程",
            "等级",
            "证书编号",
            "基础补贴(元)",
            "上浮(元)",
            "合计(元)",
            "标记",
            "审核结果",
            "理由",
        )
    )
    body = rows[header + 1 :]
    assert len(body) == 3 and all("*" in str(row[2]) for row in body)
    assert {row[10] for row in body} == {"通过", "不通过", "待审核"}
    own = Api(client, await sign_in("institution", institution=cohort.institution))
    problem(await own.get(f"/claims/{claim_id}/export.xlsx"), 404)
