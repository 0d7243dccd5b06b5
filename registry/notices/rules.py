"""Working days and the days of a public notice (公示), from plain facts (pure).

A **working day** is a Monday to Friday that is not a statutory holiday, or a make-up working
day (调休上班: a weekend day worked instead). The facts come from ``working_day_calendar``
(:class:`CalendarFacts`); a day of a year the calendar does not cover is never guessed: the
functions refuse with ``calendar_not_loaded``, naming the year to load.

The notice runs :data:`NOTICE_WORKING_DAYS` working days, from the first working day after
the day it is published to the end of the fifth (DESIGN.md section 6). Published Monday
2025-09-29 it runs 09-30, 10-09, 10-10, 10-11 (a make-up Saturday) and 10-13, and ends at the
end of 2025-10-13.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from registry.core.errors import FieldError, ValidationFailed

NOTICE_WORKING_DAYS = 5
"""How many working days a public notice runs (DESIGN.md section 6)."""

CALENDAR_NOT_LOADED = "calendar_not_loaded"


@dataclass(frozen=True)
class CalendarFacts:
    """What the calendar says about a stretch of days: the holidays and make-up working days
    in it, and every year the calendar covers. ``known_through`` is the last day the two sets
    were read for (None: all of them); walking past it is a programming error, never a guess."""

    holidays: frozenset[dt.date]
    makeup_days: frozenset[dt.date]
    covered_years: frozenset[int]
    known_through: dt.date | None = None

    @classmethod
    def of(
        cls,
        holidays: Iterable[dt.date] = (),
        makeup_days: Iterable[dt.date] = (),
        covered_years: Iterable[int] = (),
        known_through: dt.date | None = None,
    ) -> CalendarFacts:
        return cls(frozenset(holidays), frozenset(makeup_days), frozenset(covered_years), known_through)

    def covers(self, year: int) -> bool:
        return year in self.covered_years


def is_working_day(day: dt.date, holidays: Iterable[dt.date], makeup_days: Iterable[dt.date]) -> bool:
    """Monday to Friday and not a holiday, or a make-up working day."""
    if day in makeup_days:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def calendar_not_loaded(year: int, field: str) -> ValidationFailed:
    """The error for a day of a year the calendar does not cover, naming the year to load."""
    message = (
        f"the working-day calendar does not cover {year}: load the State Council's {year} "
        "holiday notice with `registry calendar load FILE`"
    )
    return ValidationFailed(
        message, code=CALENDAR_NOT_LOADED, errors=[FieldError(field, CALENDAR_NOT_LOADED, message)]
    )


def working_days_from(
    start: dt.date, calendar: CalendarFacts, count: int, *, field: str = "from"
) -> list[dt.date]:
    """The first ``count`` working days on or after ``start``.

    Refuses (``calendar_not_loaded``, under ``field``) as soon as a day it needs falls in a
    year the calendar does not cover, even when the days found so far would have sufficed for
    a smaller count: the answer never depends on a guess."""
    if count < 1:
        raise ValidationFailed(
            "count must be at least 1", errors=[FieldError("count", "invalid", "count is at least 1")]
        )
    days: list[dt.date] = []
    day = start
    while True:
        if not calendar.covers(day.year):
            raise calendar_not_loaded(day.year, field)
        if calendar.known_through is not None and day > calendar.known_through:
            raise RuntimeError(f"the calendar facts end at {calendar.known_through}, {day} is needed")
        if is_working_day(day, calendar.holidays, calendar.makeup_days):
            days.append(day)
            if len(days) == count:
                return days
        day += dt.timedelta(days=1)  # never past 9999-12-31: year 9999 is never covered


def notice_days(
    published: dt.date,
    calendar: CalendarFacts,
    count: int = NOTICE_WORKING_DAYS,
    *,
    field: str = "published_on",
) -> list[dt.date]:
    """The ``count`` working days a notice published on ``published`` runs: from the first
    working day after that day; it ends at the end of the last one."""
    if published == dt.date.max:
        raise calendar_not_loaded(dt.MAXYEAR, field)
    return working_days_from(published + dt.timedelta(days=1), calendar, count, field=field)


def notice_end(published: dt.date, calendar: CalendarFacts, count: int = NOTICE_WORKING_DAYS) -> dt.date:
    """The last day of the notice (it ends at the end of that day, Asia/Shanghai)."""
    return notice_days(published, calendar, count)[-1]
