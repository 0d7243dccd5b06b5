"""The one Tortoise config builder, and the helpers that open and close it.

Tortoise is initialised in exactly three places, all through :func:`init_db`:
the API lifespan, the worker process, and the test fixtures (plus the CLI
commands, which are the composition root).
"""

from __future__ import annotations

import re
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


async def _release_without_reset_query(connection: Any) -> None:
    """The pool's reset of a connection given back (asyncpg's ``reset`` hook).

    asyncpg always rolls back a transaction left open and drops listeners before this runs;
    its default then sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release, one more round trip for every query Tortoise runs outside a
    transaction (three on a simple API read). The registry changes no session state: every
    setting is transaction-local (``SET LOCAL``, ``set_config(..., true)``), advisory locks
    are ``pg_advisory_xact_lock``, cursors live in transactions and nothing LISTENs, so
    there is nothing left to reset. Code that sets session state must not use the pool."""
    del connection


def tortoise_config(database_url: str, *, pool_max_size: int = 10) -> dict[str, Any]:
    credentials = credentials_from_url(database_url)
    credentials.update({"minsize": 1, "maxsize": pool_max_size, "reset": _release_without_reset_query})
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


APPLICATION_ROLE = "registry_dml"
"""The role that holds the application's privileges (migration 0008); the application's
login role is made a member of it."""


async def migrate(owner_url: str, app_url: str | None = None) -> str | None:
    """Apply every migration (Tortoise's built-in migrations) as the database's owner, then
    make sure the application's login role (the user of ``app_url``) exists and holds the
    application's privileges (:func:`ensure_application_role`). Returns a warning when the
    application would connect as the owner itself."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(owner_url, pool_max_size=2))
    if app_url is None:
        return None
    return await ensure_application_role(owner_url, app_url)


async def ensure_application_role(owner_url: str, app_url: str) -> str | None:
    """As the owner: create the login role of ``app_url`` when it does not exist (LOGIN, no
    other attribute; its password from the URL), set its password when the URL has one,
    and grant it :data:`APPLICATION_ROLE`. Refuses a superuser. Returns a warning (and
    changes nothing) when ``app_url`` connects as the owner."""
    import asyncpg

    owner = credentials_from_url(owner_url)
    app = credentials_from_url(app_url)
    if app["user"] == owner["user"]:
        return (
            f"the application connects as {app['user']!r}, the owner of the database: it can "
            "switch the audit trigger off. Set DATABASE_OWNER_URL to the owner and DATABASE_URL "
            "to a role of its own (docs/operations.md, Database roles)"
        )
    conn = await asyncpg.connect(
        host=owner["host"],
        port=owner["port"],
        user=owner["user"],
        password=owner["password"],
        database=owner["database"],
    )
    try:
        name = app["user"]
        ident = await conn.fetchval("SELECT quote_ident($1)", name)
        password = (
            " PASSWORD " + await conn.fetchval("SELECT quote_literal($1)", app["password"])
            if app["password"]
            else ""
        )
        role = await conn.fetchrow("SELECT rolsuper FROM pg_roles WHERE rolname = $1", name)
        if role is None:
            await conn.execute(
                f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                f"NOBYPASSRLS{password}"
            )
        elif role["rolsuper"]:
            raise ConfigurationError(
                f"DATABASE_URL connects as {name!r}, a superuser: the application needs a role of "
                "its own that is not (docs/operations.md, Database roles)"
            )
        elif password:
            await conn.execute(f"ALTER ROLE {ident}{password}")
        member = await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", name, APPLICATION_ROLE)
        if not member:
            await conn.execute(f"GRANT {APPLICATION_ROLE} TO {ident}")
    finally:
        await conn.close()
    return None


async def ping() -> None:
    conn = connections.get("default")
    await conn.execute_query("SELECT 1")


_UNIQUE_VIOLATION = "23505"
_KEY_COLUMNS = re.compile(r"^Key \(([^)]*)\)=")


def unique_violation(exc: BaseException) -> tuple[str, ...] | None:
    """The columns of the unique constraint ``exc`` (a Tortoise ``IntegrityError`` or the
    asyncpg error under it) violates, or None when it is not a unique violation.

    Only the column names are read from PostgreSQL's detail, never the value (which may be
    personal: a certificate number can be an ID number)."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "sqlstate", None) == _UNIQUE_VIOLATION:
            match = _KEY_COLUMNS.match(str(getattr(error, "detail", "") or ""))
            if match is None:
                return ()
            return tuple(c.strip().strip('"') for c in match.group(1).split(","))
        nested = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        error = nested or error.__cause__
    return None
