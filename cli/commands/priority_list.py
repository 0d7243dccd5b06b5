"""``registry import-priority-list FILE --name NAME --effective-from YYYY-MM-DD``: load the
bureau's published priority-trade list (CSV or XLSX with a code column).

Bad rows are all reported (row, column, problem) and nothing is written; the command then
exits non-zero (``cli.main`` prints the row errors).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.reference.service import PriorityListImportReport, import_priority_list


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the list: .csv (UTF-8 or GBK) or .xlsx, with a code column")
    parser.add_argument("--name", required=True, help="the list's name as published")
    parser.add_argument(
        "--effective-from", required=True, type=_date, help="the date the list takes effect (YYYY-MM-DD)"
    )
    parser.add_argument("--source-note", default="", help="where the list comes from (document number, URL)")


def format_report(report: PriorityListImportReport) -> str:
    if report.unchanged:
        what = "unchanged (the same list was already loaded)"
    elif report.replaced:
        what = "replaced the list with the same effective date"
    else:
        what = "loaded"
    return (
        f"priority list {report.name!r} effective {report.effective_from.isoformat()}: {what}; "
        f"{report.entries} trades (id {report.list_id}, file sha256 {report.file_sha256[:12]})"
    )


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2

    async def work(_settings: Settings) -> PriorityListImportReport:
        return await import_priority_list(
            system("cli"),
            path,
            path.name,
            name=args.name,
            effective_from=args.effective_from,
            source_note=args.source_note,
        )

    print(format_report(run_with_db(work)))
    return 0
