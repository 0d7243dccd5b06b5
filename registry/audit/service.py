"""Recording and verifying the keyed, hash-chained audit trail (rules: :mod:`registry.audit.rules`).

The process's audit key and checkpoint file come from :func:`configure`, which each
composition root calls with its settings (the API, the worker process, the CLI, the tests),
next to opening the database. Recording an event without it is an error, never an unkeyed row.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.audit import checkpoints
from registry.audit.rules import (
    GENESIS_HASH,
    AuditKeyring,
    ChainRow,
    ChainWalk,
    Checkpoint,
    canonical,
    event_payload,
    keyed_hash,
)
from registry.core.settings import Settings
from registry.models.audit import AuditCheck

__all__ = [
    "GENESIS_HASH",
    "AuditTrail",
    "ChainReport",
    "canonical",
    "checkpoint_head",
    "configure",
    "configure_trail",
    "record_event",
    "verify_and_record",
    "verify_chain",
]
# Every writer takes this transaction-level advisory lock before reading the chain's
# head, so two transactions never chain onto the same previous row.
_CHAIN_LOCK_KEY = 0x5A17_AD17


@dataclass(frozen=True)
class AuditTrail:
    keyring: AuditKeyring
    checkpoint_path: Path


_trail: AuditTrail | None = None


def configure(settings: Settings) -> AuditTrail:
    """Use the settings' audit keys and checkpoint file in this process."""
    return configure_trail(
        AuditKeyring(settings.audit_key, settings.previous_audit_keys), settings.audit_checkpoint_path
    )


def configure_trail(keyring: AuditKeyring, checkpoint_path: Path) -> AuditTrail:
    """Use these audit keys and this checkpoint file in this process (a scratch database's
    own, in the benchmarks)."""
    global _trail
    _trail = AuditTrail(keyring=keyring, checkpoint_path=checkpoint_path)
    return _trail


def trail() -> AuditTrail:
    if _trail is None:
        raise RuntimeError(
            "the audit trail is not configured: call registry.audit.service.configure(settings)"
        )
    return _trail


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
    """Append one event in the caller's transaction, signed with the current audit key;
    returns its id."""
    keyring = trail().keyring
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
    kid = keyring.current_id
    payload = event_payload(
        event_id=event_id,
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        key_id=kid,
    )
    digest = keyed_hash(keyring.current, prev_hash, payload)
    await conn.execute_query(
        "INSERT INTO audit_event (id, at, actor, action, entity_type, entity_id, before, after, "
        "prev_hash, hash, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)",
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
            kid,
        ],
    )
    return event_id


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_broken_id: int | None
    message: str
    head_id: int | None = None
    head_hash: str | None = None
    checkpoints_checked: int = 0


def _row(record: Any) -> ChainRow:
    return ChainRow(
        id=int(record["id"]),
        at=record["at"],
        actor=record["actor"],
        action=record["action"],
        entity_type=record["entity_type"],
        entity_id=record["entity_id"],
        before=None if record["before"] is None else json.loads(record["before"]),
        after=None if record["after"] is None else json.loads(record["after"]),
        prev_hash=record["prev_hash"],
        hash=record["hash"],
        key_id=record["key_id"],
    )


async def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain in id order, against the checkpoints, and name the first row
    that does not fit (or the checkpoint the chain falls short of)."""
    config = trail()
    known = checkpoints.read(config.checkpoint_path)
    walk = ChainWalk(config.keyring, known)
    conn = connections.get("default")
    last_id = 0
    while True:
        _, rows = await conn.execute_query(
            "SELECT id, at, actor, action, entity_type, entity_id, before::text AS before, "
            "after::text AS after, prev_hash, hash, key_id FROM audit_event WHERE id > $1 "
            "ORDER BY id LIMIT $2",
            [last_id, batch_size],
        )
        if not rows:
            break
        for record in rows:
            broken = walk.check(_row(record))
            if broken is not None:
                return ChainReport(False, walk.checked, broken.event_id, broken.message)
            last_id = int(record["id"])
    broken = walk.finish()
    if broken is not None:
        return ChainReport(False, walk.checked, broken.event_id, broken.message)
    head = f"head {walk.last_id}" if walk.last_id is not None else "empty"
    details = [head, f"{walk.checkpoints_matched} of {len(known)} checkpoints match"]
    if walk.unkeyed:
        details.append(f"{walk.unkeyed} rows from before the audit key, plain SHA-256")
    return ChainReport(
        True,
        walk.checked,
        None,
        f"{walk.checked} audit events, chain intact ({'; '.join(details)})",
        head_id=walk.last_id,
        head_hash=walk.prev_hash if walk.last_id is not None else None,
        checkpoints_checked=len(known),
    )


def _write_checkpoint(event_id: int, digest: str, by: str) -> Checkpoint:
    config = trail()
    checkpoint = Checkpoint(
        event_id=event_id,
        hash=digest,
        at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        by=by,
        key_id=config.keyring.current_id,
    )
    checkpoints.append(config.checkpoint_path, checkpoint)
    return checkpoint


async def checkpoint_head(by: str) -> Checkpoint | None:
    """Checkpoint the chain's head as it is now (beat, every few minutes): no walk, so it is
    cheap. Nothing is written when the chain is empty or the head is already checkpointed."""
    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
    if not rows:
        return None
    event_id, digest = int(rows[0]["id"]), str(rows[0]["hash"])
    previous = checkpoints.last(trail().checkpoint_path)
    if previous is not None and previous.event_id == event_id and previous.hash == digest:
        return None
    return _write_checkpoint(event_id, digest, by)


async def verify_and_record(checked_by: str) -> ChainReport:
    """Verify the chain, keep the result in ``audit_check`` and, when the chain is intact,
    checkpoint its head (what the nightly task and ``registry verify-audit`` run)."""
    report = await verify_chain()
    async with in_transaction():
        await AuditCheck.create(
            ok=report.ok,
            events_checked=report.events_checked,
            first_broken_id=report.first_broken_id,
            message=report.message,
            checked_by=checked_by,
        )
    if report.ok and report.head_id is not None and report.head_hash is not None:
        _write_checkpoint(report.head_id, report.head_hash, checked_by)
    return report
