"""The working-day calendar against a real PostgreSQL, as the application's role: the seed,
the bureau's loads, a notice's period.

The database is shared by the suite and never cleaned. 2027 must stay uncovered for the
other tests (it is the year the package does not know), so every test that loads 2027, or
changes a seeded year, does it inside a transaction it rolls back."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from registry.core.errors import ValidationFailed
from registry.core.principal import system
from registry.enums import CalendarDayKind, CalendarOrigin
from registry.models.calendar import CalendarDay, CalendarYear
from registry.notices.calendar import (
    load_calendar_year,
    notice_period,
    seed_from_package,
    working_days,
    working_days_with_sources,
)

pytestmark = pytest.mark.usefixtures("working_day_calendar")

PRINCIPAL = system("test")
DESIGN_EXAMPLE = [
    dt.date(2025, 9, 30),
    dt.date(2025, 10, 9),
    dt.date(2025, 10, 10),
    dt.date(2025, 10, 11),
    dt.date(2025, 10, 13),
]
SOURCE_2027 = "国务院办公厅关于2027年部分节假日安排的通知(示例)"

YAML_2027 = f"""year: 2027
source: {SOURCE_2027}
days:
  - {{date: 2027-01-01, kind: holiday, name: 元旦}}
  - {{date: 2027-01-02, kind: holiday, name: 元旦}}
  - {{date: 2027-01-03, kind: holiday, name: 元旦}}
  - {{date: 2027-02-06, kind: makeup_workday, name: 春节}}
  - {{date: 2027-02-07, kind: holiday, name: 春节}}
