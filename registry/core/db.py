"""The one Tortoise config builder, and the helpers that open and close it.

Tortoise is initialised in exactly three places, all through :func:`init_db`:
the API lifespan, the worker process, and the test fixtures (plus the CLI
commands, which are the composition root).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tortoise import Tortoise, connections

from registry.core.errors import ConfigurationError

MODEL_MODULES = ["registry.models"]
MIGRATIONS_MODULE = "registry.migrations"


def credentials_from_url(url: str) -> dict[str, Any]:
    """asyncpg credentials from ``postgresql://user:pw@host:port/db`` or a socket URL
    ``postgresql://user@/db?host=/path/to/socket/dir``."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "asyncpg"}:
        raise ConfigurationError(f"DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    database = unquote(parts.path.lstrip("/")) or "postgres"
    return {
        "host": host,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "database": database,
    }


def url_with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/" + database).geturl()


def tortoise_config(database_url: str, *, pool_max_size: int = 10) -> dict[str, Any]:
    credentials = credentials_from_url(database_url)
    credentials.update({"minsize": 1, "maxsize": pool_max_size})
    return {
        "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}},
        "apps": {
            "registry": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str, *, pool_max_size: int = 10, global_fallback: bool = True) -> None:
    await Tortoise.init(
        config=tortoise_config(database_url, pool_max_size=pool_max_size),
        _enable_global_fallback=global_fallback,
    )


async def close_db() -> None:
    await connections.close_all()


async def migrate(database_url: str) -> None:
    """Apply every migration (Tortoise's built-in migrations)."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(database_url, pool_max_size=2))


async def ping() -> None:
    conn = connections.get("default")
    await conn.execute_query("SELECT 1")
