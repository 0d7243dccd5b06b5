"""The working-day calendar the public notices (公示) run on (DESIGN.md sections 4 and 6).

``working_day_calendar`` holds the days that are not what their weekday says: statutory
holidays and make-up working days (a weekend day worked). ``working_day_calendar_year``
records which years the calendar covers, and where each came from: a covered year with no
such day at all is still covered, and a year the bureau loaded itself is never overwritten by
the package seed. docs/calendar.md.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from registry.enums import CalendarDayKind, CalendarOrigin


class CalendarDay(Model):
    """One holiday or make-up working day."""

    date = fields.DateField(primary_key=True)
    kind = fields.CharEnumField(CalendarDayKind, max_length=16)
    name = fields.CharField(max_length=100, default="", description="e.g. 春节, National Day")
    source = fields.TextField(description="the notice (or the package) the day comes from")
    loaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "working_day_calendar"


class CalendarYear(Model):
    """A year the calendar covers: a notice that needs a day of any other year is refused."""

    year = fields.SmallIntField(primary_key=True, generated=False)
    origin = fields.CharEnumField(CalendarOrigin, max_length=16)
    source = fields.TextField(description="the State Council's notice, or the package and its version")
    file_name = fields.CharField(max_length=255, default="", description="the file the bureau loaded")
    sha256 = fields.CharField(max_length=64, description="SHA-256 of the year's days (canonical form)")
    holidays = fields.SmallIntField(default=0)
    makeup_workdays = fields.SmallIntField(default=0)
    loaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "working_day_calendar_year"
