"""``registry rotate-keys [--reindex] [--check]``: re-encrypt the personal data under the
current data key (``REGISTRY_DATA_KEY``), reading old rows with the keys in
``REGISTRY_DATA_KEY_PREVIOUS``; with ``--reindex``, recompute the blind indexes under the
current ``REGISTRY_INDEX_KEY`` (docs/operations.md, section 5).

Exit status: 0 when done (or, with ``--check``, when nothing is left to do); 1 with
``--check`` when rows are still under an old key (or, with ``--reindex``, indexed with
another index key); 2 for an error (a ciphertext under a key that is not configured...).
"""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.core.crypto import vault_from_settings
from registry.core.principal import system
from registry.core.settings import Settings
from registry.people.key_rotation import DEFAULT_BATCH_SIZE, RotationReport, rotate_keys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="also recompute the ID-number and phone blind indexes (after REGISTRY_INDEX_KEY changed)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only count the rows still under an old key (with --reindex: or with stale indexes); "
        "change nothing",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"trainees per transaction (default {DEFAULT_BATCH_SIZE})",
    )


def run(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> RotationReport:
        return await rotate_keys(
            system("cli:rotate-keys"),
            vault_from_settings(settings),
            batch_size=args.batch_size,
            reindex=args.reindex,
            check=args.check,
        )

    report = run_with_db(work)
    print(report.message)
    return 1 if args.check and not report.nothing_to_do else 0
