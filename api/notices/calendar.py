"""The working-day calendar the notices use (any signed-in user; docs/calendar.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import Parameter, QueryParameter

from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.notices import calendar
from registry.notices.calendar import MAX_WORKING_DAYS


class CalendarSource(msgspec.Struct):
    year: int
    origin: str
    """``package`` (the chinese-calendar seed) or ``bureau`` (the State Council's notice, loaded)."""
    source: str


class WorkingDaysRead(msgspec.Struct):
    from_: dt.date = msgspec.field(name="from")
    count: int
    days: list[dt.date]
    """The first ``count`` working days on or after ``from``."""
    sources: list[CalendarSource]
    """Where the calendar of each year the days fall in comes from."""


def _day(name: str, value: str | None) -> dt.date:
    """Parsed here, not by Litestar, so that a bad or missing value is reported under the
    query parameter's own name (``from``: a Python keyword)."""
    if value is None:
        raise ValidationFailed(
            f"{name} is required", errors=[FieldError(name, "required", f"{name} is required: YYYY-MM-DD")]
        )
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} is not a date",
            errors=[FieldError(name, "invalid_date", f"{name} is a date: YYYY-MM-DD")],
        ) from None


@get(
    "/calendar/working-days",
    summary="Working days from a date (Chinese holidays and make-up working days respected)",
    description=(
        "The first `count` working days on or after `from`: Monday to Friday except statutory "
        "holidays, and make-up working days (weekend days worked). A day of a year the calendar "
        "does not cover is refused (422 `calendar_not_loaded`, naming the year to load)."
    ),
    tags=["calendar"],
)
async def working_days(
    principal: Principal,
    date_from: Annotated[
        str | None,
        QueryParameter(
            name="from", format="date", required=True, description="the first day to consider, YYYY-MM-DD"
        ),
    ] = None,
    count: Annotated[int, Parameter(ge=1, le=MAX_WORKING_DAYS, description="how many working days")] = 5,
) -> WorkingDaysRead:
    del principal
    result = await calendar.working_days_with_sources(_day("from", date_from), count)
    return WorkingDaysRead(
        from_=result.start,
        count=result.count,
        days=result.days,
        sources=[CalendarSource(row.year, row.origin.value, row.source) for row in result.years],
    )


HANDLERS = [working_days]
