"""POST /api/v1/cohorts/{id}/roster: upload, report, refused rows download, tenancy."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from openpyxl import load_workbook

from registry.models.audit import AuditEvent
from registry.models.training import Enrolment
from tests.api.support import Actor, download_name, roster_csv
from tests.factories import make_cohort, new_id_number, with_sheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bad_number() -> str:
    """A number with a wrong check digit: a row the import refuses."""
    number = new_id_number("410302")
    return number[:17] + ("1" if number[17] != "1" else "2")


async def test_upload_report_and_refused_rows(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    actor = await sign_in("institution")
    assert actor.institution is not None
    cohort = await make_cohort(actor.institution, capacity=50)
    url = f"/api/v1/cohorts/{cohort.id}/roster"
    bad = new_id_number("410302")
    bad = bad[:17] + ("1" if bad[17] != "1" else "2")
    data = roster_csv(("张三", new_id_number("410302")), ("李四", bad))

    refused = await client.post(url, headers=actor.headers, files={"file": ("花名册.csv", data, "text/csv")})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "roster_refused"
    assert body["errors"] == [
        {
            "field": "id_number",
            "code": "id_checksum",
            "row": 3,
            "column": "身份证号",
            "message": body["errors"][0]["message"],
        }
    ]
    assert body["report"]["rows_read"] == 2 and body["report"]["accepted"] == 0
    assert bad not in refused.text
    assert await Enrolment.filter(cohort_id=cohort.id).count() == 0

    partial = await client.post(
        url,
        params={"mode": "valid_rows"},
        headers=actor.headers,
        files={"file": ("花名册.csv", data, "text/csv")},
    )
    assert partial.status_code == 200, partial.text
    report = partial.json()
    assert (report["status"], report["accepted"], report["refused"]) == ("partial", 1, 1)
    assert report["refused_rows_file"] is True

    again = await client.post(url, headers=actor.headers, files={"file": ("again.csv", data, "text/csv")})
    assert again.status_code == 200 and again.json()["unchanged"] is True
    assert again.json()["batch_id"] == report["batch_id"]

    stored = await client.get(f"{url}/{report['batch_id']}", headers=actor.headers)
    assert stored.status_code == 200 and stored.json()["accepted"] == 1

    download = await client.get(f"{url}/{report['batch_id']}/refused.xlsx", headers=actor.headers)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(XLSX)
    assert download_name(download.headers["content-disposition"]) == f"refused-{report['batch_id']}.xlsx"
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "错误 (error)"
    assert rows[1][:3] == (3, "李四", bad) and "身份证号" in str(rows[1][-1])


async def test_another_institution_gets_404(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    owner = await sign_in("institution")
    stranger = await sign_in("institution")
    assert owner.institution is not None
    cohort = await make_cohort(owner.institution, capacity=50)
    url = f"/api/v1/cohorts/{cohort.id}/roster"
    data = roster_csv(("王五", new_id_number("410302")), ("赵六", bad_number()))
    response = await client.post(url, headers=stranger.headers, files={"file": ("r.csv", data, "text/csv")})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    ok = await client.post(
        url, params={"mode": "valid_rows"}, headers=owner.headers, files={"file": ("r.csv", data, "text/csv")}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["refused_rows_file"] is True
    batch = ok.json()["batch_id"]
    assert (await client.get(f"{url}/{batch}", headers=stranger.headers)).status_code == 404
    # there are refused rows to download: the owner gets them, the stranger does not
    assert (await client.get(f"{url}/{batch}/refused.xlsx", headers=owner.headers)).status_code == 200
    refused = await client.get(f"{url}/{batch}/refused.xlsx", headers=stranger.headers)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert (await client.post(url, files={"file": ("r.csv", data, "text/csv")})).status_code == 401


async def test_a_download_of_refused_rows_by_another_than_the_uploader_is_audited(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    owner = await sign_in("institution")
    assert owner.institution is not None
    cohort = await make_cohort(owner.institution, capacity=50)
    url = f"/api/v1/cohorts/{cohort.id}/roster"
    bad, worse = bad_number(), bad_number()
    data = roster_csv(("王五", new_id_number("410302")), ("赵六", bad), ("钱七", worse))
    ok = await client.post(
        url, params={"mode": "valid_rows"}, headers=owner.headers, files={"file": ("r.csv", data, "text/csv")}
    )
    assert ok.status_code == 200 and ok.json()["refused"] == 2, ok.text
    batch = ok.json()["batch_id"]

    def downloads() -> Any:
        return AuditEvent.filter(
            action="roster.refused_rows.download", entity_type="import_batch", entity_id=batch
        ).order_by("id")

    # the uploading institution reads its own rows: not an event
    assert (await client.get(f"{url}/{batch}/refused.xlsx", headers=owner.headers)).status_code == 200
    assert await downloads().count() == 0
    auditor = await sign_in("auditor")
    admin = await sign_in("admin")
    for reader in (auditor, admin):
        response = await client.get(f"{url}/{batch}/refused.xlsx", headers=reader.headers)
        assert response.status_code == 200, response.text
        assert bad in str(
            list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        )  # type: ignore[union-attr]
    recorded = await downloads()
    assert [e.actor for e in recorded] == [f"user:{auditor.user_id}", f"user:{admin.user_id}"]
    assert recorded[0].after == {"cohort_id": str(cohort.id), "rows": 2, "role": "auditor"}
    assert bad not in str([e.after for e in recorded]) and worse not in str([e.after for e in recorded])


async def test_file_level_problems(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    actor = await sign_in("institution")
    assert actor.institution is not None
    cohort = await make_cohort(actor.institution, capacity=50)
    url = f"/api/v1/cohorts/{cohort.id}/roster"
    response = await client.post(
        url, headers=actor.headers, files={"file": ("r.xls", b"\xd0\xcf\x11\xe0", "x")}
    )
    assert response.status_code == 422 and response.json()["code"] == "unsupported_file_type"
    response = await client.post(
        url, headers=actor.headers, files={"file": ("r.csv", b"a,b\n1,2\n", "text/csv")}
    )
    assert response.status_code == 422 and response.json()["code"] == "no_header"
    response = await client.post(
        url, params={"mode": "whatever"}, headers=actor.headers, files={"file": ("r.csv", b"x", "text/csv")}
    )
    assert response.status_code in (400, 422)
    auditor = await sign_in("auditor")
    response = await client.post(
        url,
        headers=auditor.headers,
        files={"file": ("r.csv", roster_csv(("赵六", new_id_number("410302"))), "text/csv")},
    )
    assert response.status_code == 403


async def test_household_divisions_as_registers_write_them(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]], catalogue: None
) -> None:
    actor = await sign_in("institution")
    assert actor.institution is not None
    cohort = await make_cohort(actor.institution, capacity=50)
    written = {
        "偃师市": "410307",
        "410381": "410307",
        "孟津县": "410308",
        "410322": "410308",
        "吉利区": "410308",
        "410306": "410308",
        "瀍河区": "410304",
        "瀍河": "410304",
        "高新区": "410371",
        "洛阳市孟津县": "410308",
    }
    lines = "姓名,身份证号,户籍县区\n" + "".join(
        f"学员{'甲乙丙丁戊己庚辛壬癸'[i]},{new_id_number('410381')},{text}\n"
        for i, text in enumerate(written)
    )
    response = await client.post(
        f"/api/v1/cohorts/{cohort.id}/roster",
        headers=actor.headers,
        files={"file": ("花名册.csv", lines.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(written), response.text
    stored = await Enrolment.filter(cohort_id=cohort.id).values_list(
        "household_as_written", "household_division_id"
    )
    assert sorted(stored) == sorted(written.items())


async def test_an_all_or_nothing_roster_says_nothing_about_people_of_another_institution(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    a = await sign_in("institution")
    b = await sign_in("institution")
    assert a.institution is not None and b.institution is not None
    number = new_id_number("410302")
    a_cohort = await make_cohort(a.institution, capacity=10)
    first = await client.post(
        f"/api/v1/cohorts/{a_cohort.id}/roster",
        headers=a.headers,
        files={"file": ("a.csv", roster_csv(("张三", number)), "text/csv")},
    )
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text

    # B: the same file with one deliberately bad row, for a wrong name, the right name and an
    # unknown number: the same answer each time, naming only the bad row.
    answers = []
    for who, name in ((number, "张四"), (number, "张三"), (new_id_number("410302"), "张四")):
        cohort = await make_cohort(b.institution, capacity=10)
        response = await client.post(
            f"/api/v1/cohorts/{cohort.id}/roster",
            headers=b.headers,
            files={"file": ("b.csv", roster_csv((name, who), ("李四", bad_number())), "text/csv")},
        )
        assert response.status_code == 422, response.text
        answers.append([(e["row"], e["code"]) for e in response.json()["errors"]])
    assert answers == [[(3, "id_checksum")]] * 3

    # In valid_rows mode the person is enrolled under the name as given, flagged for review.
    cohort = await make_cohort(b.institution, capacity=10)
    response = await client.post(
        f"/api/v1/cohorts/{cohort.id}/roster?mode=valid_rows",
        headers=b.headers,
        files={"file": ("b.csv", roster_csv(("张四", number), ("李四", bad_number())), "text/csv")},
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text
    enrolment = await Enrolment.get(cohort_id=cohort.id).prefetch_related("trainee")
    assert enrolment.trainee.name == "张三"
    assert (enrolment.name_as_given, enrolment.review_flags) == ("张四", ["name_differs"])  # type: ignore[attr-defined]

    # A, which enrolled the person, is told the name differs.
    again = await make_cohort(a.institution, capacity=10)
    told = await client.post(
        f"/api/v1/cohorts/{again.id}/roster",
        headers=a.headers,
        files={"file": ("a2.csv", roster_csv(("张四", number)), "text/csv")},
    )
    assert [(e["row"], e["code"]) for e in told.json()["errors"]] == [(2, "identity_mismatch")]


async def test_a_zip_bomb_is_refused_before_it_is_read(
    client: httpx.AsyncClient, sign_in: Callable[..., Awaitable[Actor]]
) -> None:
    actor = await sign_in("institution")
    assert actor.institution is not None
    cohort = await make_cohort(actor.institution, capacity=50)
    bomb = with_sheet(repeat=2_000_000)  # 12 MB of <row/> in a few KB
    response = await client.post(
        f"/api/v1/cohorts/{cohort.id}/roster",
        headers=actor.headers,
        files={"file": ("花名册.xlsx", bomb, XLSX)},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "file_too_large" and "zip bomb" in body["detail"]
    assert await Enrolment.filter(cohort_id=cohort.id).count() == 0
