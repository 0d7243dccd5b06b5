"""``registry load-reference``: load the shipped reference catalogue and subsidy policies (idempotent)."""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.reference.service import ReferenceLoadReport, load_reference
from registry.subsidy.service import PolicyLoadReport, load_shipped_policies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def format_report(report: ReferenceLoadReport, policies: list[PolicyLoadReport] | None = None) -> str:
    lines = [
        f"occupations: {report.occupations} in the catalogue, "
        f"{report.occupations_inserted} inserted, {report.occupations_updated} updated",
        f"divisions: {report.divisions} in the catalogue, "
        f"{report.divisions_inserted} inserted, {report.divisions_updated} updated",
    ]
    if report.priority_list_created:
        lines.append(f"priority list: reference selection created with {report.priority_trades} trades")
    else:
        lines.append("priority list: a list already exists, left as it is")
    for policy in policies or []:
        lines.append(f"subsidy policy {policy.code}: {policy.status}")
    changed = report.changed or any(p.status == "loaded" for p in policies or [])
    lines.append("changed" if changed else "nothing changed")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    del args

    async def work(_settings: Settings) -> tuple[ReferenceLoadReport, list[PolicyLoadReport]]:
        report = await load_reference(system("cli"))
        return report, await load_shipped_policies(system("cli"))

    print(format_report(*run_with_db(work)))
    return 0
