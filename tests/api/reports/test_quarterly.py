"""``GET /api/v1/reports/quarterly.xlsx``: the workbook read back with openpyxl, every number
checked against the source tables (and the literal figures the data were built for); 422s
naming the parameter; 404 for institutions and assessors; the report leaves no snapshot.

The training data are dated 2047, a year no other test uses; the money test reads the
current year's claims of one county, whatever other tests left there, against the tables."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from tortoise import connections

from registry.core.crypto import Vault, vault_from_settings
from registry.core.principal import system
from registry.core.settings import Settings
from registry.enums import CohortStatus
from registry.models.progress import ProgressSnapshot
from registry.progress import service, targets
from tests.api.support import Make, download_name, problem
from tests.factories import (
    TODAY,
    Trainee,
    certificate_row,
    csv_bytes,
    ended_cohort,
    enrolment_row,
    ensure_catalogue,
    new_institution,
    noticed_claim,
    person_row,
    snapshot_rows,
)

YEAR = 2047
COUNTY, OTHER = "410323", "410302"
D = dt.date
START, Q1_END, Q2_END = D(YEAR, 1, 1), D(YEAR, 3, 31), D(YEAR, 6, 30)
URL = "/api/v1/reports/quarterly.xlsx"


@pytest.fixture(scope="module")
async def data(divisions: None) -> None:
    await ensure_catalogue()
    a, b = await new_institution(COUNTY), await new_institution(OTHER)
    body = await new_institution(COUNTY, kinds=["assessment"])
    other_body = await new_institution(OTHER, kinds=["assessment"])
    p = [await person_row() for _ in range(16)]
    v1 = await ended_cohort(a, D(YEAR, 3, 10), division=COUNTY)
    await enrolment_row(v1, p[1], groups=("graduate",))
    await enrolment_row(v1, p[2], groups=("veteran", "migrant_worker"))
    await enrolment_row(v1, p[3], outcome="withdrawn")
    v2 = await ended_cohort(a, D(YEAR, 5, 20), division=COUNTY)
    await enrolment_row(v2, p[1])  # the same person again: one person, two person-times
    await enrolment_row(v2, p[4])
    await enrolment_row(await ended_cohort(a, D(YEAR, 8, 1), division=COUNTY), p[5])  # the third quarter
    await enrolment_row(await ended_cohort(b, D(YEAR, 4, 1), division=OTHER), p[6])
    await enrolment_row(
        await ended_cohort(a, D(YEAR, 4, 2), division=COUNTY, status=CohortStatus.CANCELLED), p[15]
    )
    s1 = await ended_cohort(a, D(YEAR, 2, 1), kind="startup", course="SYB", division=COUNTY)
    s2 = await ended_cohort(a, D(YEAR, 6, 1), kind="startup", course="GYB", division=COUNTY)
    await ended_cohort(
        a, D(YEAR, 6, 2), kind="startup", course="SYB", division=COUNTY, status=CohortStatus.CANCELLED
    )
    await enrolment_row(s1, p[7])
    await enrolment_row(s2, p[7])
    await enrolment_row(s2, p[8])
    await certificate_row(p[9], body, D(YEAR, 2, 1), level=3)
    await certificate_row(p[9], body, D(YEAR, 5, 1), level=2)  # counted once, at its first level
    await certificate_row(p[10], body, D(YEAR, 3, 1), level=2)
    await certificate_row(p[11], body, D(YEAR, 4, 1), level=1)
    await certificate_row(p[12], body, D(YEAR, 4, 1), level=4)  # not high-skill
    await certificate_row(p[13], body, D(YEAR, 4, 1), level=3, status="revoked")
    await certificate_row(p[14], other_body, D(YEAR, 5, 5), level=3)
    await targets.load_targets_file(
        system("test"),
        csv_bytes(
            [
                ["year", "division", "metric", "value"],
                [YEAR, "全市", "trainees_trained", 100],
                [YEAR, COUNTY, "trainees_trained", 8],
                [YEAR, COUNTY, "veterans_trained", 2],
                [YEAR, COUNTY, "high_skill_certified", 4],
                [YEAR, COUNTY, "startup_trained", 10],
                [YEAR, COUNTY, "startup_sessions", 4],
            ]
        ),
        "2047.csv",
    )


async def _one(sql: str, *args: Any) -> dict[str, Any]:
    rows = await connections.get("default").execute_query_dict(sql, list(args))
    first: dict[str, Any] = rows[0]
    return first


async def db_training(division: str | None, until: dt.date) -> dict[str, Any]:
    """People, person-times, veterans and two groups, straight from the source tables."""
    return await _one(
        "SELECT count(DISTINCT e.trainee_id) AS people, count(*) AS times, "
        "count(DISTINCT e.trainee_id) FILTER (WHERE e.groups::jsonb ? 'veteran') AS veterans, "
        "count(DISTINCT e.trainee_id) FILTER (WHERE e.groups::jsonb ? 'graduate') AS graduates, "
        "count(DISTINCT e.trainee_id) FILTER (WHERE e.groups::jsonb ? 'migrant_worker') AS migrants "
        "FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id "
        "WHERE c.kind = 'vocational' AND c.status <> 'cancelled' AND e.outcome = 'completed' "
        "AND c.end_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR c.division_id = $3)",
        START,
        until,
        division,
    )


async def db_high_skill(division: str | None, until: dt.date) -> dict[int, int]:
    """Level -> people whose first valid level-3+ certificate was issued in the period."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT f.level, count(*) AS n FROM (SELECT DISTINCT ON (c.trainee_id) c.trainee_id, c.level, "
        "c.issue_date, i.division_id FROM certificate AS c JOIN institution AS i ON i.id = c.issuer_id "
        "WHERE c.kind = 'skill_level' AND c.level <= 3 AND c.status = 'valid' "
        "ORDER BY c.trainee_id, c.issue_date, c.id) AS f "
        "WHERE f.issue_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR f.division_id = $3) GROUP BY f.level",
        [START, until, division],
    )
    return {int(r["level"]): int(r["n"]) for r in rows}


