from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from registry.audit.service import verify_chain
from registry.core.principal import system
from registry.core.uow import unit_of_work


async def _append(n: int) -> None:
    for i in range(n):
        async with unit_of_work(system("test")) as uow:
            await uow.audit("test.event", "thing", i, before=None, after={"n": i, "名": "张三"})


async def test_chain_verifies_after_appends(database: None) -> None:
    await _append(3)
    report = await verify_chain()
    assert report.ok, report.message
    assert report.events_checked >= 3


async def test_update_and_delete_are_refused(database: None) -> None:
    await _append(1)
    conn = connections.get("default")
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query(
            "UPDATE audit_event SET actor = 'x' WHERE id = (SELECT max(id) FROM audit_event)"
        )
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)")
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query("TRUNCATE audit_event")


async def test_tampering_is_found_and_named(database: None) -> None:
    await _append(3)
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT id, after::text AS after FROM audit_event ORDER BY id DESC LIMIT 1 OFFSET 1"
    )
    target, original = rows[0]["id"], rows[0]["after"]
    async with in_transaction() as tx:
        await tx.execute_query("SET LOCAL session_replication_role = replica")
        await tx.execute_query("UPDATE audit_event SET after = '{\"n\": 999}' WHERE id = $1", [target])
    try:
        report = await verify_chain()
        assert not report.ok
        assert report.first_broken_id == target
        assert str(target) in report.message
    finally:
        async with in_transaction() as tx:
            await tx.execute_query("SET LOCAL session_replication_role = replica")
            await tx.execute_query(
                "UPDATE audit_event SET after = $2::jsonb WHERE id = $1", [target, original]
            )
    assert (await verify_chain()).ok
