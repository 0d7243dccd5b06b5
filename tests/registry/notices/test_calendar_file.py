"""The bureau's calendar file (CSV and YAML) and the package seed, parsed (no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from registry.core.errors import ValidationFailed
from registry.enums import CalendarDayKind
from registry.notices.calendar_file import package_calendar, parse_calendar_file

SOURCE = "国务院办公厅关于2027年部分节假日安排的通知(示例)"

CSV_2027 = f"""date,kind,source,name
2027-01-01,holiday,{SOURCE},元旦
2027-02-06,holiday,{SOURCE},春节
2027-02-07,makeup_workday,{SOURCE},春节
"""

YAML_2027 = f"""year: 2027
source: {SOURCE}
days:
  - {{date: 2027-01-01, kind: holiday, name: 元旦}}
  - date: 2027-02-06
    kind: holiday
    name: 春节
  - {{date: 2027-02-07, kind: makeup_workday, name: 春节}}
"""


def errors_of(text: str, name: str, year: int | None = None) -> list[tuple[int | None, str | None, str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar_file(text, name, year)
    assert "nothing loaded" in caught.value.message
    assert caught.value.code == "invalid_calendar"
    return [(e.row, e.column, e.field, e.code) for e in caught.value.errors]


def test_a_csv_year() -> None:
    calendar = parse_calendar_file(CSV_2027, "2027.csv")
    assert calendar.year == 2027
    assert calendar.source == SOURCE
    assert [(e.date, e.kind, e.name, e.line) for e in calendar.entries] == [
        (dt.date(2027, 1, 1), CalendarDayKind.HOLIDAY, "元旦", 2),
        (dt.date(2027, 2, 6), CalendarDayKind.HOLIDAY, "春节", 3),
        (dt.date(2027, 2, 7), CalendarDayKind.MAKEUP_WORKDAY, "春节", 4),
    ]
    assert (calendar.holidays, calendar.makeup_workdays) == (2, 1)


def test_a_yaml_year_is_the_same_content_as_the_csv() -> None:
    from_yaml = parse_calendar_file(YAML_2027, "2027.yaml")
    from_csv = parse_calendar_file(CSV_2027, "2027.csv")
    assert from_yaml.entries[1].line == 5
    assert from_yaml.sha256 == from_csv.sha256
    assert parse_calendar_file(YAML_2027, "2027.yml").year == 2027


def test_csv_columns_in_any_order_name_optional_bom_and_blank_lines() -> None:
    text = "\ufeffsource,kind,date\n\n国办发明电〔2026〕1号,holiday,2027-05-01\n"
    calendar = parse_calendar_file(text, "c.csv")
    assert [(e.date, e.name, e.line) for e in calendar.entries] == [(dt.date(2027, 5, 1), "", 3)]


def test_a_yaml_year_without_holidays_is_a_year() -> None:
    calendar = parse_calendar_file("year: 2090\nsource: none that year\ndays: []\n", "2090.yaml")
    assert (calendar.year, calendar.entries) == (2090, ())
    assert parse_calendar_file("year: 2090\nsource: s\ndays:\n", "2090.yaml").entries == ()


def test_every_csv_problem_is_named_with_its_line_and_column() -> None:
    text = (
        "date,kind,source,name\n"
        "2027-01-01,holiday,s,元旦\n"  # 2
        "2027-01-02,day_off,s,\n"  # 3: unknown kind
        "2026-12-31,holiday,s,\n"  # 4: outside the year
        "2027-01-01,holiday,s,\n"  # 5: duplicate
        "2027-02-03,holiday,,\n"  # 6: no source
        "2027-02-30,holiday,s,\n"  # 7: no such date
        "2027-02-10,makeup_workday,s,\n"  # 8: a Wednesday
    )
    assert errors_of(text, "2027.csv") == [
        (3, "kind", "kind", "unknown_kind"),
        (4, "date", "date", "outside_year"),
        (5, "date", "date", "duplicate_date"),
        (6, "source", "source", "missing_source"),
        (7, "date", "date", "invalid_date"),
        (8, "kind", "kind", "makeup_not_weekend"),
    ]


def test_the_messages_say_what_is_wrong() -> None:
    text = "date,kind,source\n2027-01-01,holiday,s\n2027-01-01,holiday,s\n2026-12-31,holiday,s\n"
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar_file(text, "2027.csv")
    messages = [e.message for e in caught.value.errors]
    assert messages == [
        "2027-01-01 is listed twice (already on line 2)",
        "2026-12-31 is not in 2027, the file's year",
    ]
    assert caught.value.message.startswith("2027.csv: 2 problem(s), nothing loaded; first: date (line 3)")


def test_a_csv_given_its_year_judges_every_date_against_it() -> None:
    assert errors_of(CSV_2027, "x.csv", 2028) == [
        (2, "date", "date", "outside_year"),
        (3, "date", "date", "outside_year"),
        (4, "date", "date", "outside_year"),
    ]


def test_csv_header_problems() -> None:
    assert errors_of("date,kind,notes\n2027-01-01,holiday,x\n", "c.csv") == [
        (1, "notes", "notes", "unknown_column"),
        (1, None, "source", "missing_column"),
    ]
    assert errors_of("", "c.csv") == [(None, None, "header", "missing_header")]
    assert errors_of("date,kind,source\n", "c.csv") == [(None, None, "source", "missing_source")]
    assert errors_of("date,kind,source\n2027-01-01,holiday,s,extra\n", "c.csv") == [
        (2, None, "row", "extra_cells")
    ]


def test_every_yaml_problem_is_named_with_its_line_and_key() -> None:
    text = (
        "year: 2027\n"  # 1
        "source: s\n"  # 2
        "days:\n"  # 3
        "  - {date: 2027-01-01, kind: holiday}\n"  # 4
        "  - {date: 2027-01-02, kind: bridge}\n"  # 5
        "  - {date: 2028-01-01, kind: holiday}\n"  # 6
        "  - {date: 2027-01-01, kind: holiday}\n"  # 7
        "  - {date: 2027-02-30, kind: holiday}\n"  # 8
        "  - {date: 2027-02-10, kind: makeup_workday, colour: red}\n"  # 9
        "  - {kind: holiday}\n"  # 10
    )
    assert errors_of(text, "2027.yaml") == [
        (5, None, "days[1].kind", "unknown_kind"),
        (6, None, "days[2].date", "outside_year"),
        (7, None, "days[3].date", "duplicate_date"),
        (8, None, "days[4].date", "invalid_date"),
        (9, None, "days[5].colour", "unknown_key"),
        (9, None, "days[5].kind", "makeup_not_weekend"),
        (10, None, "days[6].date", "missing_key"),
    ]


def test_yaml_top_level_problems() -> None:
    assert errors_of("days: []\n", "y.yaml") == [
        (1, None, "source", "missing_source"),
        (1, None, "year", "missing_key"),
    ]
    assert errors_of("year: 2027\nsource: ''\nextra: 1\n", "y.yaml") == [
        (2, None, "source", "missing_source"),
        (3, None, "extra", "unknown_key"),
    ]
    assert errors_of("year: twenty\nsource: s\n", "y.yaml") == [(1, None, "year", "invalid_year")]
    assert errors_of("year: 2027\nsource: s\n", "y.yaml", 2028) == [(1, None, "year", "year_mismatch")]
    assert errors_of("- a\n", "y.yaml") == [(None, None, "$", "invalid")]
    assert errors_of("year: [\n", "y.yaml")[0][2:] == ("$", "invalid_yaml")
    assert errors_of("year: 2027\nsource: s\ndays: {}\n", "y.yaml") == [(3, None, "days", "invalid")]


def test_an_unknown_format_is_refused() -> None:
    assert errors_of(CSV_2027, "2027.txt") == [(None, None, "file", "unknown_format")]


def test_too_many_rows_is_refused_before_it_is_judged() -> None:
    rows = "".join("2027-01-01,holiday,s\n" for _ in range(400))
    assert errors_of("date,kind,source\n" + rows, "c.csv") == [(368, None, "rows", "too_many_rows")]


def test_the_package_seed_2004_to_2026() -> None:
    seed = package_calendar()
    assert list(seed) == list(range(2004, 2027))
    y2025 = seed[2025]
    assert y2025.source.startswith("chinese-calendar 1.11")
    assert "国务院办公厅" in y2025.source
    makeup = [e.date for e in y2025.entries if e.kind is CalendarDayKind.MAKEUP_WORKDAY]
    assert makeup == [
        dt.date(2025, 1, 26),
        dt.date(2025, 2, 8),
        dt.date(2025, 4, 27),
        dt.date(2025, 9, 28),
        dt.date(2025, 10, 11),
    ]
    assert all(e.date.year == 2025 for e in y2025.entries)
    assert package_calendar() == seed  # deterministic: the seed's hashes are stable


DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_the_documented_example_files_are_the_2026_notice() -> None:
    """docs/calendar-2026-example.yaml and .csv parse, agree, and hold the days the package
    has for 2026 (the example is a real notice, not an invented one)."""
    from_yaml = parse_calendar_file(
        (DOCS / "calendar-2026-example.yaml").read_text(encoding="utf-8"), "e.yaml"
    )
    from_csv = parse_calendar_file((DOCS / "calendar-2026-example.csv").read_text(encoding="utf-8"), "e.csv")
    assert from_yaml.sha256 == from_csv.sha256
    assert from_yaml.year == 2026
    package = package_calendar()[2026]
    assert [(e.date, e.kind) for e in from_yaml.entries] == [(e.date, e.kind) for e in package.entries]
    assert (from_yaml.holidays, from_yaml.makeup_workdays) == (33, 6)
