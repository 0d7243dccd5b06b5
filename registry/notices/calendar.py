"""Use cases of the working-day calendar (docs/calendar.md).

- :func:`load_calendar_year`: the bureau loads a year from the State Council's notice
  (``registry calendar load FILE``): validated whole (nothing loaded on any problem), then the
  year's rows replaced in one unit of work with an audit event;
- :func:`seed_from_package`: every year the ``chinese-calendar`` package knows (2004-2026),
  as part of ``registry load-reference``; idempotent, and never over a year the bureau loaded;
- :func:`notice_period`: the working days a notice published on a date runs (what the notices
  call); :func:`working_days`: the working days from a date (the API's endpoint).

**Covered years.** ``working_day_calendar_year`` has one row per covered year (its origin,
source, file and content hash), so a year with no holiday at all is still covered, and a day
of any year without a row is refused with ``calendar_not_loaded``, never guessed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import CalendarDayKind, CalendarOrigin
from registry.notices import queries
from registry.notices.calendar_file import CalendarFile, package_calendar, package_source, parse_calendar_file
from registry.notices.queries import YearRow
from registry.notices.rules import NOTICE_WORKING_DAYS, CalendarFacts, notice_days, working_days_from

MAX_WORKING_DAYS = 60
"""The most working days the endpoint answers for at once."""


@dataclass(frozen=True)
class CalendarLoadReport:
    year: int
    status: Literal["loaded", "unchanged"]
    """``unchanged``: the bureau had already loaded exactly this content for the year."""
    source: str
    holidays: int
    makeup_workdays: int
    sha256: str
    replaced: CalendarOrigin | None
    """What the year held before (None: the year was not covered)."""


@dataclass(frozen=True)
class CalendarSeedReport:
    source: str
    seeded: tuple[int, ...]
    """Years written by this seed (new, or the package's content changed)."""
    unchanged: tuple[int, ...]
    kept: tuple[int, ...]
    """Years the package knows that the bureau loaded itself: left as the bureau loaded them."""

    @property
    def changed(self) -> bool:
        return bool(self.seeded)

    @property
    def summary(self) -> str:
        def span(years: tuple[int, ...]) -> str:
            if not years:
                return "none"
            return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])

        out = f"seeded {span(self.seeded)}, unchanged {span(self.unchanged)}"
        if self.kept:
            out += f", kept as the bureau loaded them: {', '.join(map(str, self.kept))}"
        return out


@dataclass(frozen=True)
class WorkingDays:
    start: dt.date
    count: int
    days: list[dt.date]
    years: list[YearRow]
    """The covered years the days fall in: where each year's calendar came from."""


def _summary(row: YearRow | None) -> dict[str, object] | None:
    if row is None:
        return None
    return {
        "year": row.year,
        "origin": row.origin.value,
        "source": row.source,
        "file_name": row.file_name,
        "holidays": row.holidays,
        "makeup_workdays": row.makeup_workdays,
        "sha256": row.sha256,
    }


async def load_calendar_file(principal: Principal, calendar: CalendarFile, name: str) -> CalendarLoadReport:
    """Replace a validated year (one unit of work under the calendar lock)."""
    sha256 = calendar.sha256
    async with unit_of_work(principal) as uow:
        await queries.lock_calendar(uow.conn)
        before = next(
            (row for row in await queries.covered_years(uow.conn) if row.year == calendar.year), None
        )
        report = CalendarLoadReport(
            year=calendar.year,
            status="loaded",
            source=calendar.source,
            holidays=calendar.holidays,
            makeup_workdays=calendar.makeup_workdays,
            sha256=sha256,
            replaced=before.origin if before is not None else None,
        )
        if before is not None and before.origin is CalendarOrigin.BUREAU and before.sha256 == sha256:
            return CalendarLoadReport(**{**report.__dict__, "status": "unchanged"})
        await queries.replace_years(uow.conn, [calendar], CalendarOrigin.BUREAU, name[:255])
        await uow.audit(
            "calendar.load",
            "working_day_calendar",
            calendar.year,
            before=_summary(before),
            after={
                "year": calendar.year,
                "origin": CalendarOrigin.BUREAU.value,
                "source": calendar.source,
                "file_name": name[:255],
                "holidays": calendar.holidays,
                "makeup_workdays": calendar.makeup_workdays,
                "sha256": sha256,
            },
        )
    return report


