"""Loading targets against the real database: the shipped catalogue and the bureau's file.

Files here use years no other test loads targets for (2041-2044)."""

from __future__ import annotations

import pytest

from registry.core.errors import NotFound, ValidationFailed
from registry.core.principal import system
from registry.models.progress import Target
from registry.progress import targets
from tests.factories import acting_for, auditor, csv_bytes, new_institution, xlsx_bytes

SYSTEM = system("test")


async def test_the_catalogue_loads_once(divisions: None) -> None:
    first = await targets.load_catalogue_targets(SYSTEM)
    second = await targets.load_catalogue_targets(SYSTEM)
    assert not second.changed and second.targets == first.targets
    city_2025 = {
        t.metric: t.value for t in await Target.filter(year=2025, division_id=None, cumulative_from=None)
    }
    assert city_2025 == {
        "trainees_trained": 147_000,
        "high_skill_certified": 45_500,
        "startup_trained": 10_000,
        "startup_sessions": 150,
        "veterans_trained": 1_200,
    }
    assert (await Target.get(year=2027, metric="high_skill_certified", division_id=None)).value == 35_000
    cumulative = await Target.filter(cumulative_from=2025, year=2030).order_by("metric")
    assert [(t.metric, t.value) for t in cumulative] == [
        ("high_skill_certified", 200_000),
        ("startup_trained", 40_000),
    ]
    assert all(t.source for t in await Target.filter(origin="catalogue"))
    listed = await targets.list_targets(auditor(), 2028)
    assert {(t.metric, t.cumulative_from) for t in listed} >= {
        ("trainees_trained", None),
        ("startup_trained", 2025),
    }


async def test_a_file_splits_the_year_by_county_and_replaces_the_last(divisions: None) -> None:
    data = csv_bytes(
        [
            ["年度", "县区", "指标", "目标"],
            [2041, "涧西区", "trainees_trained", 20_000],
            [2041, "410302", "trainees_trained", 9_000],
            [2041, "410302", "veterans_trained", 150],
            [2041, "全市", "trainees_trained", 150_000],
        ]
    )
    report = await targets.load_targets_file(SYSTEM, data, "split.csv")
    assert (report.rows, report.added, report.years) == (4, 4, [2041])
    assert (await targets.load_targets_file(SYSTEM, data, "split.csv")).unchanged
    rows = {(t.division_id, t.metric): t.value for t in await Target.filter(year=2041)}
    assert rows == {
        ("410305", "trainees_trained"): 20_000,
        ("410302", "trainees_trained"): 9_000,
        ("410302", "veterans_trained"): 150,
        (None, "trainees_trained"): 150_000,
    }
    # A new file for the year replaces it; an XLSX without a year column takes --year.
    again = xlsx_bytes([["division", "metric", "value"], ["410305", "trainees_trained", 21_000]])
    report = await targets.load_targets_file(SYSTEM, again, "split.xlsx", year=2041)
    assert (report.added, report.changed, report.removed) == (0, 1, 3)
    assert {(t.division_id, t.metric): t.value for t in await Target.filter(year=2041)} == {
        ("410305", "trainees_trained"): 21_000
    }


async def test_a_bad_file_loads_nothing_and_names_every_row(divisions: None) -> None:
    data = csv_bytes(
        [
            ["year", "division", "metric", "value"],
            [2042, "410305", "trainees_trained", 100],
            [2042, "火星区", "trainees_trained", 100],
            [2042, "410305", "smiles", 100],
            [2042, "410302", "trainees_trained", -1],
            [2042, "410305", "trainees_trained", 200],
        ]
    )
    with pytest.raises(ValidationFailed) as caught:
        await targets.load_targets_file(SYSTEM, data, "bad.csv")
    assert [(e.row, e.field, e.code) for e in caught.value.errors] == [
        (3, "division", "unknown_division"),
        (4, "metric", "unknown_metric"),
        (5, "value", "negative_value"),
        (6, "metric", "duplicate_row"),
    ]
    assert await Target.filter(year=2042).count() == 0
    with pytest.raises(ValidationFailed) as caught:
        await targets.load_targets_file(SYSTEM, csv_bytes([["a", "b"], [1, 2]]), "nohead.csv")
    assert caught.value.code == "missing_columns"


async def test_only_auditors_and_admins_list_targets(divisions: None) -> None:
    institution = await new_institution()
    with pytest.raises(NotFound):
        await targets.list_targets(acting_for(institution), 2025)
    await targets.load_targets_file(
        SYSTEM,
        csv_bytes(
            [
                ["division", "metric", "value"],
                ["410323", "trainees_trained", 7],
                ["410302", "trainees_trained", 8],
            ]
        ),
        "t.csv",
        year=2043,
    )
    county = await targets.list_targets(auditor("410323"), 2043)
    assert {t.division_code for t in county if t.year == 2043} == {"410323"}