"""

CSV_2027 = f"""date,kind,source,name
2027-01-01,holiday,{SOURCE_2027},元旦
2027-01-04,holiday,{SOURCE_2027},元旦
"""


class _RollBack(Exception):
    pass


@asynccontextmanager
async def rolled_back() -> AsyncIterator[None]:
    """Everything inside runs in one transaction that is rolled back at the end."""
    try:
        async with in_transaction():
            yield
            raise _RollBack
    except _RollBack:
        pass


async def audit_count(action: str, entity_id: str) -> int:
    _, rows = await connections.get("default").execute_query(
        "SELECT count(*) AS n FROM audit_event WHERE action = $1 AND entity_id = $2", [action, entity_id]
    )
    return int(rows[0]["n"])


async def year_days(year: int) -> list[tuple[dt.date, str, str]]:
    rows = await CalendarDay.filter(date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)).order_by(
        "date"
    )
    return [(r.date, str(r.kind), r.name) for r in rows]


# --- the seed -----------------------------------------------------------------------------


async def test_the_seed_covers_2004_to_2026() -> None:
    years = await CalendarYear.all().order_by("year")
    package = [y for y in years if y.origin == CalendarOrigin.PACKAGE]
    assert [y.year for y in package] == list(range(2004, 2027))
    assert all(y.source.startswith("chinese-calendar 1.11") for y in package)
    day = await CalendarDay.get(date=dt.date(2025, 10, 11))
    assert (day.kind, day.name) == (CalendarDayKind.MAKEUP_WORKDAY, "National Day")
    assert day.source.startswith("chinese-calendar")
    assert not await CalendarYear.filter(year=2027).exists()


async def test_the_seed_is_idempotent() -> None:
    before = await audit_count("calendar.seed", "chinese-calendar")
    rows = await CalendarDay.all().count()
    again = await seed_from_package(PRINCIPAL)
    assert not again.changed
    assert again.seeded == ()
    assert set(again.unchanged) | set(again.kept) == set(range(2004, 2027))
    assert await audit_count("calendar.seed", "chinese-calendar") == before
    assert await CalendarDay.all().count() == rows


async def test_the_seed_rewrites_a_package_year_whose_content_changed() -> None:
    async with rolled_back():
        conn = connections.get("default")
        await conn.execute_query("UPDATE working_day_calendar_year SET sha256 = 'older' WHERE year = 2010")
        await conn.execute_query("DELETE FROM working_day_calendar WHERE date = '2010-10-01'")
        report = await seed_from_package(PRINCIPAL)
        assert report.seeded == (2010,)
        assert await CalendarDay.filter(date=dt.date(2010, 10, 1)).exists()
        assert (await CalendarYear.get(year=2010)).sha256 != "older"


# --- a notice's period --------------------------------------------------------------------


async def test_the_design_example() -> None:
    """Published Monday 2025-09-29, the notice runs 09-30, 10-09, 10-10, 10-11, 10-13."""
    assert await notice_period(dt.date(2025, 9, 29)) == DESIGN_EXAMPLE
    assert await working_days(dt.date(2025, 9, 30), 5) == DESIGN_EXAMPLE


async def test_a_notice_into_2027_is_refused_naming_the_year() -> None:
    with pytest.raises(ValidationFailed) as caught:
        await notice_period(dt.date(2026, 12, 28))
    assert caught.value.code == "calendar_not_loaded"
    assert caught.value.message == (
        "the working-day calendar does not cover 2027: load the State Council's 2027 holiday "
        "notice with `registry calendar load FILE`"
    )
    assert caught.value.errors[0].field == "published_on"
    # One that ends on 2026-12-31 needs nothing of 2027.
    assert (await notice_period(dt.date(2026, 12, 24)))[-1] == dt.date(2026, 12, 31)


async def test_notice_period_runs_on_the_callers_connection() -> None:
    async with in_transaction() as conn:
        assert await notice_period(dt.date(2025, 9, 29), conn) == DESIGN_EXAMPLE


async def test_working_days_name_their_sources() -> None:
    result = await working_days_with_sources(dt.date(2025, 12, 30), 5)
    assert result.days == [
        dt.date(2025, 12, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 4),
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 6),
    ]
    assert [row.year for row in result.years] == [2025, 2026]


# --- the bureau's loads -------------------------------------------------------------------


async def test_loading_2027_from_yaml() -> None:
    async with rolled_back():
        report = await load_calendar_year(PRINCIPAL, YAML_2027, "2027.yaml")
        assert (report.year, report.status, report.replaced) == (2027, "loaded", None)
        assert (report.holidays, report.makeup_workdays, report.source) == (4, 1, SOURCE_2027)
        year = await CalendarYear.get(year=2027)
        assert (year.origin, year.file_name, year.holidays) == (CalendarOrigin.BUREAU, "2027.yaml", 4)
        assert await audit_count("calendar.load", "2027") == 1
        # 12-28 (Mon) to 12-31, then 2027-01-01..03 off: the fifth day is Monday 01-04.
        assert await notice_period(dt.date(2026, 12, 27)) == [
            dt.date(2026, 12, 28),
            dt.date(2026, 12, 29),
            dt.date(2026, 12, 30),
            dt.date(2026, 12, 31),
            dt.date(2027, 1, 4),
        ]
        # The make-up Saturday counts, the holiday Sunday after it does not.
        assert await working_days(dt.date(2027, 2, 5), 3) == [
            dt.date(2027, 2, 5),
            dt.date(2027, 2, 6),
            dt.date(2027, 2, 8),
        ]
        again = await load_calendar_year(PRINCIPAL, YAML_2027, "again.yaml")
        assert again.status == "unchanged"
        assert await audit_count("calendar.load", "2027") == 1
    assert not await CalendarYear.filter(year=2027).exists()


async def test_loading_2027_from_csv_replaces_the_whole_year() -> None:
    async with rolled_back():
        await load_calendar_year(PRINCIPAL, YAML_2027, "2027.yaml")
        report = await load_calendar_year(PRINCIPAL, CSV_2027, "2027.csv")
        assert (report.status, report.replaced) == ("loaded", CalendarOrigin.BUREAU)
        assert await year_days(2027) == [
            (dt.date(2027, 1, 1), "holiday", "元旦"),
            (dt.date(2027, 1, 4), "holiday", "元旦"),
        ]
        assert (await CalendarYear.get(year=2027)).file_name == "2027.csv"
        assert await audit_count("calendar.load", "2027") == 2


async def test_a_bad_file_is_reported_whole_and_nothing_is_loaded() -> None:
    text = (
        "date,kind,source,name\n"
        "2027-01-01,holiday,s,元旦\n"
        "2027-01-02,day_off,s,\n"
        "2026-12-31,holiday,s,\n"
        "2027-01-01,holiday,s,\n"
        "2027-02-03,holiday,,\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        await load_calendar_year(PRINCIPAL, text, "2027.csv")
    assert [(e.row, e.column, e.code) for e in caught.value.errors] == [
        (3, "kind", "unknown_kind"),
        (4, "date", "outside_year"),
        (5, "date", "duplicate_date"),
        (6, "source", "missing_source"),
    ]
    assert not await CalendarYear.filter(year=2027).exists()
    assert await year_days(2027) == []
    assert await audit_count("calendar.load", "2027") == 0


async def test_a_bad_file_for_a_covered_year_leaves_it_as_it_was() -> None:
    before = await year_days(2025)
    with pytest.raises(ValidationFailed):
        await load_calendar_year(
            PRINCIPAL, "year: 2025\nsource: s\ndays:\n  - {date: 2025-10-01, kind: off}\n", "2025.yaml"
        )
    assert await year_days(2025) == before
    assert (await CalendarYear.get(year=2025)).origin == CalendarOrigin.PACKAGE


async def test_a_year_the_bureau_loaded_is_never_overwritten_by_the_seed() -> None:
    async with rolled_back():
        text = "year: 2005\nsource: 国务院办公厅 2005 (the bureau's copy)\ndays:\n  - {date: 2005-10-03, kind: holiday, name: 国庆节}\n"
        report = await load_calendar_year(PRINCIPAL, text, "2005.yaml")
        assert report.replaced == CalendarOrigin.PACKAGE
        seed = await seed_from_package(PRINCIPAL)
        assert seed.kept == (2005,) and not seed.changed
        assert await year_days(2005) == [(dt.date(2005, 10, 3), "holiday", "国庆节")]
        year = await CalendarYear.get(year=2005)
        assert (year.origin, year.source) == (CalendarOrigin.BUREAU, "国务院办公厅 2005 (the bureau's copy)")


async def test_a_year_without_holidays_is_covered() -> None:
    async with rolled_back():
        await load_calendar_year(
            PRINCIPAL, "year: 2090\nsource: a year without holidays\ndays: []\n", "2090.yaml"
        )
        assert await notice_period(dt.date(2090, 1, 2)) == [
            dt.date(2090, 1, 3),
            dt.date(2090, 1, 4),
            dt.date(2090, 1, 5),
            dt.date(2090, 1, 6),
            dt.date(2090, 1, 9),
        ]
    with pytest.raises(ValidationFailed):
        await notice_period(dt.date(2090, 1, 2))
