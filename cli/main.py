"""The ``registry`` command: one subcommand per operator task.

Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from registry.core.errors import RegistryError

# name -> (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("cli.up", "run the whole system locally (embedded PostgreSQL and Redis unless configured)"),
    "migrate": ("cli.commands.database", "apply the database migrations"),
    "check-migrations": ("cli.commands.check_migrations", "fail when the models and the migrations disagree"),
    "load-reference": ("cli.commands.reference", "load the reference catalogue (idempotent)"),
    "priority-list": (
        "cli.commands.priority_list",
        "the priority-trade list: load the bureau's (load FILE), confirm the shipped one (confirm CODE)",
    ),
    "import-priority-list": (
        "cli.commands.import_priority_list",
        "replace the priority-trade list by the bureau's (the older name of priority-list load)",
    ),
    "load-policy": ("cli.commands.policy", "validate and publish a subsidy policy document (YAML)"),
    "policy-doc": (
        "cli.commands.policy_doc",
        "the policy reference (Markdown) from a catalogue policy document",
    ),
    "calendar": (
        "cli.commands.calendar",
        "the working-day calendar: load a year from the State Council's notice, show a year",
    ),
    "notices": ("cli.commands.notices", "end the public notices whose last day has passed (close-due)"),
    "create-user": ("cli.commands.users", "create a user who signs in"),
    "verify-audit": ("cli.commands.audit", "walk the audit chain and name the first broken row"),
    "relay-outbox": ("cli.commands.outbox", "send the queued jobs still unsent in the outbox, once"),
    "rotate-keys": (
        "cli.commands.rotate_keys",
        "re-encrypt (and --reindex) the personal data under the current keys",
    ),
    "seal-certificate-numbers": (
        "cli.commands.seal_certificate_numbers",
        "after migrating: encrypt the certificate numbers stored in clear that are ID numbers",
    ),
    "load-targets": ("cli.commands.targets", "load the bureau's targets by county (CSV or XLSX)"),
    "rollup": ("cli.commands.rollup", "recompute the year-to-date progress snapshot (the nightly rollup)"),
    "report": ("cli.commands.report", "the quarterly report to the province (report quarterly --out FILE)"),
    "import-roster": ("cli.commands.import_roster", "enrol a cohort from a roster file (CSV or XLSX)"),
    "bench": ("cli.commands.bench", "performance budgets (DESIGN section 10) in a scratch database"),
    "demo": ("cli.commands.demo", "generate a synthetic year through the real services"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry", description="Luoyang training and certification registry"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from cli.runtime import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args._module.run(args))
    except RegistryError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for error in exc.errors:
            where = f"row {error.row}, " if error.row is not None else ""
            where += f"column {error.column}, " if error.column else ""
            print(f"  {where}{error.field}: {error.message} [{error.code}]", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
