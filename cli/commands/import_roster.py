"""``registry import-roster COHORT_ID FILE [--mode valid_rows] [--as-username USER]``: enrol a
cohort from a roster file (CSV or XLSX) and print the report.

Exit status: 0 when rows were imported (or the file was already imported), 1 when the
file was refused (every refused row is printed with its row, column and reason), 2 for
a file-level error (too large, no header, cohort not found...). With ``valid_rows`` and
refused rows, ``--refused-out PATH`` writes them as XLSX with an error column.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.crypto import vault_from_settings
from registry.core.errors import NotFound
from registry.core.principal import Principal, system
from registry.core.settings import Settings
from registry.training.roster import service
from registry.training.roster.report import ImportReport


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cohort id (a UUID)") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cohort_id", type=_uuid, help="the cohort's id")
    parser.add_argument("file", type=Path, help="the roster: .csv (UTF-8 or GBK) or .xlsx")
    parser.add_argument(
        "--mode",
        choices=service.MODES,
        default="all_or_nothing",
        help="all_or_nothing (default): nothing is written when a row is refused; "
        "valid_rows: import the valid rows",
    )
    parser.add_argument(
        "--as-username", metavar="USER", help="act as this user (its tenancy applies); default: the operator"
    )
    parser.add_argument("--refused-out", type=Path, metavar="PATH", help="write the refused rows (XLSX) here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def format_report(report: ImportReport) -> str:
    lines = [
        f"{report.file_name} -> cohort {report.cohort_id}: {report.status}"
        + (" (unchanged)" if report.unchanged else ""),
        report.message,
        f"rows read {report.rows_read}, accepted {report.accepted}, refused {report.refused}, "
        f"already enrolled {report.already_enrolled}, duplicates in the file {report.duplicate_in_file}",
        f"batch {report.batch_id}, sha256 {report.sha256[:16]}",
    ]
    lines += [f"note: {note}" for note in report.notes]
    for error in report.errors:
        column = f", column {error['column']}" if error.get("column") else ""
        lines.append(f"  row {error.get('row')}{column}: {error['message']} [{error['code']}]")
    for skipped in report.skipped:
        lines.append(f"  row {skipped.get('row')}: {skipped['message']}")
    return "\n".join(lines)


async def _principal(username: str | None) -> Principal:
    if not username:
        return system("cli")
    from registry.accounts.users import principal_of
    from registry.models.auth import User

    user = await User.get_or_none(username=username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return principal_of(user)


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2

    async def work(settings: Settings) -> tuple[ImportReport, bytes | None]:
        vault = vault_from_settings(settings)
        principal = await _principal(args.as_username)
        report = await service.import_roster(
            principal, vault, args.cohort_id, path, path.name, mode=args.mode
        )
        refused = None
        if args.refused_out and report.refused_rows_file and report.batch_id:
            refused = await service.refused_rows_xlsx(principal, vault, args.cohort_id, report.batch_id)
        return report, refused

    report, refused = run_with_db(work)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else format_report(report))
    if refused is not None:
        args.refused_out.write_bytes(refused)
        print(f"refused rows written to {args.refused_out}")
    return 1 if report.status == "refused" else 0
