"""What every CLI command shares: settings read once, the database opened and closed
around one coroutine, the Celery job sender plugged into the registry's port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from registry.core import db
from registry.core.settings import Settings, load_settings

T = TypeVar("T")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("tortoise").setLevel(logging.WARNING)


def plug_job_sender(settings: Settings) -> None:
    """Jobs queued by services go to Celery (the composition root's choice)."""
    from registry.core.jobs import set_job_sender
    from workers.sender import CelerySender

    set_job_sender(CelerySender.from_settings(settings))


def run_with_db(work: Callable[[Settings], Awaitable[T]], settings: Settings | None = None) -> T:
    settings = settings or load_settings()

    async def main() -> T:
        await db.init_db(settings.database_url, pool_max_size=4)
        try:
            return await work(settings)
        finally:
            await db.close_db()

    plug_job_sender(settings)
    return asyncio.run(main())
