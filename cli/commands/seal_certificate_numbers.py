"""``registry seal-certificate-numbers``: after migration 0007, encrypt, index and mask the
certificate numbers stored before it that are shaped like ID numbers (a 特种作业操作证's
number is its holder's ID number), and clear them. Idempotent: a second run seals nothing.

Exit status 0; 2 for an error (two such numbers that differ only by x/X).
"""

from __future__ import annotations

import argparse

from cli.runtime import run_with_db
from registry.certificates.service import seal_personal_numbers
from registry.core.crypto import vault_from_settings
from registry.core.principal import system
from registry.core.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=1000, metavar="N", help="rows per transaction")


def run(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        return await seal_personal_numbers(
            system("cli:seal-certificate-numbers"), vault_from_settings(settings), batch_size=args.batch_size
        )

    sealed = run_with_db(work)
    print(f"sealed {sealed:,} certificate numbers that are ID numbers" if sealed else "nothing to seal")
    return 0
