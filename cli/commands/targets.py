"""``registry load-targets FILE [--year YYYY] [--source-note TEXT]``: load the bureau's split of
the targets by county (a CSV or XLSX of year, division, metric, value; docs/progress.md).

Bad rows are all reported (row, column, problem) and nothing is loaded; the command then
exits non-zero (``cli.main`` prints the row errors).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.progress.targets import TargetsFileReport, load_targets_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        help="the targets: .csv (UTF-8 or GBK) or .xlsx with division, metric, value (and year)",
    )
    parser.add_argument("--year", type=int, help="the year of rows without a year column or cell")
    parser.add_argument(
        "--source-note", default="", help="where the targets come from (the bureau's document)"
    )


def format_report(report: TargetsFileReport) -> str:
    years = ", ".join(map(str, report.years))
    if report.unchanged:
        return f"targets of {years} from {report.file_name}: unchanged ({report.rows} targets already loaded)"
    return (
        f"targets of {years} from {report.file_name}: {report.rows} loaded ({report.added} new, "
        f"{report.changed} changed, {report.removed} removed; file sha256 {report.sha256[:12]})"
    )


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2

    async def work(_settings: Settings) -> TargetsFileReport:
        return await load_targets_file(
            system("cli"), path, path.name, year=args.year, source_note=args.source_note
        )

    print(format_report(run_with_db(work)))
    return 0
