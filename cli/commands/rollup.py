"""``registry rollup [--as-of YYYY-MM-DD]``: the nightly rollup, by hand (docs/progress.md).

Recomputes the year to date of the as-of day (default: today, Asia/Shanghai) into
``progress_snapshot``, in one transaction under the rollup's advisory lock: a run started
while another runs waits for it (and says how long it waited), then replaces the day's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.progress.service import RollupReport, rollup


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of", type=_date, help="the day to count up to, inclusive (default: today, Asia/Shanghai)"
    )


def format_report(report: RollupReport) -> str:
    lines = [
        f"rollup of {report.year} as of {report.as_of.isoformat()}: {report.rows:,} rows written"
        + (f" (replacing {report.deleted:,} of an earlier run of that day)" if report.deleted else "")
        + f" in {report.seconds:.2f} s"
    ]
    if report.previous_year_rows:
        lines.append(
            f"{report.year - 1}-12-31 was missing: {report.previous_year_rows:,} rows written for it"
        )
    if report.waited_s >= 0.5:
        lines.append(f"waited {report.waited_s:.1f} s for another rollup to finish")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    async def work(_settings: Settings) -> RollupReport:
        return await rollup(system("cli"), args.as_of)

    print(format_report(run_with_db(work)))
    return 0
