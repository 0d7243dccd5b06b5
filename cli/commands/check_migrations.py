"""``registry check-migrations``: fail when the models and the migrations disagree.

Tortoise has no ``--check``: this copies the migrations into a scratch package, runs the
autodetector against it and reports any change it would write.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from registry.core.db import MIGRATIONS_MODULE, tortoise_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


async def pending_changes(package: Path | None = None) -> list[str]:
    """What ``makemigrations`` would write against the migrations in ``package`` (default:
    the project's own)."""
    from tortoise.cli.cli import tortoise_cli_context
    from tortoise.migrations.autodetector import MigrationAutodetector

    if package is None:
        package = Path(__import__(MIGRATIONS_MODULE, fromlist=["x"]).__file__).parent  # type: ignore[arg-type]
    scratch = Path(tempfile.mkdtemp(prefix="migcheck-"))
    shutil.copytree(package, scratch / "scratch_migrations", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(scratch))
    try:
        config = tortoise_config("postgresql://postgres@127.0.0.1:5432/unused")
        config["apps"]["registry"]["migrations"] = "scratch_migrations"
        async with tortoise_cli_context(config) as ctx:
            assert ctx.apps is not None, "Tortoise did not load the apps"
            detector = MigrationAutodetector(ctx.apps, config["apps"])
            writers = await detector.changes()
        return [f"{w.app_label}: {op.describe()}" for w in writers for op in w.operations]
    finally:
        sys.path.remove(str(scratch))
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    changes = asyncio.run(pending_changes())
    if changes:
        print(
            "the models and the migrations disagree; run "
            "`tortoise -c registry.migrations_config.TORTOISE_ORM makemigrations` and commit the result:"
        )
        for change in changes:
            print(f"  {change}")
        return 1
    print("models and migrations agree")
    return 0
