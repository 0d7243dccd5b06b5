"""``registry migrate``: apply Tortoise's migrations to ``DATABASE_URL``."""

from __future__ import annotations

import argparse
import asyncio

from registry.core import db
from registry.core.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    asyncio.run(db.migrate(settings.database_url))
    print("migrations applied")
    return 0
