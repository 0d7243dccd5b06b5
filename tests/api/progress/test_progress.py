"""``GET /api/v1/targets``, ``/progress``, ``/progress/breakdown``, ``/progress/trend``: the
values of the last rollup with pace and forecast, auditors and admins only (404 for others),
a county auditor its own division only (404 for another), 422 naming the bad parameter.

The data are dated 2037 and 2038, years no other test uses."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from registry.core.principal import system
from registry.progress import service, targets
from tests.api.support import Make, problem
from tests.factories import (
    csv_bytes,
    ended_cohort,
    enrolment_row,
    ensure_catalogue,
    new_institution,
    person_row,
)

YEAR = 2038
COUNTY, OTHER = "410323", "410302"
D = dt.date


@pytest.fixture(scope="module")
async def rolled_up(divisions: None) -> None:
    await ensure_catalogue()
    a, b = await new_institution(COUNTY), await new_institution(OTHER)
    last_year = await ended_cohort(a, D(2037, 10, 15), division=COUNTY)  # the previous year: all in October
    for _ in range(4):
        await enrolment_row(last_year, await person_row())
    march = await ended_cohort(a, D(YEAR, 3, 10), division=COUNTY)
    await enrolment_row(march, await person_row(), groups=("veteran",))
    await enrolment_row(march, await person_row())
    await enrolment_row(await ended_cohort(b, D(YEAR, 3, 12), division=OTHER), await person_row())
    await targets.load_targets_file(
        system("test"),
        csv_bytes(
            [
                ["year", "division", "metric", "value"],
                [YEAR, "全市", "trainees_trained", 100],
                [YEAR, COUNTY, "trainees_trained", 10],
            ]
        ),
        "2038.csv",
    )
    await service.rollup(system("test"), D(2037, 12, 31))
    await service.rollup(system("test"), D(YEAR, 2, 28))
    await service.rollup(system("test"), D(YEAR, 3, 31))


def _metric(body: dict[str, object], name: str) -> dict[str, object]:
    metrics = body["metrics"]
    assert isinstance(metrics, list)
    return next(m for m in metrics if m["metric"] == name)


async def test_progress_of_the_city(client: httpx.AsyncClient, sign_in: Make, rolled_up: None) -> None:
    actor = await sign_in("auditor")
    response = await client.get(f"/api/v1/progress?year={YEAR}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2038-03-31" and body["scope"] == {"division_code": None, "name": "洛阳市"}
    assert body["shape_year"] == 2037
    trained = _metric(body, "trainees_trained")
    assert trained["value"] == 3 and trained["target"] == 100 and trained["unit"] == "people"
    # 2037 trained only in October: nothing is expected by March, so nothing is forecast.
    assert trained["method"] == "previous_year_shape" and trained["expected"] == 0 and trained["share"] == 0
    assert trained["status"] == "on_track" and trained["forecast"] is None
    assert "2037's monthly shape" in trained["expected_note"]
    assert _metric(body, "veterans_trained")["value"] == 1
    assert set(trained) == {
        "metric", "unit", "label", "value", "target", "target_source", "expected", "gap", "status",
        "forecast", "share", "method", "forecast_method", "expected_note", "forecast_note", "status_note",
    }  # fmt: skip
    assert {m["metric"] for m in body["metrics"]} >= {"subsidy_paid_fen", "startup_sessions"}


async def test_a_county_auditor_sees_its_division_only(
    client: httpx.AsyncClient, sign_in: Make, rolled_up: None
) -> None:
    county = await sign_in("auditor", division=COUNTY)
    mine = await client.get(f"/api/v1/progress?year={YEAR}", headers=county.headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["scope"]["division_code"] == COUNTY
    trained = _metric(mine.json(), "trainees_trained")
    assert trained["value"] == 2 and trained["target"] == 10
    problem(await client.get(f"/api/v1/progress?year={YEAR}&division={OTHER}", headers=county.headers), 404)
    by_division = await client.get(
        f"/api/v1/progress/breakdown?year={YEAR}&metric=trainees_trained&by=division", headers=county.headers
    )
    assert [i["key"] for i in by_division.json()["items"]] == [COUNTY]
    problem(
        await client.get(
            f"/api/v1/progress/trend?year={YEAR}&metric=trainees_trained&division={OTHER}",
            headers=county.headers,
        ),
        404,
    )
    listed = await client.get(f"/api/v1/targets?year={YEAR}", headers=county.headers)
    assert {(t["division_code"], t["value"]) for t in listed.json()["targets"] if t["year"] == YEAR} == {
        (None, 100),
        (COUNTY, 10),
    }
    admin = await sign_in("admin")
    other = await client.get(f"/api/v1/progress?year={YEAR}&division={OTHER}", headers=admin.headers)
    assert other.status_code == 200 and _metric(other.json(), "trainees_trained")["value"] == 1
    problem(await client.get(f"/api/v1/progress?year={YEAR}&division=999999", headers=admin.headers), 404)


@pytest.mark.parametrize("role", ["institution", "assessor"])
async def test_institutions_and_assessors_are_told_not_found(
    client: httpx.AsyncClient, sign_in: Make, role: str, rolled_up: None
) -> None:
    actor = await sign_in(role)
    for path in (
        f"/targets?year={YEAR}",
        f"/progress?year={YEAR}",
        f"/progress/breakdown?year={YEAR}&metric=trainees_trained&by=month",
        f"/progress/trend?year={YEAR}&metric=trainees_trained",
    ):
        problem(await client.get(f"/api/v1{path}", headers=actor.headers), 404)
    assert (await client.get(f"/api/v1/progress?year={YEAR}")).status_code == 401


async def test_breakdowns(client: httpx.AsyncClient, sign_in: Make, rolled_up: None) -> None:
    actor = await sign_in("admin")

    async def breakdown(metric: str, by: str) -> dict[str, object]:
        response = await client.get(
            f"/api/v1/progress/breakdown?year={YEAR}&metric={metric}&by={by}", headers=actor.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    by_division = await breakdown("trainees_trained", "division")
    assert by_division["total"] == 3 and by_division["as_of"] == "2038-03-31"
    assert [(i["key"], i["label"], i["value"]) for i in by_division["items"]] == [  # type: ignore[attr-defined]
        (COUNTY, "新安县", 2),
        (OTHER, "老城区", 1),
    ]
    months = await breakdown("trainees_trained", "month")
    assert [(i["key"], i["value"]) for i in months["items"]] == [("03", 3)]  # type: ignore[attr-defined]
    groups = await breakdown("veterans_trained", "group")
    assert [(i["key"], i["value"]) for i in groups["items"]] == [("veteran", 1)]  # type: ignore[attr-defined]
    occupations = await breakdown("training_person_times", "occupation")
    assert occupations["items"] == [{"key": "4-02-04-06", "label": "无人机驾驶员", "value": 3}]


async def test_the_trend(client: httpx.AsyncClient, sign_in: Make, rolled_up: None) -> None:
    actor = await sign_in("auditor")
    response = await client.get(
        f"/api/v1/progress/trend?year={YEAR}&metric=trainees_trained", headers=actor.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target"] == 100 and body["method"] == "previous_year_shape"
    assert body["points"] == [
        {"as_of": "2038-02-28", "value": 0, "expected": 0},
        {"as_of": "2038-03-31", "value": 3, "expected": 0},
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/progress?year=1999", "year"),
        ("/progress?year=2101", "year"),
        ("/progress?year=soon", "year"),
        ("/progress", "year"),
        ("/targets?year=3000", "year"),
        ("/progress/breakdown?year=2038&metric=smiles&by=month", "metric"),
        ("/progress/breakdown?year=2038&metric=trainees_trained&by=weather", "by"),
        ("/progress/breakdown?year=2038&metric=startup_sessions&by=group", "by"),
        ("/progress/trend?year=2038&metric=smiles", "metric"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, sign_in: Make, query: str, field: str
) -> None:
    actor = await sign_in("auditor")
    body = problem(await client.get(f"/api/v1{query}", headers=actor.headers), 422)
    assert field in [e["field"] for e in body["errors"]], body
