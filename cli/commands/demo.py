"""``registry demo [--year YYYY] [--scale tiny|small|city] [--seed N]``: generate a synthetic
year of training and certification and load it through the real services.

``--scale small`` is what ``make up`` loads (seconds); ``--scale city`` is the city plan's
size (about 4,400 cohorts, 157,000 enrolments; minutes). Running it again for the same
year, scale and seed changes nothing ("already loaded"); a run cut short is completed.
Exit status 0, or 2 for a refusal (another scale or seed already loaded for the year...).
"""

from __future__ import annotations

import argparse
import sys

from cli.demo.plan import SCALES
from cli.demo.run import DemoResult, default_year, format_summary, run_demo
from cli.runtime import run_with_db
from registry.core.clock import business_today
from registry.core.crypto import vault_from_settings
from registry.core.settings import Settings


def _say(message: str) -> None:
    print(message, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--year",
        type=int,
        default=None,
        help="the year to generate; default: last year until June, the current year from July",
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small", help="default: small")
    parser.add_argument("--seed", type=int, default=1, help="the generator's seed (default 1)")


def run(args: argparse.Namespace) -> int:
    year: int = args.year if args.year is not None else default_year(business_today())
    if args.seed < 0:
        print("error: --seed is 0 or more", file=sys.stderr)
        return 2

    async def work(settings: Settings) -> DemoResult:
        vault = vault_from_settings(settings)
        return await run_demo(vault, year=year, scale=args.scale, seed=args.seed, say=_say)

    result = run_with_db(work)
    _say(format_summary(result))
    return 0
