"""``registry load-reference``: load the shipped reference catalogue, subsidy policies, the
plan's city-wide targets (``registry/catalogue/targets.yaml``) and the working-day calendar's
seed from the ``chinese-calendar`` package (idempotent)."""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.core.principal import system
from registry.core.settings import Settings
from registry.notices.calendar import CalendarSeedReport, seed_from_package
from registry.progress.targets import CatalogueTargetsReport, load_catalogue_targets
from registry.reference.service import ReferenceLoadReport, load_reference
from registry.subsidy.service import PolicyLoadReport, load_shipped_policies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def format_report(
    report: ReferenceLoadReport,
    policies: list[PolicyLoadReport] | None = None,
    calendar: CalendarSeedReport | None = None,
    targets: CatalogueTargetsReport | None = None,
) -> str:
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
    if calendar is not None:
        lines.append(f"working-day calendar ({calendar.source}): {calendar.summary}")
    if targets is not None:
        lines.append(f"targets (targets.yaml): {targets.summary}")
    changed = (
        (targets is not None and targets.changed)
        or report.changed
        or any(p.status == "loaded" for p in policies or [])
        or (calendar is not None and calendar.changed)
    )
    lines.append("changed" if changed else "nothing changed")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    del args

    async def work(
        _settings: Settings,
    ) -> tuple[ReferenceLoadReport, list[PolicyLoadReport], CalendarSeedReport, CatalogueTargetsReport]:
        report = await load_reference(system("cli"))
        policies = await load_shipped_policies(system("cli"))
        calendar = await seed_from_package(system("cli"))
        return report, policies, calendar, await load_catalogue_targets(system("cli"))

    print(format_report(*run_with_db(work)))
    return 0
