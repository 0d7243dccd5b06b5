"""``registry priority-list``: the city's priority-trade list (重点工种目录), which decides the
uplift (docs/operations.md, "The priority-trade list").

- ``registry priority-list load FILE --name NAME --effective-from YYYY-MM-DD [--code CODE]
  [--document DOC] [--source-note NOTE]``: load the bureau's published list (CSV or XLSX
  with a code column). The bureau publishes what it loads: the list is confirmed at load.
  ``registry import-priority-list FILE ...`` (the command's older name) does the same.
- ``registry priority-list confirm CODE --document DOC``: the bureau confirms a list it did
  not load (the shipped reference selection, ``reference-2025-01-01``) as published under
  a document; audited. Until then an uplift on it is flagged ``PRIORITY_LIST_UNCONFIRMED``.

Bad rows are all reported (row, column, problem) and nothing is written; the command then
exits non-zero (``cli.main`` prints the row errors), as it does for an unknown code or a
blank document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.reference.service import (
    PriorityListConfirmReport,
    PriorityListImportReport,
    confirm_priority_list,
    import_priority_list,
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the list: .csv (UTF-8 or GBK) or .xlsx, with a code column")
    parser.add_argument("--name", required=True, help="the list's name as published")
    parser.add_argument(
        "--effective-from", required=True, type=_date, help="the date the list takes effect (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--code",
        default=None,
        help="the list's code (letters, digits, . _ -); default: a replaced list's own, else list-YYYY-MM-DD",
    )
    parser.add_argument(
        "--document", default="", help="the document number it was published under (洛人社〔2026〕12号)"
    )
    parser.add_argument("--source-note", default="", help="where the list comes from (document number, URL)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="priority_list_command", required=True, metavar="ACTION")
    load = sub.add_parser(
        "load",
        help="load the bureau's published list (CSV or XLSX of codes); confirmed at load",
        description="load the bureau's published priority-trade list; docs/operations.md",
    )
    add_load_arguments(load)
    confirm = sub.add_parser(
        "confirm",
        help="the bureau confirms a list it did not load (the shipped reference selection)",
        description=(
            "record that the bureau published the list CODE (the shipped reference selection, "
            "reference-2025-01-01) under a document; audited"
        ),
    )
    confirm.add_argument("code", help="the list's code (GET /api/v1/priority-trades: list_code)")
    confirm.add_argument(
        "--document", required=True, help="the document number it was published under (洛人社〔2026〕12号)"
    )


def format_report(report: PriorityListImportReport) -> str:
    if report.unchanged:
        what = "unchanged (the same list was already loaded)"
    elif report.replaced:
        what = "replaced the list with the same effective date"
    else:
        what = "loaded"
    document = f", document {report.document}" if report.document else ""
    return (
        f"priority list {report.code} {report.name!r} effective {report.effective_from.isoformat()}: {what}; "
        f"{report.entries} trades (id {report.list_id}, file sha256 {report.file_sha256[:12]}); "
        f"published by the bureau{document}"
    )


def format_confirmation(report: PriorityListConfirmReport) -> str:
    what = "unchanged (already confirmed under this document)" if report.unchanged else "confirmed"
    kind = "the shipped reference selection" if report.reference_selection else "a list the bureau loaded"
    return (
        f"priority list {report.code} {report.name!r} effective {report.effective_from.isoformat()} "
        f"({kind}): {what}; document {report.document}, by {report.confirmed_by} "
        f"at {report.confirmed_at.isoformat(timespec='seconds')}"
    )


def run_load(args: argparse.Namespace) -> int:
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
            code=args.code,
            document=args.document,
        )

    print(format_report(run_with_db(work)))
    return 0


def run_confirm(args: argparse.Namespace) -> int:
    async def work(_settings: Settings) -> PriorityListConfirmReport:
        return await confirm_priority_list(system("cli"), args.code, document=args.document)

    print(format_confirmation(run_with_db(work)))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.priority_list_command == "load":
        return run_load(args)
    return run_confirm(args)
