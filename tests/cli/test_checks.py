"""The operator's checks: the migration check and the audit-chain walk, run as commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import asyncpg
from tortoise import connections

from cli.commands.check_migrations import pending_changes
from registry.core.principal import system
from registry.core.uow import unit_of_work
from tests.cli.commands import REGISTRY

MIGRATIONS = Path(__file__).resolve().parents[2] / "registry" / "migrations"


def test_models_and_migrations_agree() -> None:
    result = subprocess.run([REGISTRY, "check-migrations"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agree" in result.stdout


async def test_a_missing_migration_is_found(tmp_path: Path) -> None:
    partial = tmp_path / "migrations"
    partial.mkdir()
    (partial / "__init__.py").write_text("")
    # An empty migrations package: every model is a change the check must report.
    assert sorted(p.name for p in MIGRATIONS.glob("0*.py"))[0] == "0001_initial.py"
    changes = await pending_changes(partial)
    assert any("Create model" in c or "Institution" in c for c in changes), changes


async def test_verify_audit_names_the_tampered_row(
    database: None, test_env: dict[str, str], owner: asyncpg.Connection
) -> None:
    async with unit_of_work(system("test")) as uow:
        await uow.audit("test.tamper", "thing", "t1", after={"value": 1})
    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT max(id) AS id FROM audit_event")
    target = rows[0]["id"]
    env = {**os.environ, **test_env}

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [REGISTRY, "verify-audit"], capture_output=True, text=True, env=env, timeout=120
        )

    ok = verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The owner can switch the trigger off (the application cannot: tests/registry/audit).
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("UPDATE audit_event SET actor = 'user:someone-else' WHERE id = $1", target)
    try:
        broken = verify()
        assert broken.returncode == 1
        assert f"audit event {target}" in broken.stdout
    finally:
        async with owner.transaction():
            await owner.execute("SET LOCAL session_replication_role = replica")
            await owner.execute("UPDATE audit_event SET actor = 'system:test' WHERE id = $1", target)
    assert verify().returncode == 0


def test_registry_help_lists_the_commands() -> None:
    result = subprocess.run([REGISTRY, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in (
        "up",
        "migrate",
        "load-reference",
        "import-priority-list",
        "create-user",
        "verify-audit",
        "relay-outbox",
        "rotate-keys",
    ):
        assert command in result.stdout
