"""The application's database role: it may add to the audit trail and read it, nothing more.

These run on Tortoise's ``default`` connection, the one every service uses: the tests prove
what the application itself can do, not what a fixture could."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise import connections

from registry.core.principal import system
from registry.core.uow import unit_of_work

PERMISSION = r"permission denied|must be (the )?owner"


async def _append() -> None:
    async with unit_of_work(system("test")) as uow:
        await uow.audit("test.role", "thing", "r1", after={"n": 1})


async def _refused(sql: str, match: str = PERMISSION) -> None:
    conn = connections.get("default")
    with pytest.raises(Exception, match=match):
        await conn.execute_query(sql)


async def test_the_application_is_neither_superuser_nor_owner(database: None) -> None:
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, "
        "(SELECT count(*) FROM pg_class c WHERE pg_has_role(current_user, c.relowner, 'USAGE') "
        " AND c.relnamespace = 'public'::regnamespace) AS owned "
        "FROM pg_roles r WHERE r.rolname = current_user"
    )
    row = dict(rows[0])
    assert row == {
        "rolsuper": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolreplication": False,
        "rolbypassrls": False,
        "owned": 0,
    }


async def test_the_application_cannot_switch_the_trigger_off(database: None) -> None:
    await _append()
    await _refused("ALTER TABLE audit_event DISABLE TRIGGER ALL")
    await _refused("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    await _refused("SET session_replication_role = replica")
    await _refused("DROP TRIGGER audit_event_append_only ON audit_event")


async def test_the_application_cannot_change_or_remove_events(database: None) -> None:
    await _append()
    await _refused("UPDATE audit_event SET actor = 'x' WHERE id = (SELECT max(id) FROM audit_event)")
    await _refused("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)")
    await _refused("TRUNCATE audit_event")
    await _refused("UPDATE audit_check SET ok = true")
    await _refused("DELETE FROM audit_check")


async def test_the_application_has_no_ddl(database: None) -> None:
    await _refused("CREATE TABLE scratch_by_the_app (id int)")
    await _refused("ALTER TABLE trainee ADD COLUMN scratch int")
    await _refused("TRUNCATE outbox")
    await _refused("DROP TABLE outbox")


async def test_the_owner_is_still_stopped_by_the_trigger(database: None, owner: asyncpg.Connection) -> None:
    await _append()
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await owner.execute("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await owner.execute("UPDATE audit_event SET actor = 'x' WHERE id = (SELECT max(id) FROM audit_event)")
