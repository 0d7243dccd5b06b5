"""Recording and verifying the hash-chained audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.models.audit import AuditCheck

GENESIS_HASH = "0" * 64
# Every writer takes this transaction-level advisory lock before reading the chain's
# head, so two transactions never chain onto the same previous row.
_CHAIN_LOCK_KEY = 0x5A17_AD17


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    prev_hash: str,
    event_id: int,
    at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> str:
    payload = canonical(
        {
            "id": event_id,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
        }
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


async def record_event(
    conn: BaseDBAsyncClient,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> int:
    """Append one event in the caller's transaction; returns its id."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_CHAIN_LOCK_KEY])
    _, rows = await conn.execute_query(
        "SELECT hash, nextval(pg_get_serial_sequence('audit_event', 'id')) AS next_id, "
        "clock_timestamp() AS now FROM (SELECT 1) AS one "
        "LEFT JOIN (SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1) AS last ON true"
    )
    prev_hash = rows[0]["hash"] or GENESIS_HASH
    event_id = int(rows[0]["next_id"])
    at: dt.datetime = rows[0]["now"]
    # Round-trip through JSON so the hash is computed over exactly what jsonb gives back.
    before = json.loads(canonical(before)) if before is not None else None
    after = json.loads(canonical(after)) if after is not None else None
    digest = event_hash(
        prev_hash=prev_hash,
        event_id=event_id,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    await conn.execute_query(
        "INSERT INTO audit_event (id, at, actor, action, entity_type, entity_id, before, after, "
        "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10)",
        [
            event_id,
            at,
            actor,
            action,
            entity_type,
            entity_id,
            None if before is None else canonical(before),
            None if after is None else canonical(after),
            prev_hash,
            digest,
        ],
    )
    return event_id


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_broken_id: int | None
    message: str


async def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain in id order and name the first row that does not fit."""
    conn = connections.get("default")
    prev_hash = GENESIS_HASH
    last_id = 0
    checked = 0
    while True:
        _, rows = await conn.execute_query(
            "SELECT id, at, actor, action, entity_type, entity_id, before::text AS before, "
            "after::text AS after, prev_hash, hash FROM audit_event WHERE id > $1 ORDER BY id LIMIT $2",
            [last_id, batch_size],
        )
        if not rows:
            break
        for row in rows:
            checked += 1
            if row["prev_hash"] != prev_hash:
                return ChainReport(
                    False,
                    checked,
                    row["id"],
                    f"audit event {row['id']}: prev_hash does not match the row before it",
                )
            expected = event_hash(
                prev_hash=prev_hash,
                event_id=row["id"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                entity_type=row["entity_type"],
                entity_id=row["entity_id"],
                before=None if row["before"] is None else json.loads(row["before"]),
                after=None if row["after"] is None else json.loads(row["after"]),
            )
            if expected != row["hash"]:
                return ChainReport(
                    False, checked, row["id"], f"audit event {row['id']}: its content does not match its hash"
                )
            prev_hash = row["hash"]
            last_id = row["id"]
    return ChainReport(True, checked, None, f"{checked} audit events, chain intact")


async def verify_and_record(checked_by: str) -> ChainReport:
    """Verify the chain and keep the result in ``audit_check`` (what the nightly task runs)."""
    report = await verify_chain()
    async with in_transaction():
        await AuditCheck.create(
            ok=report.ok,
            events_checked=report.events_checked,
            first_broken_id=report.first_broken_id,
            message=report.message,
            checked_by=checked_by,
        )
    return report