async def db_startup(division: str, until: dt.date) -> dict[str, tuple[int, int]]:
    """Course -> (people, sessions); '' -> the totals."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT CASE WHEN GROUPING(c.startup_course) = 1 THEN '' ELSE c.startup_course END AS course, "
        "count(DISTINCT e.trainee_id) AS people, count(DISTINCT c.id) AS sessions FROM cohort AS c "
        "LEFT JOIN enrolment AS e ON e.cohort_id = c.id AND e.outcome = 'completed' "
        "WHERE c.kind = 'startup' AND c.status <> 'cancelled' AND c.end_date BETWEEN $1 AND $2 "
        "AND c.division_id = $3 GROUP BY GROUPING SETS ((c.startup_course), ())",
        [START, until, division],
    )
    return {str(r["course"]): (int(r["people"]), int(r["sessions"])) for r in rows}


def sheet_rows(ws: Worksheet) -> dict[str, dict[str, Any]]:
    """Row 2's headers -> values, by the first column (a code)."""
    headers = [c.value for c in ws[2]]
    out: dict[str, dict[str, Any]] = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None or row[1] is None:
            continue
        out[str(row[0])] = dict(zip(headers, row, strict=True))
    return out


async def download(client: httpx.AsyncClient, headers: dict[str, str], year: int, quarter: int) -> Any:
    response = await client.get(f"{URL}?year={year}&quarter={quarter}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = download_name(response.headers["content-disposition"])  # RFC 6266 (issue 15)
    assert name.startswith(f"quarterly-{year}-Q{quarter}") and name.endswith(".xlsx")
    return load_workbook(io.BytesIO(response.content))


async def test_a_county_auditors_report_matches_the_database(
    client: httpx.AsyncClient, sign_in: Make, data: None
) -> None:
    actor = await sign_in("auditor", division=COUNTY)
    book = await download(client, actor.headers, YEAR, 2)
    assert book.sheetnames == ["说明", "职业技能培训", "高技能人才", "创业培训", "补贴资金"]
    # The report rolled its transaction back: no snapshot of the quarter's end is left.
    assert await ProgressSnapshot.filter(year=YEAR, as_of=Q2_END).count() == 0

    training = book["职业技能培训"]
    assert training.freeze_panes == "C3"
    assert training.column_dimensions["B"].width >= 10
    rows = sheet_rows(training)
    assert list(rows) == [COUNTY]  # its county only, no city total
    row = rows[COUNTY]
    db = await db_training(COUNTY, Q2_END)
    assert (db["people"], db["times"], db["veterans"]) == (3, 4, 1)
    assert row["培训人数"] == db["people"] and row["培训人次"] == db["times"]
    assert row["退役军人培训人数"] == db["veterans"]
    assert row["其中:高校毕业生"] == db["graduates"] == 1 and row["其中:农民工"] == db["migrants"] == 1
    assert row["目标任务(人)"] == 8 and row["完成率"] == pytest.approx(3 / 8)
    assert row["退役军人目标任务(人)"] == 2 and row["退役军人完成率"] == pytest.approx(0.5)
    cell = training.cell(row=3, column=5)
    assert cell.number_format == "0.00%" and training.cell(row=3, column=3).number_format == "#,##0"

    high = sheet_rows(book["高技能人才"])[COUNTY]
    levels = await db_high_skill(COUNTY, Q2_END)
    assert levels == {1: 1, 2: 1, 3: 1}
    assert high["新增高技能人才(人)"] == sum(levels.values())
    assert (high["其中:一级/高级技师"], high["其中:二级/技师"], high["其中:三级/高级工"]) == (
        levels[1],
        levels[2],
        levels[3],
    )
    assert high["目标任务(人)"] == 4 and high["完成率"] == pytest.approx(0.75)

    startup = sheet_rows(book["创业培训"])
    db_courses = await db_startup(COUNTY, Q2_END)
    for course in ("SYB", "GYB"):
        assert (startup[course]["创业培训人数"], startup[course]["创业培训期数"]) == db_courses[course]
    assert startup["IYB"]["创业培训人数"] == 0
    total = startup[COUNTY]
    assert (total["创业培训人数"], total["创业培训期数"]) == db_courses[""] == (2, 2)
    assert total["目标任务(人)"] == 10 and total["完成率"] == pytest.approx(0.2)
    assert total["目标任务(期)"] == 4 and total["完成率(期数)"] == pytest.approx(0.5)

    cover = [r for r in book["说明"].iter_rows(values_only=True)]
    assert ("统计期间", f"{YEAR}-01-01 至 {Q2_END.isoformat()} (年初至季末累计)") in cover


async def test_the_city_report_and_the_first_quarter(
    client: httpx.AsyncClient, sign_in: Make, data: None
) -> None:
    actor = await sign_in("admin")
    book = await download(client, actor.headers, YEAR, 1)
    rows = sheet_rows(book["职业技能培训"])
    assert "410300" in rows and COUNTY in rows and OTHER in rows
    for code, division in (("410300", None), (COUNTY, COUNTY), (OTHER, OTHER)):
        db = await db_training(division, Q1_END)
        assert (rows[code]["培训人数"], rows[code]["培训人次"]) == (db["people"], db["times"]), code
    assert rows["410300"]["培训人数"] == 2 and rows["410300"]["目标任务(人)"] == 100
    assert rows["410300"]["完成率"] == pytest.approx(0.02)
    high = sheet_rows(book["高技能人才"])
    assert high["410300"]["新增高技能人才(人)"] == sum((await db_high_skill(None, Q1_END)).values()) == 2
    assert high[OTHER]["新增高技能人才(人)"] == 0

    # The same numbers as the nightly rollup of that day (one counting rule).
    await service.rollup(system("test"), Q1_END)
    snap = {(m, s, d, k): v for m, s, d, k, v in await snapshot_rows(YEAR, Q1_END)}
    for code, scope in (("410300", ""), (COUNTY, COUNTY)):
        assert rows[code]["重点产业培训人数"] == snap.get(
            ("trainees_trained", scope, "sector", "priority"), 0
        )
        assert rows[code]["退役军人培训人数"] == snap[("veterans_trained", scope, "total", "")]


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


@pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")
async def test_the_money_matches_the_ledger(client: httpx.AsyncClient, sign_in: Make, vault: Vault) -> None:
    claim_id, _, _ = await noticed_claim(vault, [Trainee(), Trainee()], published_on=TODAY)
    division = str(
        (await _one("SELECT division_id FROM subsidy_claim WHERE id = $1", claim_id))["division_id"]
    )
    quarter = (TODAY.month - 1) // 3 + 1
    actor = await sign_in("auditor", division=division)
    book = await download(client, actor.headers, TODAY.year, quarter)
    money = book["补贴资金"]
    row = sheet_rows(money)[division]
    since = dt.date(TODAY.year, 1, 1)
    end = dt.date(TODAY.year, quarter * 3, 1) + dt.timedelta(days=31)
    until = dt.date(end.year, end.month, 1)  # the day after the quarter's end
    expected = await _one(
        "SELECT "
        "(SELECT coalesce(sum(l.total_fen), 0) FROM subsidy_claim AS c JOIN subsidy_line AS l ON l.claim_id = c.id "
        " WHERE c.division_id = $1 AND c.status NOT IN ('withdrawn', 'failed') "
        " AND (c.filed_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $2::date AND $3::date - 1) AS claimed, "
        "(SELECT coalesce(sum(l.total_fen), 0) FROM subsidy_claim AS c JOIN subsidy_line AS l ON l.claim_id = c.id "
        " WHERE c.division_id = $1 AND c.status NOT IN ('withdrawn', 'failed') AND l.decision = 'approved' "
        " AND (l.decided_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $2::date AND $3::date - 1) AS approved, "
        "(SELECT coalesce(sum(abs(g.amount_fen)) FILTER (WHERE g.reverses_id IS NULL), 0) FROM subsidy_grant AS g "
        " JOIN subsidy_claim AS c ON c.id = g.claim_id WHERE c.division_id = $1 "
        " AND (g.granted_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $2::date AND $3::date - 1) AS granted, "
        "(SELECT coalesce(sum(abs(g.amount_fen)) FILTER (WHERE g.reverses_id IS NOT NULL), 0) FROM subsidy_grant AS g "
        " JOIN subsidy_claim AS c ON c.id = g.claim_id WHERE c.division_id = $1 "
        " AND (g.granted_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $2::date AND $3::date - 1) AS reversed, "
        "(SELECT coalesce(sum(p.amount_fen), 0) FROM subsidy_payment AS p JOIN subsidy_claim AS c ON c.id = p.claim_id "
        " WHERE c.division_id = $1 AND p.paid_on BETWEEN $2::date AND $3::date - 1) AS paid",
        division,
        since,
        until,
    )
    assert int(expected["claimed"]) > 0 and int(expected["approved"]) > 0
    for header, metric in (
        ("申领补贴(元)", "claimed"),
        ("审核通过(元)", "approved"),
        ("已核定(元)", "granted"),
        ("已拨付(元)", "paid"),
        ("已追回(元)", "reversed"),
    ):
        assert round(float(row[header] or 0) * 100) == int(expected[metric]), header
    assert money.cell(row=3, column=3).number_format == "#,##0.00"


async def test_bad_input_and_who_may_download(client: httpx.AsyncClient, sign_in: Make) -> None:
    admin = await sign_in("admin")
    for query, field in (
        ("year=1999&quarter=1", "year"),
        ("year=2101&quarter=1", "year"),
        ("year=2047&quarter=0", "quarter"),
        ("year=2047&quarter=5", "quarter"),
        ("quarter=1", "year"),
        ("year=2047", "quarter"),
    ):
        body = problem(await client.get(f"{URL}?{query}", headers=admin.headers), 422)
        assert [e["field"] for e in body["errors"]] == [field], query
    for role in ("institution", "assessor"):
        actor = await sign_in(role)
        problem(await client.get(f"{URL}?year=2047&quarter=1", headers=actor.headers), 404)
    assert (await client.get(f"{URL}?year=2047&quarter=1")).status_code == 401
