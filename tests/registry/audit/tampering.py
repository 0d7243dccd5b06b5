"""What a database owner who wants to rewrite history can do, for the tests.

Everything here runs on an owner's connection, with the trigger switched off the way the
owner can (``session_replication_role = replica``). The hashes it computes are the plain
SHA-256 of the original chain: what anyone can recompute without the audit key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import asyncpg

COLUMNS = "id, at, actor, action, entity_type, entity_id, before::text AS before, after::text AS after, prev_hash, hash"


def plain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    payload = json.dumps(
        {
            "id": row["id"],
            "at": row["at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": row["actor"],
            "action": row["action"],
            "entity_type": row["entity_type"],
            "entity_id": row["entity_id"],
            "before": None if row["before"] is None else json.loads(row["before"]),
            "after": None if row["after"] is None else json.loads(row["after"]),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


async def rows_from(owner: asyncpg.Connection, first_id: int) -> list[dict[str, Any]]:
    records = await owner.fetch(f"SELECT {COLUMNS} FROM audit_event WHERE id >= $1 ORDER BY id", first_id)
    return [dict(r) for r in records]


async def head(owner: asyncpg.Connection) -> int:
    return int(await owner.fetchval("SELECT max(id) FROM audit_event"))


async def rewrite_and_recompute(
    owner: asyncpg.Connection, target: int, after: dict[str, Any]
) -> list[dict[str, Any]]:
    """Change ``target``'s ``after`` and recompute the plain hash of it and of every later
    row, so the chain links up again. Returns the original rows (for :func:`restore`)."""
    original = await rows_from(owner, target)
    prev_hash = original[0]["prev_hash"]
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        for row in original:
            new = dict(row)
            if row["id"] == target:
                new["after"] = json.dumps(after)
            digest = plain_hash(prev_hash, new)
            await owner.execute(
                "UPDATE audit_event SET after = $2::jsonb, prev_hash = $3, hash = $4 WHERE id = $1",
                row["id"],
                new["after"],
                prev_hash,
                digest,
            )
            prev_hash = digest
    return original


async def restore(owner: asyncpg.Connection, original: list[dict[str, Any]]) -> None:
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        for row in original:
            await owner.execute(
                "UPDATE audit_event SET after = $2::jsonb, prev_hash = $3, hash = $4 WHERE id = $1",
                row["id"],
                row["after"],
                row["prev_hash"],
                row["hash"],
            )


async def delete_tail(owner: asyncpg.Connection, count: int) -> list[dict[str, Any]]:
    """Delete the last ``count`` events; returns them (every column) for :func:`reinsert`."""
    records = await owner.fetch(
        "SELECT * FROM audit_event WHERE id > (SELECT max(id) FROM audit_event) - 1000 "
        "ORDER BY id DESC LIMIT $1",
        count,
    )
    rows = [dict(r) for r in records]
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        await owner.execute("DELETE FROM audit_event WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
    return rows


async def reinsert(owner: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    for row in sorted(rows, key=lambda r: r["id"]):
        columns = list(row)
        placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
        await owner.execute(
            f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({placeholders})",
            *(row[c] for c in columns),
        )
