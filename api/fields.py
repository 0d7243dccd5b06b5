"""Bounded field types shared by the request structs: the API's limits are the database's.

An ``integer`` column holds 32 bits, a ``smallint`` 16; a division code is ``char(6)``-like
(``varchar(6)``, six digits). A value past these is a 422 naming the field, never a 500
from PostgreSQL (issue 7 §2).

A date is a day of ``MIN_DAY``..``MAX_DAY`` (1900-2100: a birth date to a claim's last
window): every date of a JSON body is checked once, in :mod:`api.strict`, and a date query
parameter is read by :func:`query_day`. Past them, a rule adding months to a date, or a
business day turned into an instant, would leave the years Python and PostgreSQL can hold (a
500 before, issue 15 item 15)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar.params import Parameter

from registry.core.errors import FieldError, ValidationFailed

INT32_MAX = 2**31 - 1
SMALLINT_MAX = 2**15 - 1
DIVISION_PATTERN = r"^[0-9]{6}$"

Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
"""An ``integer`` column."""
SmallInt = Annotated[int, msgspec.Meta(ge=-SMALLINT_MAX - 1, le=SMALLINT_MAX)]
"""A ``smallint`` column."""
DivisionCode = Annotated[
    str, msgspec.Meta(pattern=DIVISION_PATTERN, description="a Luoyang division: six digits, e.g. 410305")
]
DivisionQuery = Annotated[
    str | None, Parameter(pattern=DIVISION_PATTERN, description="a division code: six digits")
]

MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2100, 12, 31)
DAY_RANGE = f"a date from {MIN_DAY.isoformat()} to {MAX_DAY.isoformat()}"


def day_in_range(value: Any) -> bool:
    """Whether a date (or a date-time's day) lies in ``MIN_DAY``..``MAX_DAY``; True for
    anything that is not a date."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return not isinstance(value, dt.date) or MIN_DAY <= value <= MAX_DAY


def day_out_of_range(field: str) -> ValidationFailed:
    """The 422 of a date outside ``MIN_DAY``..``MAX_DAY``, naming ``field``."""
    return ValidationFailed(
        f"{field} is out of range: {DAY_RANGE}",
        errors=[FieldError(field, "out_of_range", f"{field} is {DAY_RANGE}")],
    )


def query_day(name: str, value: str | None) -> dt.date | None:
    """A date query parameter (``YYYY-MM-DD``) read under its own name, bounded like every
    date of the API; None when it is not given."""
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} is not a date",
            errors=[FieldError(name, "invalid_date", f"{name} is a date: YYYY-MM-DD")],
        ) from None
    if not day_in_range(day):
        raise day_out_of_range(name)
    return day
