"""``registry calendar``: the working-day calendar the public notices run on (docs/calendar.md).

- ``registry calendar load FILE [--year YEAR]``: load one year from the State Council's
  holiday notice, a CSV (header ``date,kind,source[,name]``) or YAML (``year``, ``source``,
  ``days: [{date, kind, name}]``) file. Every problem is reported with its line and column
  (or key), and nothing is loaded: an unknown kind, a date outside the file's year, a date
  listed twice, a make-up working day that is not a weekend day, a day without its source.
  Loading the same file again changes nothing.
- ``registry calendar show [YEAR]``: the covered years, or one year's days.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.notices import calendar
from registry.notices.calendar import CalendarLoadReport
from registry.notices.queries import DayRow, YearRow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    load = sub.add_parser(
        "load",
        help="load a year from the State Council's notice (CSV or YAML)",
        description="load a year from the State Council's notice (CSV or YAML); docs/calendar.md",
    )
    load.add_argument("file", type=Path, help="the year's file (.csv, .yaml or .yml)")
    load.add_argument("--year", type=int, default=None, help="the file's year (default: its dates')")
    show = sub.add_parser(
        "show", help="the covered years, or one year's days", description="show the calendar"
    )
    show.add_argument("year", type=int, nargs="?", default=None)


def format_report(report: CalendarLoadReport) -> str:
    if report.status == "unchanged":
        what = "unchanged (the same calendar is already loaded)"
    elif report.replaced is None:
        what = "loaded"
    else:
        what = f"loaded, replacing the {report.replaced.value} calendar"
    return (
        f"calendar {report.year}: {what}; {report.holidays} holidays, {report.makeup_workdays} "
        f"make-up working days; source {report.source}; sha256 {report.sha256[:12]}"
    )


def spans(years: list[int]) -> str:
    """``2004-2026, 2099``: consecutive years as one span."""
    out: list[str] = []
    start = previous = None
    for year in [*sorted(years), None]:
        if year is not None and previous is not None and year == previous + 1:
            previous = year
            continue
        if start is not None:
            out.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = year
    return ", ".join(out)


def format_years(years: list[YearRow]) -> str:
    if not years:
        return "the calendar covers no year: run `registry load-reference`"
    lines = [f"the calendar covers {spans([row.year for row in years])}:"]
    for row in years:
        file = f", file {row.file_name}" if row.file_name else ""
        lines.append(
            f"  {row.year}  {row.origin.value:8} {row.holidays:3} holidays {row.makeup_workdays:2} make-up days"
            f"  {row.source}{file}"
        )
    return "\n".join(lines)


def format_days(year: int, row: YearRow | None, days: list[DayRow]) -> str:
    if row is None:
        return f"the calendar does not cover {year}: load it with `registry calendar load FILE`"
    lines = [f"{year} ({row.origin.value}, {row.source}): {len(days)} days"]
    lines += [f"  {d.date.isoformat()} {d.date.strftime('%a')}  {d.kind.value:14} {d.name}" for d in days]
    return "\n".join(lines)


def _load(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        print(f"error: {path}: not UTF-8 text", file=sys.stderr)
        return 2

    async def work(_settings: Settings) -> CalendarLoadReport:
        return await calendar.load_calendar_year(system("cli"), text, path.name, year=args.year)

    print(format_report(run_with_db(work)))
    return 0


def _show(args: argparse.Namespace) -> int:
    year: int | None = args.year

    async def work(_settings: Settings) -> str:
        years = await calendar.calendar_years()
        if year is None:
            return format_years(years)
        row = next((r for r in years if r.year == year), None)
        return format_days(year, row, await calendar.calendar_days(year) if row is not None else [])

    print(run_with_db(work))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.calendar_command == "load":
        return _load(args)
    return _show(args)
