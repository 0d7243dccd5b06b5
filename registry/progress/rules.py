"""The progress area's decisions, as pure functions over plain values (docs/progress.md).

- :data:`METRICS`: what the rollup counts (DESIGN.md section 7), each with its unit and the
  dimensions it is broken down by;
- :func:`parse_target_rows`: a targets file's rows (year, division, metric, value) judged
  row by row (every bad row named with its row and column; the caller loads nothing then);
- pace: :func:`elapsed_share` (how much of the year's work should be done by a day: the
  previous year's monthly shape, or a straight line), :func:`expected_value`,
  :func:`forecast` (the year-end value at the recent pace, or the year-to-date pace),
  :func:`status`, and :func:`assess`, which puts them together, each with a note of how it
  was computed.

Each note is given twice: in English (``note``, ``expected_note``...: what ``GET
/api/v1/progress`` has always answered, a contract integrations read) and in Chinese
(``note_zh``, ``expected_note_zh``...: what the bureau's pages show, with dates as
2025年10月13日).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from registry.core.errors import FieldError
from registry.core.tabular import column_letter, is_blank

# ---------------------------------------------------------------------------
# Metrics and dimensions
# ---------------------------------------------------------------------------

PEOPLE, PERSON_TIMES, SESSIONS, FEN = "people", "person_times", "sessions", "fen"

TOTAL, DIVISION, OCCUPATION, SECTOR, GROUP, MONTH, INSTITUTION = (
    "total",
    "division",
    "occupation",
    "sector",
    "group",
    "month",
    "institution",
)
DIMENSIONS = (TOTAL, DIVISION, OCCUPATION, SECTOR, GROUP, MONTH, INSTITUTION)
BREAKDOWNS = (DIVISION, OCCUPATION, SECTOR, GROUP, MONTH, INSTITUTION)
"""The ``by=`` of ``GET /progress/breakdown``."""

OTHER_SECTOR = "other"
"""The sector key of an occupation on no priority list in force."""
ANY_PRIORITY = "priority"
"""The sector key counting every priority trade together (people once)."""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    label: str
    """Chinese, for people (the dashboard, the report)."""
    dimensions: tuple[str, ...]
    counted: str
    """How it is counted, in a sentence (docs/progress.md says more)."""


_ALL = DIMENSIONS
_MONEY = (TOTAL, DIVISION, OCCUPATION, MONTH, INSTITUTION)
_STARTUP = (TOTAL, DIVISION, OCCUPATION, GROUP, MONTH, INSTITUTION)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "trainees_trained",
            PEOPLE,
            "职业技能培训人数",
            _ALL,
            "distinct people with a completed enrolment in a vocational cohort (not cancelled) "
            "that ended in the year up to the as-of day",
        ),
        Metric(
            "training_person_times",
            PERSON_TIMES,
            "职业技能培训人次",
            _ALL,
            "completed enrolments in those cohorts (person-times)",
        ),
        Metric(
            "veterans_trained",
            PEOPLE,
            "退役军人培训人数",
            _ALL,
            "trainees_trained restricted to enrolments that give the veteran group",
        ),
        Metric(
            "high_skill_certified",
            PEOPLE,
            "新增高技能人才(取证)",
            _ALL,
            "distinct people issued a valid skill-level certificate of level 3 or above in the "
            "year, counted once, in the year of their first such certificate",
        ),
        Metric(
            "startup_trained",
            PEOPLE,
            "创业培训人数",
            _STARTUP,
            "distinct people with a completed enrolment in a startup cohort that ended in the year",
        ),
        Metric(
            "startup_sessions",
            SESSIONS,
            "创业培训期数",
            (TOTAL, DIVISION, OCCUPATION, MONTH, INSTITUTION),
            "startup cohorts (not cancelled) that ended in the year",
        ),
        Metric(
            "subsidy_claimed_fen",
            FEN,
            "申领补贴",
            _MONEY,
            "the lines of claims filed in the year, except withdrawn and failed claims",
        ),
        Metric(
            "subsidy_approved_fen",
            FEN,
            "审核通过补贴",
            _MONEY,
            "the lines approved in the year (claims not withdrawn or failed)",
        ),
        Metric("subsidy_granted_fen", FEN, "已核定补贴", _MONEY, "grants in the ledger written in the year"),
        Metric(
            "subsidy_reversed_fen", FEN, "已追回补贴", _MONEY, "reversals (clawbacks) written in the year"
        ),
        Metric("subsidy_paid_fen", FEN, "已拨付补贴", _MONEY, "payments recorded with a date in the year"),
    )
}

TARGETED = (
    "trainees_trained",
    "high_skill_certified",
    "startup_trained",
    "startup_sessions",
    "veterans_trained",
)
"""The five numbers the plan judges a year by (the dashboard's cards)."""

MIN_YEAR, MAX_YEAR = 2000, 2100
"""The years the API and the files accept."""


# ---------------------------------------------------------------------------
# Targets files
# ---------------------------------------------------------------------------

CITY_NAMES = frozenset({"city", "全市", "洛阳市", "市本级", "410300"})
"""What a targets file writes in the division column for a city-wide row."""

_HEADERS: dict[str, frozenset[str]] = {
    "year": frozenset({"year", "年度", "年份", "年"}),
    "division": frozenset(
        {"division", "division_code", "县区", "区县", "县(市、区)", "县市区", "地区", "行政区划", "区划代码"}
    ),
    "metric": frozenset({"metric", "指标", "指标代码"}),
    "value": frozenset({"value", "target", "目标", "目标值", "目标任务", "任务数"}),
}
HEADER_SEARCH_ROWS = 20
MAX_TARGET_ROWS = 5_000


def _norm(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().lower().replace(" ", "")


@dataclass(frozen=True)
class TargetHeader:
    row: int
    columns: dict[str, int]
    """Column index of year (optional), division, metric, value."""
    labels: dict[str, str]


@dataclass(frozen=True)
class TargetRow:
    row: int
    year: int
    division_code: str | None
    """None: the city."""
    metric: str
    value: int


@dataclass
class ParsedTargets:
    header: TargetHeader | None
    rows: list[TargetRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def find_target_header(row_number: int, cells: Sequence[Any]) -> TargetHeader | None:
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for index, cell in enumerate(cells):
        name = _norm(cell)
        for column, names in _HEADERS.items():
            if column not in columns and name in {_norm(n) for n in names}:
                columns[column] = index
                labels[column] = str(cell).strip()
    if not {"division", "metric", "value"} <= columns.keys():
        return None
    return TargetHeader(row=row_number, columns=columns, labels=labels)


def _cell(cells: Sequence[Any], index: int | None) -> Any:
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _whole_number(value: Any) -> int | None:
    """A non-negative or negative whole number from a cell (``147000``, ``"147,000"``,
    ``147000.0``), or None when the cell holds anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(",", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
            return int(Decimal(text))
    return None


def _error(header: TargetHeader, row: int, column: str, code: str, message: str) -> FieldError:
    """An error of one cell, named by the header's label (or the column's letter)."""
    index = header.columns.get(column)
    label = header.labels.get(column) or (column_letter(index) if index is not None else column)
    return FieldError(column, code, message, row=row, column=label)


def _judge_row(
    header: TargetHeader,
    row: int,
    cells: Sequence[Any],
    known: Mapping[str, str],
    default_year: int | None,
) -> TargetRow | list[FieldError]:
    errors: list[FieldError] = []
    year: int | None = default_year
    if "year" in header.columns:
        raw_year = _cell(cells, header.columns["year"])
        if raw_year is not None:
            year = _whole_number(raw_year)
            if year is None:
                errors.append(_error(header, row, "year", "invalid_year", "the year is a whole number"))
            elif not MIN_YEAR <= year <= MAX_YEAR:
                errors.append(
                    _error(header, row, "year", "year_out_of_range", f"the year is {MIN_YEAR}..{MAX_YEAR}")
                )
                year = None
    if year is None and not errors:
        errors.append(_error(header, row, "year", "missing_year", "the row has no year: give --year"))
    raw_division = _cell(cells, header.columns["division"])
    division_text = _norm(raw_division)
    division: str | None = None
    if division_text in _CITY:
        division = None
    elif not division_text:
        errors.append(
            _error(header, row, "division", "missing_division", "the row names no division (or 全市)")
        )
    elif division_text in known:
        division = known[division_text]
    else:
        errors.append(
            _error(
                header,
                row,
                "division",
                "unknown_division",
                f"{str(raw_division).strip()!r} is not a division of Luoyang",
            )
        )
    metric = _norm(_cell(cells, header.columns["metric"]))
    if not metric:
        errors.append(_error(header, row, "metric", "missing_metric", "the row names no metric"))
    elif metric not in METRICS:
        errors.append(
            _error(
                header, row, "metric", "unknown_metric", f"{metric!r} is not a metric: {', '.join(METRICS)}"
            )
        )
    raw_value = _cell(cells, header.columns["value"])
    value = _whole_number(raw_value)
    if raw_value is None:
        errors.append(_error(header, row, "value", "missing_value", "the row has no value"))
    elif value is None:
        errors.append(_error(header, row, "value", "invalid_value", "the value is a whole number"))
    elif value < 0:
        errors.append(_error(header, row, "value", "negative_value", "a target is not negative"))
    if errors or year is None or value is None:
        return errors
    return TargetRow(row, year, division, metric, value)


_CITY = frozenset(_norm(name) for name in CITY_NAMES)


def parse_target_rows(
    rows: Iterable[tuple[int, Sequence[Any]]],
    *,
    divisions: Mapping[str, str],
    default_year: int | None,
) -> ParsedTargets:
    """Read a targets table: a header row naming division, metric and value columns (and
    optionally year); then one target a non-blank row.

    ``divisions`` maps what people write (a code, a name, an alias) to a division's code;
    ``default_year`` is the year of rows without a year (None: every row needs one). Every
    bad cell is an error naming its row and column: an unknown metric or division, a
    missing, negative or non-whole value, a year out of range, and a repeated (year,
    division, metric), which names the row it repeats.
    """
    parsed = ParsedTargets(header=None)
    known = {_norm(k): v for k, v in divisions.items()}
    first: dict[tuple[int, str | None, str], int] = {}
    for row_number, cells in rows:
        if parsed.header is None:
            if row_number > HEADER_SEARCH_ROWS:
                break
            parsed.header = find_target_header(row_number, cells)
            continue
        if is_blank(cells):
            continue
        if len(parsed.rows) + len(parsed.errors) >= MAX_TARGET_ROWS:
            parsed.errors.append(
                FieldError(
                    "file", "too_many_rows", f"at most {MAX_TARGET_ROWS:,} targets a file", row=row_number
                )
            )
            break
        judged = _judge_row(parsed.header, row_number, cells, known, default_year)
        if isinstance(judged, list):
            parsed.errors.extend(judged)
            continue
        key = (judged.year, judged.division_code, judged.metric)
        if key in first:
            parsed.errors.append(
                _error(
                    parsed.header,
                    row_number,
                    "metric",
                    "duplicate_row",
                    f"the same year, division and metric as row {first[key]}",
                )
            )
            continue
        first[key] = row_number
        parsed.rows.append(judged)
    return parsed


# ---------------------------------------------------------------------------
# Pace and forecast
# ---------------------------------------------------------------------------

SHAPE, STRAIGHT_LINE = "previous_year_shape", "straight_line"
RECENT_PACE, YEAR_TO_DATE_PACE, FINAL, NO_FORECAST = "recent_pace", "year_to_date_pace", "final", "none"
ON_TRACK, BEHIND, AT_RISK = "on_track", "behind", "at_risk"
RECENT_WINDOW_DAYS = 28
"""The recent pace is measured against a snapshot at least this many days older."""


@dataclass(frozen=True)
class Shape:
    """A year's monthly values of a metric (January first), the shape of the next year's
    expected progress."""

    year: int
    months: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.months) != 12:
            raise ValueError("a shape has twelve months")


@dataclass(frozen=True)
class Share:
    """The part of the year's work that should be done by the end of a day (0..1)."""

    value: float
    method: str
    """``previous_year_shape`` or ``straight_line``."""
    note: str
    note_zh: str


@dataclass(frozen=True)
class Earlier:
    """An earlier snapshot's value of the same metric and scope (for the recent pace)."""

    as_of: dt.date
    value: int


@dataclass(frozen=True)
class Forecast:
    value: int | None
    method: str
    note: str
    note_zh: str


@dataclass(frozen=True)
class Pace:
    metric: str
    value: int
    target: int | None
    expected: int | None
    gap: int | None
    """value - expected (negative: behind)."""
    status: str | None
    """on_track, behind, at_risk; None without a target."""
    forecast: int | None
    share: Share
    forecast_method: str
    expected_note: str
    forecast_note: str
    status_note: str
    expected_note_zh: str
    forecast_note_zh: str
    status_note_zh: str


METHOD_ZH = {SHAPE: "按上年各月分布", STRAIGHT_LINE: "按天数均匀推算"}
"""The share's methods in Chinese (the notes' words)."""
NO_TARGET, NO_TARGET_ZH = "no target for this metric and scope", "该指标在此范围内未设目标"


def _zh(day: dt.date) -> str:
    """A day as people write it (api.labels.chinese_date's form; the core cannot import it)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def round_half_up(value: float | Decimal) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _before(as_of: dt.date, year: int, method: str) -> Share:
    return Share(
        0.0,
        method,
        f"{as_of.isoformat()} is before {year}: nothing is expected yet",
        f"{_zh(as_of)}早于{year}年，尚无应完成的进度",
    )


def _passed(year: int, method: str) -> Share:
    return Share(1.0, method, f"the whole of {year} has passed", f"{year}年已全部过去")


def straight_line(as_of: dt.date, year: int, *, reason: str = "", reason_zh: str = "") -> Share:
    """Days elapsed (the as-of day counted whole) over the days of the year."""
    days = _days_in_year(year)
    if as_of < dt.date(year, 1, 1):
        return _before(as_of, year, STRAIGHT_LINE)
    if as_of >= dt.date(year, 12, 31):
        return _passed(year, STRAIGHT_LINE)
    elapsed = (as_of - dt.date(year, 1, 1)).days + 1
    note = f"a straight line through the year: {elapsed} of {days} days by the end of {as_of.isoformat()}"
    note_zh = f"按全年天数均匀推算：截至{_zh(as_of)}已过{elapsed}天（全年{days}天）"
    if reason:
        note += f" ({reason})"
    if reason_zh:
        note_zh += f"（{reason_zh}）"
    return Share(elapsed / days, STRAIGHT_LINE, note, note_zh)


def elapsed_share(as_of: dt.date, year: int, shape: Shape | None) -> Share:
    """The share of the year's work expected done by the end of ``as_of``: the previous
    year's months (the months before, and the elapsed days of this month's value), or a
    straight line when there is no previous year or it counted nothing."""
    if shape is None:
        return straight_line(
            as_of,
            year,
            reason=f"no complete year {year - 1} to take the monthly shape from",
            reason_zh=f"无{year - 1}年全年数据可作各月分布",
        )
    total = sum(shape.months)
    if total <= 0:
        return straight_line(
            as_of,
            year,
            reason=f"{shape.year} counted nothing to take the shape from",
            reason_zh=f"{shape.year}年无数据可作各月分布",
        )
    if as_of < dt.date(year, 1, 1):
        return _before(as_of, year, SHAPE)
    if as_of >= dt.date(year, 12, 31):
        return _passed(year, SHAPE)
    month = as_of.month
    before = sum(shape.months[: month - 1])
    this_month = shape.months[month - 1]
    days = calendar.monthrange(year, month)[1]
    done = before + this_month * as_of.day / days
    share = done / total
    note = (
        f"{shape.year}'s monthly shape: {before:,} of its {total:,} counted before "
        f"{calendar.month_abbr[month]}, plus {as_of.day}/{days} of {calendar.month_abbr[month]}'s "
        f"{this_month:,}: {_percent(share)} of the year by the end of {as_of.isoformat()}"
    )
    note_zh = (
        f"按{shape.year}年各月分布：{month}月前完成{before:,}（全年{total:,}），加{month}月"
        f"{this_month:,}的{as_of.day}/{days}：截至{_zh(as_of)}应完成全年的{_percent(share)}"
    )
    return Share(share, SHAPE, note, note_zh)


def expected_value(target: int, share: Share) -> int:
    """The target times the share, rounded half up."""
    return round_half_up(Decimal(target) * Decimal(str(share.value)))


def forecast(
    value: int, as_of: dt.date, year: int, shape: Shape | None, earlier: Earlier | None = None
) -> Forecast:
    """The year-end value: the recent pace (since a snapshot at least
    :data:`RECENT_WINDOW_DAYS` older, in the same shape) carried over the rest of the year;
    without one, the year-to-date pace (value / share); the value itself once the year is
    over; none while nothing is expected yet (the share is 0)."""
    share = elapsed_share(as_of, year, shape)
    if share.value >= 1.0:
        if as_of < dt.date(year, 12, 31):
            # Last year's monthly shape had the whole year done by this month: nothing more
            # is expected (the year itself is not over, and the note does not say it is).
            return Forecast(
                value,
                FINAL,
                f"by {share.method} the whole year was expected done by {as_of.isoformat()}: the forecast is the value",
                f"按{METHOD_ZH[share.method]}，全年进度至{_zh(as_of)}已全部到期：预计值即实际值",
            )
        return Forecast(
            value, FINAL, f"{year} is over: the forecast is the value", f"{year}年已结束：预计值即实际值"
        )
    if share.value <= 0.0:
        return Forecast(
            None,
            NO_FORECAST,
            "nothing is expected done yet, so there is no pace to project",
            "尚无应完成的进度，无法按进度推算",
        )
    method_zh = METHOD_ZH[share.method]
    if earlier is not None and (as_of - earlier.as_of).days >= RECENT_WINDOW_DAYS and earlier.value <= value:
        before = elapsed_share(earlier.as_of, year, shape)
        if share.value - before.value > 0:
            rate = (value - earlier.value) / (share.value - before.value)
            result = round_half_up(value + rate * (1.0 - share.value))
            return Forecast(
                result,
                RECENT_PACE,
                f"{value - earlier.value:,} since {earlier.as_of.isoformat()} while "
                f"{_percent(share.value - before.value)} of the year passed ({share.method}); at that pace "
                f"the remaining {_percent(1.0 - share.value)} adds {result - value:,}: {result:,}",
                f"自{_zh(earlier.as_of)}以来增加{value - earlier.value:,}，同期过去全年的"
                f"{_percent(share.value - before.value)}（{method_zh}）；按此进度，余下的"
                f"{_percent(1.0 - share.value)}将再增加{result - value:,}，预计{result:,}",
            )
    result = round_half_up(value / share.value)
    return Forecast(
        result,
        YEAR_TO_DATE_PACE,
        f"{value:,} in {_percent(share.value)} of the year ({share.method}); at that pace: {result:,}",
        f"全年已过{_percent(share.value)}（{method_zh}），完成{value:,}；按此进度预计{result:,}",
    )


def status(
    value: int, expected: int | None, target: int | None, projected: int | None
) -> tuple[str | None, str]:
    """``at_risk`` when the forecast misses the target, else ``on_track`` at or above the
    expected value, else ``behind``; None without a target. The note in English (the
    Chinese: :func:`status_zh`)."""
    state, note, _note_zh = _status(value, expected, target, projected)
    return state, note


def status_zh(value: int, expected: int | None, target: int | None, projected: int | None) -> str:
    """:func:`status`'s note in Chinese."""
    return _status(value, expected, target, projected)[2]


def _status(
    value: int, expected: int | None, target: int | None, projected: int | None
) -> tuple[str | None, str, str]:
    if target is None or expected is None:
        return None, NO_TARGET, NO_TARGET_ZH
    if projected is not None and projected < target:
        return (
            AT_RISK,
            f"the forecast {projected:,} misses the target {target:,}",
            f"预计{projected:,}，低于目标{target:,}",
        )
    if value >= expected:
        return (
            ON_TRACK,
            f"{value:,} is at or above the {expected:,} expected by now",
            f"已完成{value:,}，不低于目前应完成的{expected:,}",
        )
    return (
        BEHIND,
        f"{value:,} is below the {expected:,} expected by now (the forecast still makes the target)",
        f"已完成{value:,}，低于目前应完成的{expected:,}（按预计仍可完成目标）",
    )


def assess(
    metric: str,
    value: int,
    target: int | None,
    as_of: dt.date,
    year: int,
    shape: Shape | None,
    earlier: Earlier | None = None,
) -> Pace:
    """Value, target, expected value, gap, status and forecast of one metric in one scope,
    each with a note of how it was computed."""
    share = elapsed_share(as_of, year, shape)
    projected = forecast(value, as_of, year, shape, earlier)
    if target is None:
        expected = gap = None
        expected_note, expected_note_zh = NO_TARGET, NO_TARGET_ZH
    else:
        expected = expected_value(target, share)
        gap = value - expected
        expected_note = f"target {target:,} x {_percent(share.value)} = {expected:,}: {share.note}"
        expected_note_zh = f"目标{target:,} × {_percent(share.value)} = {expected:,}：{share.note_zh}"
    state, state_note, state_note_zh = _status(value, expected, target, projected.value)
    return Pace(
        metric=metric,
        value=value,
        target=target,
        expected=expected,
        gap=gap,
        status=state,
        forecast=projected.value,
        share=share,
        forecast_method=projected.method,
        expected_note=expected_note,
        forecast_note=projected.note,
        status_note=state_note,
        expected_note_zh=expected_note_zh,
        forecast_note_zh=projected.note_zh,
        status_note_zh=state_note_zh,
    )
