"""``registry report quarterly --year Y --quarter Q --out FILE``: the quarterly report
(季度报送) of the city as a workbook, the same one ``GET /api/v1/reports/quarterly.xlsx``
gives an admin (docs/reports.md). Without ``DATABASE_URL`` it works on the embedded
database under ``REGISTRY_HOME``, beside a running ``make up``, as every command does
(:func:`cli.runtime.run_with_db`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.reports import quarterly


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="report", required=True, metavar="REPORT")
    q = sub.add_parser("quarterly", help="the quarterly report to the province (XLSX)")
    q.add_argument("--year", type=int, required=True, help="the year")
    q.add_argument("--quarter", type=int, required=True, help="the quarter, 1..4")
    q.add_argument("--out", type=Path, required=True, metavar="FILE", help="the workbook to write (.xlsx)")


def run(args: argparse.Namespace) -> int:
    async def work(_settings: object) -> quarterly.QuarterlyReport:
        return await quarterly.quarterly_report(system("cli"), args.year, args.quarter)

    report = run_with_db(work)
    args.out.write_bytes(report.data)
    print(
        f"quarterly report {report.year} Q{report.quarter} ({report.scope.name}, year to date through "
        f"{report.as_of.isoformat()}): {args.out} ({len(report.data):,} bytes)"
    )
    return 0
