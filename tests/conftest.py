"""Test fixtures: a real PostgreSQL and a real Redis.

``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` name existing servers; without them the suite
starts embedded ones (the same wheels ``make up`` uses) and stops them at the end. A
server that cannot be reached is an error, never a skip. The database is built by the
migrations, in a fresh database per run.

Two roles, as in production: the migrations run as the database's owner (the server's
superuser here), and everything under test (Tortoise's connection, the API, the workers,
the CLI processes) connects as a login role of its own, created for the session, that holds
only the application's privileges (``registry_dml``, migration 0008). Tests that play a
tampering owner use the ``owner`` fixture.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import redis

from cli.embedded import EmbeddedPostgres, EmbeddedRedis, drop_database, ensure_database
from registry.audit import service as audit
from registry.core import db
from registry.core.db import url_with_database
from registry.core.settings import Settings, redis_client_url
from tests.leaks import LOG_ROOTS, session_log, watched_client


@dataclass(frozen=True)
class Servers:
    admin_url: str
    database_url: str
    """The test database as the application's role (what the code under test connects as)."""
    redis_url: str
    database: str
    owner_url: str
    """The test database as its owner (what migrations use; tests that play the tampering owner)."""


def url_with_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` (no password: the test servers trust local logins)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}@{host}").geturl()


async def _drop_role(admin_url: str, role: str) -> None:
    creds = db.credentials_from_url(admin_url)
    conn = await asyncpg.connect(**creds)
    try:
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    database = f"registry_test_{suffix}"
    app_role = f"registry_test_app_{suffix}"
    tmp = Path(tempfile.mkdtemp(prefix="regtest-", dir="/tmp"))
    LOG_ROOTS.append(tmp)  # the embedded servers' logs
    pg: EmbeddedPostgres | None = None
    rd: EmbeddedRedis | None = None
    try:
        admin_url = os.environ.get("TEST_DATABASE_URL")
        if not admin_url:
            pg = EmbeddedPostgres(tmp / "pgdata", database="postgres")
            pg.start()
            admin_url = pg.admin_url
        redis_url = os.environ.get("TEST_REDIS_URL")
        if not redis_url:
            rd = EmbeddedRedis(tmp / "redis")
            redis_url = rd.start()
        # Fail loudly (never skip) when a server is not there.
        redis.Redis.from_url(redis_client_url(redis_url)).ping()
        asyncio.run(ensure_database(admin_url, database))
        owner_url = url_with_database(admin_url, database)
        database_url = url_with_user(owner_url, app_role)
        warning = asyncio.run(db.migrate(owner_url, database_url))
        assert warning is None, warning
        yield Servers(
            admin_url=admin_url,
            database_url=database_url,
            redis_url=redis_url,
            database=database,
            owner_url=owner_url,
        )
        asyncio.run(drop_database(admin_url, database))
        asyncio.run(_drop_role(admin_url, app_role))
    finally:
        if rd is not None:
            rd.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _watched(folder: str) -> str:
    LOG_ROOTS.append(Path(folder))
    return folder


@pytest.fixture(scope="session")
def test_env(servers: Servers) -> dict[str, str]:
    """The environment a process of the system under test gets (API, worker, CLI)."""
    return {
        "DATABASE_URL": servers.database_url,
        "DATABASE_OWNER_URL": servers.owner_url,
        "REDIS_URL": servers.redis_url,
        "REGISTRY_DATA_KEY": _key(),
        "REGISTRY_INDEX_KEY": _key(),
        "REGISTRY_TOKEN_KEY": _key(),
        "REGISTRY_AUDIT_KEY": _key(),
        "REGISTRY_HOME": _watched(tempfile.mkdtemp(prefix="reghome-", dir="/tmp")),
        # The tests change users and figures between two requests: nothing kept between them
        # (what is kept, and for how long, has tests of its own: tests/api/test_recent.py).
        "REGISTRY_SIGNED_IN_RECHECK_SECONDS": "0",
        "REGISTRY_FIGURES_CACHE_SECONDS": "0",
    }


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    from registry.core.settings import load_settings

    return load_settings(test_env)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[None]:
    audit.configure(settings)
    await db.init_db(settings.database_url, pool_max_size=5)
    yield
    await db.close_db()


@pytest.fixture(scope="session")
async def app(settings: Settings, database: None):  # type: ignore[no-untyped-def]
    from api.app import create_app

    application = create_app(settings, manage_db=False)
    yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with watched_client(transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
async def divisions(database: None) -> None:
    """Enough of the reference data for most tests (:data:`tests.factories.DIVISIONS`)."""
    from tests.factories import ensure_divisions

    await ensure_divisions()


@pytest.fixture
async def owner(servers: Servers) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the database's owner: what a tampering owner (or a DBA) can do."""
    creds = db.credentials_from_url(servers.owner_url)
    conn = await asyncpg.connect(**creds)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def watched_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Everything this process logs goes to a file the leak check reads, and the folders the
    processes under test write their logs in are watched too (tests/leaks.py)."""
    folder = tmp_path_factory.mktemp("session-log")
    handler = session_log(folder / "pytest.log")
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(min(previous or logging.WARNING, logging.INFO))
    LOG_ROOTS.append(tmp_path_factory.getbasetemp())
    yield
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The leak check runs after every other test."""
    last = [
        item
        for item in items
        if item.module is not None and item.module.__name__.endswith("test_personal_data_leaks")
    ]
    items[:] = [item for item in items if item not in last] + last


# --- working-day calendar (registry/notices, branch `calendar`) --------------------------


@pytest.fixture(scope="session")
async def working_day_calendar(database: None) -> None:
    """The working-day calendar as ``registry load-reference`` seeds it: every year the
    ``chinese-calendar`` package knows (2004-2026). 2027 is not covered unless a test loads it
    (and the calendar tests load it only inside a transaction they roll back)."""
    from registry.core.principal import system
    from registry.notices.calendar import seed_from_package

    await seed_from_package(system("test"))


# --- end of working-day calendar ---------------------------------------------------------