async def load_calendar_year(
    principal: Principal, text: str, name: str, *, year: int | None = None
) -> CalendarLoadReport:
    """Parse, validate and load one year from the bureau's file (CSV or YAML, by ``name``'s
    extension; ``year`` when a CSV's dates do not tell it). :class:`ValidationFailed` lists
    every problem with its line and column or key; nothing is loaded then."""
    calendar = await asyncio.to_thread(parse_calendar_file, text, name, year)
    return await load_calendar_file(principal, calendar, name)


async def seed_from_package(principal: Principal) -> CalendarSeedReport:
    """The years the ``chinese-calendar`` package knows, in one unit of work: a year not yet
    covered, or seeded before from other package content, is (re)written; a year the bureau
    loaded is kept. A second run changes nothing and records no audit event."""
    package = await asyncio.to_thread(package_calendar)
    source = package_source()
    seeded: list[CalendarFile] = []
    unchanged: list[int] = []
    kept: list[int] = []
    async with unit_of_work(principal) as uow:
        await queries.lock_calendar(uow.conn)
        existing = {row.year: row for row in await queries.covered_years(uow.conn)}
        for year, calendar in package.items():
            row = existing.get(year)
            if row is None or (row.origin is CalendarOrigin.PACKAGE and row.sha256 != calendar.sha256):
                seeded.append(calendar)
            elif row.origin is CalendarOrigin.BUREAU:
                kept.append(year)
            else:
                unchanged.append(year)
        if seeded:
            await queries.replace_years(uow.conn, seeded, CalendarOrigin.PACKAGE)
            await uow.audit(
                "calendar.seed",
                "working_day_calendar",
                "chinese-calendar",
                after={
                    "source": source,
                    "years": [c.year for c in seeded],
                    "holidays": sum(c.holidays for c in seeded),
                    "makeup_workdays": sum(c.makeup_workdays for c in seeded),
                    "kept": kept,
                },
            )
    return CalendarSeedReport(source, tuple(c.year for c in seeded), tuple(unchanged), tuple(kept))


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _window_end(start: dt.date, count: int) -> dt.date:
    """A day by which ``count`` working days from ``start`` have surely passed: a year has
    at least 240 working days and no holiday block is longer than 10 days, so 3 calendar days
    per working day plus 60 is ample."""
    try:
        return start + dt.timedelta(days=3 * count + 60)
    except OverflowError:
        return dt.date.max


async def calendar_facts(
    start: dt.date, count: int, conn: BaseDBAsyncClient | None = None
) -> tuple[CalendarFacts, list[YearRow]]:
    """The calendar's facts for ``count`` working days from ``start``, and the covered years."""
    end = _window_end(start, count)
    years = await queries.covered_years(conn)
    days = await queries.days_between(start, end, conn)
    facts = CalendarFacts.of(
        holidays=(d.date for d in days if d.kind is CalendarDayKind.HOLIDAY),
        makeup_days=(d.date for d in days if d.kind is CalendarDayKind.MAKEUP_WORKDAY),
        covered_years=(row.year for row in years),
        known_through=end,
    )
    return facts, years


async def notice_period(
    published: dt.date, conn: BaseDBAsyncClient | None = None, *, count: int = NOTICE_WORKING_DAYS
) -> list[dt.date]:
    """The working days a public notice published on ``published`` runs (5: DESIGN.md section
    6); it ends at the end of the last one. ``calendar_not_loaded`` (a ValidationFailed under
    ``published_on``) names a year it needs that the calendar does not cover."""
    start = published + dt.timedelta(days=1) if published < dt.date.max else published
    facts, _years = await calendar_facts(start, count, conn)
    return notice_days(published, facts, count)


async def working_days(start: dt.date, count: int) -> list[dt.date]:
    """The first ``count`` working days on or after ``start``."""
    return (await working_days_with_sources(start, count)).days


async def working_days_with_sources(start: dt.date, count: int) -> WorkingDays:
    """:func:`working_days` with the years' sources (``GET /calendar/working-days``)."""
    facts, years = await calendar_facts(start, count)
    days = working_days_from(start, facts, count, field="from")
    spanned = {day.year for day in days}
    return WorkingDays(start, count, days, [row for row in years if row.year in spanned])


async def calendar_years() -> list[YearRow]:
    """Every covered year, with its origin and source (``registry calendar show``)."""
    return await queries.covered_years()


async def calendar_days(year: int) -> list[queries.DayRow]:
    """A year's holidays and make-up working days, by date."""
    return await queries.days_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
