"""The issue's 'done when', end to end through the HTTP API: an institution creates a
cohort, uploads a messy roster, fixes the refused rows and uploads again, records
attendance and outcomes and closes the cohort; an assessor issues a certificate; anyone
verifies it."""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from openpyxl import load_workbook

from registry.core.clock import business_today
from registry.core.principal import system
from registry.people.rules.idnumber import make_number
from registry.reference.service import load_reference
from tests.api.support import Actor
from tests.factories import confirm_reference_list

Make = Callable[..., Awaitable[Actor]]
OCCUPATION = "6-31-01-03"  # 电工


@pytest.fixture(scope="module")
async def catalogue(database: None) -> None:
    await load_reference(system("test"))
    await confirm_reference_list()  # as the bureau does (tests.factories)


def number(code: str = "410381") -> str:
    return make_number(
        code, dt.date(1985, 1, 1) + dt.timedelta(days=random.randrange(8000)), random.randrange(1000)
    )


def roster(rows: list[list[str]]) -> bytes:
    lines = [
        "2026年洛阳市职业技能培训花名册（电工）,,,,",
        ",,,,",
        "序号,身份证号码,姓名,户籍所在地,人员类别,手机号码",
    ]
    lines += [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")  # Excel on Chinese Windows saves GBK


async def test_institution_assessor_and_public_journey(
    client: httpx.AsyncClient, sign_in: Make, catalogue: None
) -> None:
    inst = await sign_in("institution")
    today = business_today()
    cohort = await client.post(
        "/api/v1/cohorts",
        headers=inst.headers,
        json={
            "reference": f"DQ-{uuid.uuid4().hex[:6]}",
            "name": "2026年电工（四级）培训班",
            "kind": "vocational",
            "occupation_code": OCCUPATION,
            "certificate_kind": "skill_level",
            "certificate_level": 4,
            "division_code": "410305",
            "planned_hours": 80,
            "start_date": str(today),
            "end_date": str(today + dt.timedelta(days=30)),
            "capacity": 30,
        },
    )
    assert cohort.status_code == 201, cohort.text
    cohort_id = cohort.json()["id"]
    assert (await client.post(f"/api/v1/cohorts/{cohort_id}/open", headers=inst.headers)).status_code == 200

    good = [number() for _ in range(3)]
    valid = number()
    bad = valid[:-1] + ("0" if valid[-1] != "0" else "1")  # a spreadsheet rounded the last digit away
    rows = [
        ["1", good[0], "张 伟", "偃师区", "农民工", "138 0000 1111"],
        ["2", good[1], "李娜", "涧西区", "退役军人、高校毕业生", ""],
        ["3", bad, "王芳", "洛龙区", "", "13900002222"],
        ["4", good[2].lower(), "赵磊", "410305", "", ""],
    ]
    upload = await client.post(
        f"/api/v1/cohorts/{cohort_id}/roster?mode=valid_rows",
        headers=inst.headers,
        files={"file": ("花名册.csv", roster(rows), "text/csv")},
    )
    assert upload.status_code == 200, upload.text
    report = upload.json()
    assert (report["rows_read"], report["accepted"], report["refused"]) == (4, 3, 1)
    [error] = report["errors"]
    assert error["row"] == 6 and error["column"] == "身份证号码"
    assert bad not in upload.text

    refused = await client.get(
        f"/api/v1/cohorts/{cohort_id}/roster/{report['batch_id']}/refused.xlsx", headers=inst.headers
    )
    assert refused.status_code == 200
    sheet = load_workbook(io.BytesIO(refused.content)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(cells) == 2 and "王芳" in cells[1] and cells[1][-1]

    rows[2][1] = number()  # the corrected number
    again = await client.post(
        f"/api/v1/cohorts/{cohort_id}/roster",
        headers=inst.headers,
        files={"file": ("花名册-修正.csv", roster(rows), "text/csv")},
    )
    assert again.status_code == 200, again.text
    assert (again.json()["accepted"], again.json()["already_enrolled"]) == (1, 3)

    enrolments = (await client.get(f"/api/v1/cohorts/{cohort_id}/enrolments", headers=inst.headers)).json()
    assert enrolments["total"] == 4
    for n, item in enumerate(enrolments["items"]):
        outcome = "completed" if n < 3 else "withdrawn"
        patch = await client.patch(
            f"/api/v1/enrolments/{item['id']}",
            headers=inst.headers,
            json={"attended_hours": "76" if n < 3 else "10", "outcome": outcome},
        )
        assert patch.status_code == 200, patch.text
    closed = await client.post(f"/api/v1/cohorts/{cohort_id}/close", headers=inst.headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    frozen = await client.patch(
        f"/api/v1/enrolments/{enrolments['items'][0]['id']}",
        headers=inst.headers,
        json={"attended_hours": "80"},
    )
    assert frozen.status_code == 409

    assessor = await sign_in("assessor")
    completed = enrolments["items"][0]
    # The assessor never certified this person: it reaches them by ID number and name (the
    # roster's), not by a trainee id it cannot see.
    given = {r[2].replace(" ", ""): r[1].upper() for r in rows}
    assert completed["name"] in given
    cert_number = f"L{uuid.uuid4().hex[:12].upper()}"
    issued = await client.post(
        "/api/v1/certificates",
        headers=assessor.headers,
        json={
            "number": cert_number,
            "kind": "skill_level",
            "level": 4,
            "occupation_code": OCCUPATION,
            "id_number": given[completed["name"]],
            "name": completed["name"],
            "cohort_id": cohort_id,
            "issue_date": str(today),
        },
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["trainee_id"] == completed["trainee_id"]

    public = await client.get(f"/api/v1/verify/{cert_number}")
    assert public.status_code == 200
    facts = public.json()
    assert facts["status"] == "valid" and facts["holder_name"].endswith("*")
    assert completed["trainee_id"] not in public.text
    page = await client.get(f"/verify/{cert_number}")
    assert page.status_code == 200 and "电工" in page.text
