"""``registry notices close-due [--date YYYY-MM-DD]``: end the public notices whose last day
has passed, as beat's ``registry.notices.close_due`` does every hour: the approved lines
become grants in the ledger, one transaction a notice; a line that now conflicts goes back
to review. Safe to run again: a closed notice is left as it is. Without ``DATABASE_URL`` it
works on the embedded database under ``REGISTRY_HOME``, beside a running ``make up``, as
every command does (:func:`cli.runtime.run_with_db`)."""

from __future__ import annotations

import argparse
import datetime as dt

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.notices import service


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    close = sub.add_parser("close-due", help="end the notices whose last day has passed")
    close.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the business date to judge by (default: today in Asia/Shanghai)",
    )


def run(args: argparse.Namespace) -> int:
    async def work(_settings: object) -> list[service.CloseReport]:
        return await service.close_due_notices(system("operator"), args.date)

    reports = run_with_db(work)
    for report in reports:
        print(
            f"notice {report.notice_id} (claim {report.claim_id}): {report.granted} lines granted "
            f"({report.granted_fen / 100:,.2f} yuan), {report.returned} back to review"
        )
    print(f"{len(reports)} notices closed")
    return 0
