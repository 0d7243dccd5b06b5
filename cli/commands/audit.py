"""``registry verify-audit``: walk the hash chain; exit 1 and name the first broken row."""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.audit.service import ChainReport, verify_and_record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    async def work(_settings: object) -> ChainReport:
        return await verify_and_record(checked_by="cli:verify-audit")

    report = run_with_db(work)
    print(report.message)
    return 0 if report.ok else 1
