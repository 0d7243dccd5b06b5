"""The progress area's pure rules: metrics, targets files, pace and forecast (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.progress import rules
from registry.progress.rules import Earlier, Shape

D = dt.date
DIVISIONS = {"410305": "410305", "涧西区": "410305", "偃师市": "410307", "410307": "410307"}
HEADER = ["年度", "县区", "指标", "目标"]


def _parse(*rows: list[object], default_year: int | None = None) -> rules.ParsedTargets:
    table = [(n, list(r)) for n, r in enumerate(rows, start=1)]
    return rules.parse_target_rows(table, divisions=DIVISIONS, default_year=default_year)


# --- targets files ---------------------------------------------------------------------


def test_a_good_file_reads_every_row() -> None:
    parsed = _parse(
        HEADER,
        [2026, "涧西区", "trainees_trained", "12,000"],
        [2026, "偃师市", "veterans_trained", 100.0],
        [2026, "全市", "startup_sessions", 150],
        [None, None, None, None],
    )
    assert parsed.errors == []
    assert [(r.year, r.division_code, r.metric, r.value) for r in parsed.rows] == [
        (2026, "410305", "trainees_trained", 12000),
        (2026, "410307", "veterans_trained", 100),
        (2026, None, "startup_sessions", 150),
    ]


def test_the_year_column_is_optional_with_a_default_year() -> None:
    parsed = _parse(["division", "metric", "value"], ["410305", "trainees_trained", 5], default_year=2027)
    assert parsed.rows[0].year == 2027
    missing = _parse(["division", "metric", "value"], ["410305", "trainees_trained", 5])
    assert [(e.row, e.code) for e in missing.errors] == [(2, "missing_year")]


def test_every_bad_row_is_named_with_its_row_and_column() -> None:
    parsed = _parse(
        HEADER,
        [2026, "火星区", "trainees_trained", 1],
        [2026, "涧西区", "people_happy", 1],
        [2026, "涧西区", "veterans_trained", -5],
        [2026, "涧西区", "trainees_trained", "lots"],
        [1800, "涧西区", "trainees_trained", 1],
        [2026, "涧西区", "startup_trained", 10],
        [2026, "410305", "startup_trained", 11],
    )
    found = [(e.row, e.field, e.code, e.column) for e in parsed.errors]
    assert found == [
        (2, "division", "unknown_division", "县区"),
        (3, "metric", "unknown_metric", "指标"),
        (4, "value", "negative_value", "目标"),
        (5, "value", "invalid_value", "目标"),
        (6, "year", "year_out_of_range", "年度"),
        (8, "metric", "duplicate_row", "指标"),
    ]
    assert "row 7" in parsed.errors[-1].message


def test_no_header_no_rows() -> None:
    parsed = _parse(["a", "b"], ["x", "y"])
    assert parsed.header is None and parsed.rows == []


# --- pace --------------------------------------------------------------------------------

FLAT = Shape(2024, (10,) * 12)
AUTUMN = Shape(
    2024, (5, 1, 5, 5, 5, 5, 5, 5, 20, 20, 20, 4)
)  # 100 in all: little in February, much in autumn


def test_straight_line_on_the_first_day_of_a_year() -> None:
    share = rules.elapsed_share(D(2025, 1, 1), 2025, None)
    assert share.method == rules.STRAIGHT_LINE
    assert share.value == pytest.approx(1 / 365)
    assert "1 of 365 days" in share.note and "no complete year 2024" in share.note
    assert rules.expected_value(147_000, share) == 403  # 147,000 / 365 = 402.7 -> 403


def test_straight_line_in_a_leap_year_and_at_the_ends() -> None:
    assert rules.elapsed_share(D(2024, 12, 30), 2024, None).value == pytest.approx(365 / 366)
    assert rules.elapsed_share(D(2024, 12, 31), 2024, None).value == 1.0
    assert rules.elapsed_share(D(2023, 12, 31), 2024, None).value == 0.0


def test_the_previous_years_shape() -> None:
    share = rules.elapsed_share(D(2025, 2, 14), 2025, AUTUMN)
    assert share.method == rules.SHAPE
    # January's 5, plus 14/28 of February's 1: 5.5 of 100.
    assert share.value == pytest.approx(0.055)
    assert "2024's monthly shape" in share.note
    assert rules.expected_value(147_000, share) == 8_085
    # By the end of August 36 of 100 are done in that shape, against 243/365 on a line.
    assert rules.elapsed_share(D(2025, 8, 31), 2025, AUTUMN).value == pytest.approx(0.36)


def test_a_shape_that_counted_nothing_falls_back_to_a_straight_line() -> None:
    share = rules.elapsed_share(D(2025, 7, 2), 2025, Shape(2024, (0,) * 12))
    assert share.method == rules.STRAIGHT_LINE and "counted nothing" in share.note
    assert share.value == pytest.approx(183 / 365)


def test_the_first_day_of_a_year_in_a_shape() -> None:
    share = rules.elapsed_share(D(2025, 1, 1), 2025, FLAT)
    assert share.value == pytest.approx(10 / 31 / 120)
    pace = rules.assess("trainees_trained", 0, 147_000, D(2025, 1, 1), 2025, FLAT)
    assert pace.expected == 395  # 147,000 x 0.2688% = 395.2
    assert pace.gap == -395
    # Nothing done on the first day projects nothing: at risk, honestly.
    assert pace.forecast == 0 and pace.status == rules.AT_RISK


def test_a_month_with_no_history_expects_nothing_and_forecasts_nothing() -> None:
    shape = Shape(2024, (0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10))
    pace = rules.assess("startup_sessions", 0, 150, D(2025, 1, 20), 2025, shape)
    assert pace.expected == 0 and pace.forecast is None and pace.forecast_method == rules.NO_FORECAST
    assert pace.status == rules.ON_TRACK


def test_on_track_behind_at_risk() -> None:
    day = D(2025, 6, 30)  # 181 of 365 days on a line
    on_track = rules.assess("trainees_trained", 80_000, 147_000, day, 2025, None)
    assert on_track.status == rules.ON_TRACK and on_track.expected == 72_896 and on_track.gap == 7_104
    assert on_track.forecast == 161_326 and on_track.forecast_method == rules.YEAR_TO_DATE_PACE
    at_risk = rules.assess("trainees_trained", 60_000, 147_000, day, 2025, None)
    assert at_risk.status == rules.AT_RISK and at_risk.forecast == 120_994
    # Behind the expected value, but the recent pace (since a snapshot 30 days older) makes it.
    behind = rules.assess(
        "trainees_trained", 70_000, 147_000, day, 2025, None, Earlier(D(2025, 5, 31), 55_000)
    )
    assert behind.status == rules.BEHIND
    assert behind.forecast_method == rules.RECENT_PACE
    # 15,000 in 30 days of 365: 182,500 a year's worth; the remaining 184 days add 92,000.
    assert behind.forecast == 162_000
    assert "since 2025-05-31" in behind.forecast_note


CJK_OR_FIGURES = r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef0-9,.%/×= ]+"


def test_every_note_has_its_chinese_twin() -> None:
    """The English notes are the API's (``GET /progress``); the pages read the ``*_zh``
    ones: no Latin word in them, dates as people write them."""
    import re

    day = D(2025, 6, 30)
    cases = [
        rules.assess("trainees_trained", 80_000, 147_000, day, 2025, None),
        rules.assess("trainees_trained", 60_000, 147_000, day, 2025, None),
        rules.assess("trainees_trained", 70_000, 147_000, day, 2025, None, Earlier(D(2025, 5, 31), 55_000)),
        rules.assess("trainees_trained", 5, 147_000, D(2025, 2, 14), 2025, AUTUMN),
        rules.assess("trainees_trained", 1_205, 147_000, D(2025, 12, 31), 2025, None),
        rules.assess("trainees_trained", 0, 147_000, D(2024, 12, 31), 2025, None),
        rules.assess("trainees_trained", 0, 147_000, D(2025, 7, 2), 2025, Shape(2024, (0,) * 12)),
        rules.assess("subsidy_paid_fen", 5_000, None, D(2025, 3, 1), 2025, None),
    ]
    for pace in cases:
        for note in (pace.expected_note_zh, pace.forecast_note_zh, pace.status_note_zh, pace.share.note_zh):
            assert note and re.fullmatch(CJK_OR_FIGURES, note), note
    on_track, at_risk, behind, shaped, over, early, nothing, untargeted = cases
    assert on_track.status_note_zh == "已完成80,000，不低于目前应完成的72,896"
    assert at_risk.status_note_zh == "预计120,994，低于目标147,000"
    assert "（按预计仍可完成目标）" in behind.status_note_zh
    assert behind.forecast_note_zh.startswith("自2025年5月31日以来增加15,000")
    assert behind.forecast_note_zh.endswith("预计162,000")
    assert "2025年6月30日已过181天（全年365天）" in on_track.expected_note_zh
    assert shaped.share.note_zh.startswith("按2024年各月分布")
    assert (
        over.forecast_note_zh == "2025年已结束：预计值即实际值"
        and over.status_note_zh == "预计1,205，低于目标147,000"
    )
    assert early.forecast_note_zh == "尚无应完成的进度，无法按进度推算"
    assert "2024年无数据可作各月分布" in nothing.share.note_zh
    assert untargeted.status_note_zh == untargeted.expected_note_zh == "该指标在此范围内未设目标"
    # The English ones are unchanged (the API's contract).
    assert over.forecast_note == "2025 is over: the forecast is the value"
    assert rules.status(1_205, 1_000, 147_000, 1_205) == (AT_RISK_NOTE[0], AT_RISK_NOTE[1])
    assert rules.status_zh(1_205, 1_000, 147_000, 1_205) == "预计1,205，低于目标147,000"


AT_RISK_NOTE = (rules.AT_RISK, "the forecast 1,205 misses the target 147,000")


def test_a_recent_snapshot_too_close_is_not_used() -> None:
    pace = rules.assess(
        "trainees_trained", 70_000, 147_000, D(2025, 6, 30), 2025, None, Earlier(D(2025, 6, 20), 69_000)
    )
    assert pace.forecast_method == rules.YEAR_TO_DATE_PACE


def test_without_a_target_there_is_no_status() -> None:
    pace = rules.assess("subsidy_paid_fen", 5_000, None, D(2025, 3, 1), 2025, None)
    assert pace.target is None and pace.expected is None and pace.gap is None and pace.status is None
    assert pace.forecast is not None


def test_after_the_year_the_forecast_is_the_value() -> None:
    pace = rules.assess("veterans_trained", 1_100, 1_200, D(2025, 12, 31), 2025, AUTUMN)
    assert pace.forecast == 1_100 and pace.forecast_method == rules.FINAL
    assert pace.expected == 1_200 and pace.status == rules.AT_RISK


def test_every_metric_has_a_total_and_valid_dimensions() -> None:
    for metric in rules.METRICS.values():
        assert metric.dimensions[0] == rules.TOTAL
        assert set(metric.dimensions) <= set(rules.DIMENSIONS)
    assert set(rules.TARGETED) <= set(rules.METRICS)
