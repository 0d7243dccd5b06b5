from __future__ import annotations

import asyncpg

from registry.audit import checkpoints
from registry.audit.service import checkpoint_head, verify_chain
from registry.core.principal import system
from registry.core.settings import Settings
from registry.core.uow import unit_of_work
from tests.registry.audit import tampering


async def _append(n: int) -> None:
    for i in range(n):
        async with unit_of_work(system("test")) as uow:
            await uow.audit("test.event", "thing", i, before=None, after={"n": i, "名": "张三"})


async def test_chain_verifies_after_appends(database: None) -> None:
    await _append(3)
    report = await verify_chain()
    assert report.ok, report.message
    assert report.events_checked >= 3


async def test_events_are_keyed(database: None, owner: asyncpg.Connection) -> None:
    """Each new row names the audit key that signed it; its hash is no plain SHA-256."""
    await _append(1)
    row = dict(
        await owner.fetchrow(f"SELECT {tampering.COLUMNS}, key_id FROM audit_event ORDER BY id DESC LIMIT 1")
    )
    assert row["key_id"]
    assert row["hash"] != tampering.plain_hash(row["prev_hash"], row)


async def test_tampering_is_found_and_named(database: None, owner: asyncpg.Connection) -> None:
    await _append(3)
    target = await tampering.head(owner) - 1
    original = await owner.fetchval("SELECT after::text FROM audit_event WHERE id = $1", target)
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("UPDATE audit_event SET after = '{\"n\": 999}' WHERE id = $1", target)
    try:
        report = await verify_chain()
        assert not report.ok
        assert report.first_broken_id == target
        assert str(target) in report.message
    finally:
        async with owner.transaction():
            await owner.execute("SET LOCAL session_replication_role = replica")
            await owner.execute("UPDATE audit_event SET after = $2::jsonb WHERE id = $1", target, original)
    assert (await verify_chain()).ok


async def test_a_rewrite_with_every_later_hash_recomputed_is_found(
    database: None, owner: asyncpg.Connection
) -> None:
    """The owner rewrites a row and recomputes the plain SHA-256 of it and every row after
    it: the links all fit, but without the audit key the HMACs cannot be made."""
    await _append(4)
    target = await tampering.head(owner) - 2
    original = await tampering.rewrite_and_recompute(owner, target, {"n": 12345})
    try:
        report = await verify_chain()
        assert not report.ok, report.message
        assert report.first_broken_id == target
        assert f"audit event {target}" in report.message
    finally:
        await tampering.restore(owner, original)
    assert (await verify_chain()).ok


async def test_an_unkeyed_row_after_keyed_ones_is_found(database: None, owner: asyncpg.Connection) -> None:
    """Plain SHA-256 rows are accepted only before the first keyed row (the history from
    before the key): a plain row appended later is a forgery."""
    await _append(1)
    last = dict(await owner.fetchrow(f"SELECT {tampering.COLUMNS} FROM audit_event ORDER BY id DESC LIMIT 1"))
    forged = {
        "id": last["id"] + 1,
        "at": last["at"],
        "actor": "system:test",
        "action": "test.forged",
        "entity_type": "thing",
        "entity_id": "f",
        "before": None,
        "after": None,
    }
    digest = tampering.plain_hash(last["hash"], forged)
    await owner.execute(
        "INSERT INTO audit_event (id, at, actor, action, entity_type, entity_id, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        forged["id"],
        forged["at"],
        forged["actor"],
        forged["action"],
        forged["entity_type"],
        forged["entity_id"],
        last["hash"],
        digest,
    )
    try:
        report = await verify_chain()
        assert not report.ok
        assert report.first_broken_id == forged["id"]
    finally:
        async with owner.transaction():
            await owner.execute("SET LOCAL session_replication_role = replica")
            await owner.execute("DELETE FROM audit_event WHERE id = $1", forged["id"])
        await owner.execute("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), $1)", forged["id"])
    assert (await verify_chain()).ok


async def test_checkpoint_head_appends_only_when_the_head_moved(
    database: None, owner: asyncpg.Connection, settings: Settings
) -> None:
    """What beat's ``registry.audit.checkpoint`` runs every few minutes."""
    await _append(1)
    first = await checkpoint_head(by="test")
    assert first is not None
    assert first.event_id == await tampering.head(owner)
    assert checkpoints.last(settings.audit_checkpoint_path) == first
    assert await checkpoint_head(by="test") is None  # unchanged head: nothing written
    await _append(1)
    second = await checkpoint_head(by="test")
    assert second is not None and second.event_id > first.event_id
    assert (await verify_chain()).ok
