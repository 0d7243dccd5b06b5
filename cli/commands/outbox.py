"""``registry relay-outbox``: send the outbox rows still unsent, once (what the beat task
``registry.core.outbox.relay`` does every few seconds); exit 1 when a send failed."""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.core import outbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-age",
        type=float,
        default=outbox.RELAY_MIN_AGE_SECONDS,
        metavar="SECONDS",
        help=f"only rows older than this (default {outbox.RELAY_MIN_AGE_SECONDS:g})",
    )


def run(args: argparse.Namespace) -> int:
    async def work(_settings: object) -> outbox.RelayReport:
        return await outbox.relay(min_age_seconds=args.min_age)

    report = run_with_db(work)
    print(
        f"sent {report.sent} unsent jobs"
        + (" (stopped: a send failed, see the log)" if report.failed else "")
    )
    return 1 if report.failed else 0
