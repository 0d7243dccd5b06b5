"""``registry notices close-due [--date YYYY-MM-DD]``: end the public notices whose last day
has passed, as beat's ``registry.notices.close_due`` does every hour: the approved lines
become grants in the ledger, one transaction a notice; a line that now conflicts goes back
to review. Safe to run again: a closed notice is left as it is. Without ``DATABASE_URL`` it
works on the embedded database under ``REGISTRY_HOME``, beside a running ``make up``, as
every command does (:func:`cli.runtime.run_with_db`).

``--date`` is today (Asia/Shanghai) or an earlier day, never a later one: judging by a day
that has not come would end notices early and grant before their five working days (a typo
of the year or the month). A later date is refused before the database is opened, naming
today; nothing changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from cli.runtime import run_with_db
from registry.core.clock import BUSINESS_TZ, business_today
from registry.core.principal import system
from registry.core.settings import Settings
from registry.notices import service


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    close = sub.add_parser("close-due", help="end the notices whose last day has passed")
    close.add_argument(
        "--date",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the business date to judge by: today (the default, Asia/Shanghai) or an earlier day",
    )


def date_refusal(date: dt.date | None, today: dt.date) -> str | None:
    """Why ``--date`` is refused (a day after ``today``), or None."""
    if date is None or date <= today:
        return None
    return (
        f"--date {date.isoformat()} is after today ({today.isoformat()}, {BUSINESS_TZ.key}): "
        "a notice ends only once its last working day has passed, so a later date would end "
        "notices early and grant before their five working days; give today or an earlier date "
        "(nothing was changed)"
    )


def run(args: argparse.Namespace) -> int:
    refusal = date_refusal(args.date, business_today())
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2

    async def work(_settings: Settings) -> list[service.CloseReport]:
        return await service.close_due_notices(system("operator"), args.date)

    reports = run_with_db(work)
    for report in reports:
        print(
            f"notice {report.notice_id} (claim {report.claim_id}): {report.granted} lines granted "
            f"({report.granted_fen / 100:,.2f} yuan), {report.returned} back to review"
        )
    print(f"{len(reports)} notices closed")
    return 0
