"""``registry verify-audit`` as an operator runs it: the checkpoints it keeps outside the
database, what it reports when the owner has rewritten or cut the trail, and finding the
embedded database of ``registry up`` with nothing but ``REGISTRY_HOME``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import asyncpg

from cli.embedded import EmbeddedPostgres, ensure_key_files
from registry.core.principal import system
from registry.core.uow import unit_of_work
from tests.cli.commands import CONFIG_VARS, registry
from tests.registry.audit import tampering


async def _append(n: int) -> None:
    for i in range(n):
        async with unit_of_work(system("test")) as uow:
            await uow.audit("test.checkpoint", "thing", i, after={"n": i})


def _checkpoints(test_env: dict[str, str]) -> list[dict[str, object]]:
    path = Path(test_env["REGISTRY_HOME"]) / "audit-checkpoints.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_a_clean_chain_verifies_and_is_checkpointed(
    database: None, test_env: dict[str, str], owner: asyncpg.Connection
) -> None:
    await _append(2)
    head = await tampering.head(owner)
    result = registry(test_env, "verify-audit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chain intact" in result.stdout
    last = _checkpoints(test_env)[-1]
    assert last["event_id"] == head
    assert last["hash"] == await owner.fetchval("SELECT hash FROM audit_event WHERE id = $1", head)
    path = Path(test_env["REGISTRY_HOME"]) / "audit-checkpoints.log"
    assert path.stat().st_mode & 0o777 == 0o600


async def test_a_truncated_tail_is_reported_against_the_checkpoint(
    database: None, test_env: dict[str, str], owner: asyncpg.Connection
) -> None:
    await _append(3)
    checked = registry(test_env, "verify-audit")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    head = await tampering.head(owner)
    removed = await tampering.delete_tail(owner, 2)
    try:
        # What is left is a perfectly linked chain: only the checkpoint shows the loss.
        broken = registry(test_env, "verify-audit")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "truncated" in broken.stdout
        assert f"audit event {head}" in broken.stdout
    finally:
        await tampering.reinsert(owner, removed)
    again = registry(test_env, "verify-audit")
    assert again.returncode == 0, again.stdout + again.stderr


async def test_a_recomputed_chain_is_reported(
    database: None, test_env: dict[str, str], owner: asyncpg.Connection
) -> None:
    await _append(3)
    target = await tampering.head(owner) - 1
    original = await tampering.rewrite_and_recompute(owner, target, {"n": 777})
    try:
        broken = registry(test_env, "verify-audit")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert f"audit event {target}" in broken.stdout
    finally:
        await tampering.restore(owner, original)
    assert registry(test_env, "verify-audit").returncode == 0


def test_verify_audit_finds_the_embedded_database_with_only_registry_home() -> None:
    """The configuration of ``make up``: no DATABASE_URL, no keys in the environment, only
    the folder; verify-audit finds the database and the keys there like ``registry up``."""
    home = Path(tempfile.mkdtemp(prefix="reghome-verify-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and not k.startswith("REGISTRY_")}
    env["REGISTRY_HOME"] = str(home)
    pg = EmbeddedPostgres(home / "pgdata", database="registry")
    try:
        pg.start()
        # What `registry up` does before it starts anything: the key files, then the
        # migrations as the owner and the application's role.
        up_env = {
            **env,
            **ensure_key_files(home / "keys"),
            "DATABASE_URL": pg.app_url,
            "REDIS_URL": f"redis+socket://{home}/redis/redis.sock",
        }
        migrated = registry({**up_env, "DATABASE_OWNER_URL": pg.owner_url}, "migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "warning" not in migrated.stdout
        loaded = registry(up_env, "load-reference")  # as the application: one audit event
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        result = registry(env, "verify-audit", timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "chain intact" in result.stdout
        assert (home / "audit-checkpoints.log").exists()
    finally:
        pg.stop()
    # With the server stopped, verify-audit starts it like `registry up` would, and stops it.
    result = registry(env, "verify-audit", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (home / "pgdata" / "postmaster.pid").exists()
