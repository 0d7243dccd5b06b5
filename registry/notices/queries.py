"""SQL of the working-day calendar: a stretch of days, the covered years, and replacing
whole years set-based (one DELETE and two ``unnest`` INSERTs, however many years)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.enums import CalendarDayKind, CalendarOrigin
from registry.notices.calendar_file import CalendarFile

CALENDAR_LOCK_KEY = 0x0CA1_E4DA
"""Serialises writes of the calendar (a bureau load and a seed never interleave)."""


@dataclass(frozen=True)
class DayRow:
    date: dt.date
    kind: CalendarDayKind
    name: str
    source: str


@dataclass(frozen=True)
class YearRow:
    year: int
    origin: CalendarOrigin
    source: str
    file_name: str
    sha256: str
    holidays: int
    makeup_workdays: int
    loaded_at: dt.datetime


def _conn(conn: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    return conn or connections.get("default")


def _year(row: Any) -> YearRow:
    return YearRow(
        year=int(row["year"]),
        origin=CalendarOrigin(row["origin"]),
        source=row["source"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        holidays=int(row["holidays"]),
        makeup_workdays=int(row["makeup_workdays"]),
        loaded_at=row["loaded_at"],
    )


async def lock_calendar(conn: BaseDBAsyncClient) -> None:
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [CALENDAR_LOCK_KEY])


async def days_between(start: dt.date, end: dt.date, conn: BaseDBAsyncClient | None = None) -> list[DayRow]:
    """The holidays and make-up working days from ``start`` to ``end`` (both inclusive)."""
    _, rows = await _conn(conn).execute_query(
        "SELECT date, kind, name, source FROM working_day_calendar WHERE date BETWEEN $1 AND $2 ORDER BY date",
        [start, end],
    )
    return [DayRow(r["date"], CalendarDayKind(r["kind"]), r["name"], r["source"]) for r in rows]


async def covered_years(conn: BaseDBAsyncClient | None = None) -> list[YearRow]:
    """Every year the calendar covers, in order (a few dozen rows)."""
    _, rows = await _conn(conn).execute_query(
        "SELECT year, origin, source, file_name, sha256, holidays, makeup_workdays, loaded_at "
        "FROM working_day_calendar_year ORDER BY year"
    )
    return [_year(row) for row in rows]


async def replace_years(
    conn: BaseDBAsyncClient,
    years: Sequence[CalendarFile],
    origin: CalendarOrigin,
    file_name: str = "",
) -> None:
    """Replace each year's days by the file's and record the year as covered (``origin``)."""
    if not years:
        return
    numbers = [f.year for f in years]
    await conn.execute_query(
        "DELETE FROM working_day_calendar WHERE date_part('year', date)::int = ANY($1::int[])", [numbers]
    )
    entries = [e for f in years for e in f.entries]
    if entries:
        await conn.execute_query(
            "INSERT INTO working_day_calendar (date, kind, name, source, loaded_at) "
            "SELECT d, k, n, s, now() FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) AS t(d, k, n, s)",
            [
                [e.date for e in entries],
                [e.kind.value for e in entries],
                [e.name for e in entries],
                [e.source for e in entries],
            ],
        )
    await conn.execute_query(
        """
        INSERT INTO working_day_calendar_year
            (year, origin, source, file_name, sha256, holidays, makeup_workdays, loaded_at)
        SELECT y, $2, s, $3, h, hd, mw, now()
        FROM unnest($1::smallint[], $4::text[], $5::text[], $6::smallint[], $7::smallint[]) AS t(y, s, h, hd, mw)
        ON CONFLICT (year) DO UPDATE SET
            origin = EXCLUDED.origin, source = EXCLUDED.source, file_name = EXCLUDED.file_name,
            sha256 = EXCLUDED.sha256, holidays = EXCLUDED.holidays,
            makeup_workdays = EXCLUDED.makeup_workdays, loaded_at = EXCLUDED.loaded_at
        """,
        [
            numbers,
            origin.value,
            file_name,
            [f.source for f in years],
            [f.sha256 for f in years],
            [f.holidays for f in years],
            [f.makeup_workdays for f in years],
        ],
    )
