"""The working-day rules over plain facts (no database): working days, a notice's days, the
years the calendar does not cover."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.core.errors import ValidationFailed
from registry.enums import CalendarDayKind
from registry.notices.calendar_file import package_calendar
from registry.notices.rules import (
    CALENDAR_NOT_LOADED,
    NOTICE_WORKING_DAYS,
    CalendarFacts,
    is_working_day,
    notice_days,
    notice_end,
    working_days_from,
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def days(*texts: str) -> list[dt.date]:
    return [d(t) for t in texts]


PACKAGE = package_calendar()
SEEDED = CalendarFacts.of(
    holidays=[e.date for c in PACKAGE.values() for e in c.entries if e.kind is CalendarDayKind.HOLIDAY],
    makeup_days=[
        e.date for c in PACKAGE.values() for e in c.entries if e.kind is CalendarDayKind.MAKEUP_WORKDAY
    ],
    covered_years=PACKAGE,
)
"""What the seed gives the database: 2004-2026 from the chinese-calendar package."""

# National Day 2025 as the State Council's notice has it (国办发明电〔2024〕12号).
OCTOBER_2025 = CalendarFacts.of(
    holidays=[dt.date(2025, 10, n) for n in range(1, 9)],
    makeup_days=days("2025-09-28", "2025-10-11"),
    covered_years=[2025],
)


# --- is_working_day -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-09-29", True),  # an ordinary Monday
        ("2025-09-27", False),  # an ordinary Saturday
        ("2025-10-05", False),  # a Sunday inside the holiday block
        ("2025-10-01", False),  # a Wednesday holiday
        ("2025-10-08", False),  # the last day of the block, a Wednesday
        ("2025-10-09", True),  # back to work
        ("2025-10-11", True),  # a make-up Saturday
        ("2025-09-28", True),  # a make-up Sunday
        ("2025-10-12", False),  # the Sunday after it is not
    ],
)
def test_is_working_day(day: str, working: bool) -> None:
    assert is_working_day(d(day), OCTOBER_2025.holidays, OCTOBER_2025.makeup_days) is working


def test_a_make_up_day_wins_over_a_holiday_listed_on_it() -> None:
    # The file loader refuses a date listed twice; the rule still answers deterministically.
    assert is_working_day(d("2025-10-11"), {d("2025-10-11")}, {d("2025-10-11")})


def test_without_facts_only_the_weekday_decides() -> None:
    assert [is_working_day(d("2025-09-29") + dt.timedelta(n), (), ()) for n in range(7)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


# --- notice_days: the DESIGN example and friends ------------------------------------------


def test_the_design_example() -> None:
    """DESIGN.md section 6: published Monday 2025-09-29, the notice runs 09-30, 10-09, 10-10,
    10-11 (a make-up Saturday) and 10-13, and ends at the end of 2025-10-13."""
    expected = days("2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11", "2025-10-13")
    assert notice_days(d("2025-09-29"), OCTOBER_2025) == expected
    assert notice_days(d("2025-09-29"), SEEDED) == expected
    assert notice_end(d("2025-09-29"), SEEDED) == d("2025-10-13")
    assert NOTICE_WORKING_DAYS == 5


def test_the_day_of_publication_never_counts() -> None:
    # Published on a working day (a Tuesday), the notice starts the next one.
    assert notice_days(d("2025-09-30"), SEEDED)[0] == d("2025-10-09")
    # Published on the make-up Sunday 09-28: it still starts the day after.
    assert notice_days(d("2025-09-28"), SEEDED) == days(
        "2025-09-29", "2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11"
    )


def test_published_on_a_friday_skips_the_weekend() -> None:
    assert notice_days(d("2025-06-06"), SEEDED) == days(
        "2025-06-09", "2025-06-10", "2025-06-11", "2025-06-12", "2025-06-13"
    )


def test_spring_festival_2025() -> None:
    """春节 2025: 01-28 to 02-04 off, Sunday 01-26 and Saturday 02-08 worked."""
    assert notice_days(d("2025-01-24"), SEEDED) == days(
        "2025-01-26", "2025-01-27", "2025-02-05", "2025-02-06", "2025-02-07"
    )
    assert notice_days(d("2025-01-27"), SEEDED) == days(
        "2025-02-05", "2025-02-06", "2025-02-07", "2025-02-08", "2025-02-10"
    )


def test_spring_festival_2026_nine_days_off() -> None:
    """春节 2026: 02-15 to 02-23 off, Saturdays 02-14 and 02-28 worked."""
    assert notice_days(d("2026-02-13"), SEEDED) == days(
        "2026-02-14", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27"
    )
    assert notice_days(d("2026-02-24"), SEEDED) == days(
        "2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28", "2026-03-02"
    )


def test_national_day_2024_make_up_sunday_and_saturday() -> None:
    """国庆 2024: 10-01 to 10-07 off, Sunday 09-29 and Saturday 10-12 worked."""
    assert notice_days(d("2024-09-27"), SEEDED) == days(
        "2024-09-29", "2024-09-30", "2024-10-08", "2024-10-09", "2024-10-10"
    )
    assert notice_days(d("2024-10-08"), SEEDED) == days(
        "2024-10-09", "2024-10-10", "2024-10-11", "2024-10-12", "2024-10-14"
    )


def test_another_count() -> None:
    assert notice_days(d("2025-09-29"), SEEDED, count=1) == [d("2025-09-30")]
    assert len(notice_days(d("2025-01-01"), SEEDED, count=60)) == 60


# --- years the calendar does not cover ----------------------------------------------------


def test_a_notice_that_would_run_into_an_uncovered_year_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        notice_days(d("2026-12-28"), SEEDED)
    error = caught.value
    assert error.code == CALENDAR_NOT_LOADED
    assert error.message == (
        "the working-day calendar does not cover 2027: load the State Council's 2027 holiday "
        "notice with `registry calendar load FILE`"
    )
    assert [(e.field, e.code) for e in error.errors] == [("published_on", CALENDAR_NOT_LOADED)]
    assert "2027" in error.errors[0].message


def test_a_notice_that_ends_before_the_uncovered_year_is_not() -> None:
    # 12-25 (Fri), 28, 29, 30, 31: five working days, all in 2026.
    assert notice_days(d("2026-12-24"), SEEDED)[-1] == d("2026-12-31")


def test_only_the_days_it_needs_count_not_the_day_of_publication() -> None:
    # Published on the last day of an uncovered year, it runs in a covered one.
    assert notice_days(d("2003-12-31"), SEEDED) == days(
        "2004-01-02", "2004-01-05", "2004-01-06", "2004-01-07", "2004-01-08"
    )


def test_a_notice_published_in_an_uncovered_year_is_refused_naming_it() -> None:
    with pytest.raises(ValidationFailed) as caught:
        notice_days(d("2027-03-01"), SEEDED)
    assert "does not cover 2027" in caught.value.message


def test_a_covered_year_without_any_holiday_still_counts() -> None:
    bare = CalendarFacts.of(covered_years=[2031])
    assert notice_days(d("2031-01-01"), bare) == days(
        "2031-01-02", "2031-01-03", "2031-01-06", "2031-01-07", "2031-01-08"
    )


def test_a_gap_year_in_the_middle_is_refused_too() -> None:
    facts = CalendarFacts.of(covered_years=[2030, 2032])
    with pytest.raises(ValidationFailed) as caught:
        working_days_from(d("2030-12-01"), facts, 60, field="from")
    assert "does not cover 2031" in caught.value.message
    assert caught.value.errors[0].field == "from"


def test_the_last_day_of_the_calendar_is_refused_not_overflowed() -> None:
    with pytest.raises(ValidationFailed):
        notice_days(dt.date.max, CalendarFacts.of(covered_years=[9999]))


# --- working_days_from --------------------------------------------------------------------


def test_working_days_from_counts_the_first_day() -> None:
    assert working_days_from(d("2025-09-30"), SEEDED, 5) == days(
        "2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11", "2025-10-13"
    )
    assert working_days_from(d("2025-10-11"), SEEDED, 1) == [d("2025-10-11")]


def test_a_count_below_one_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        working_days_from(d("2025-09-30"), SEEDED, 0)
    assert caught.value.errors[0].field == "count"


def test_facts_read_for_too_short_a_stretch_are_a_programming_error() -> None:
    short = CalendarFacts.of(covered_years=[2025], known_through=d("2025-01-03"))
    with pytest.raises(RuntimeError):
        working_days_from(d("2025-01-01"), short, 5)
