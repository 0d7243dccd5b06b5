"""``registry migrate``: apply Tortoise's migrations as the owner (``DATABASE_OWNER_URL``), then
give the application's role (the user of ``DATABASE_URL``) its privileges."""

from __future__ import annotations

import argparse
import asyncio

from registry.core import db
from registry.core.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    warning = asyncio.run(db.migrate(settings.migration_url, settings.database_url))
    print("migrations applied")
    if warning:
        print(f"warning: {warning}")
    return 0
