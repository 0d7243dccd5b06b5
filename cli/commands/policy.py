"""``registry load-policy FILE``: validate and publish a subsidy policy document (YAML).

Every problem is reported with its key path and line, and nothing is loaded: unknown keys,
negative or non-integer amounts, a value without its source, a period that overlaps another
policy, the same code with other content (a published policy never changes). Loading the
same document again changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.subsidy.service import PolicyLoadReport, load_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the policy document (.yaml)")


def format_report(report: PolicyLoadReport) -> str:
    period = f"{report.effective_from.isoformat()} to {report.effective_to.isoformat() if report.effective_to else 'open'}"
    what = "loaded" if report.status == "loaded" else "unchanged (the same document is already published)"
    return f"policy {report.code} ({period}): {what}; sha256 {report.sha256[:12]}"


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8")

    async def work(_settings: Settings) -> PolicyLoadReport:
        return await load_policy(system("cli"), text, path.name)

    print(format_report(run_with_db(work)))
    return 0
