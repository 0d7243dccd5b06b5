"""``registry migrate``: apply Tortoise's migrations as the owner (``DATABASE_OWNER_URL``), then
give the application's role (the user of ``DATABASE_URL``) its privileges. Without
``DATABASE_URL``: the embedded database under ``REGISTRY_HOME``, as ``registry up`` migrates it."""

from __future__ import annotations

import argparse
import asyncio

from cli.runtime import local_settings
from registry.core import db


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    # Found as every command finds its database; beside `make up`, as its owner (the
    # embedded server's superuser), as `registry up` migrates.
    with local_settings(owner=True) as settings:
        warning = asyncio.run(db.migrate(settings.migration_url, settings.database_url))
    print("migrations applied")
    if warning:
        print(f"warning: {warning}")
    return 0
