"""The audit chain's rules: how a row is hashed, and how a walk of the chain judges it.

Pure: plain values in, plain values out (no query, no file, no Tortoise).

**Hashes.** A row's ``hash`` covers the previous row's hash and its own canonical content.
Since migration 0008 it is an HMAC-SHA256 under the audit key (``REGISTRY_AUDIT_KEY``), and
the row names that key (``key_id``, the first 4 bytes of the key's SHA-256, in hex; the
payload covers it too). Without the key nobody, the database's owner included, can make a
row that verifies. Rows written before the key (``key_id`` NULL) keep their plain SHA-256
and are checked as before, but only at the start of the chain: the first keyed row chains
onto the last unkeyed one, and a plain row after a keyed one is a forgery.

**Checkpoints.** A checkpoint is what the chain's head was at a moment (the last event's
id and hash), kept outside the database (an append-only file, and the log). A walk compares
every checkpointed row with its checkpoint: a row whose hash changed means the chain was
rewritten; a checkpointed row that is gone, or a head behind a checkpoint, means rows were
deleted (a truncated tail leaves a chain that links up perfectly; only a checkpoint shows it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def key_id(key: bytes) -> str:
    """The id a row records for the key that signed it (not secret: a hash of the key)."""
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class AuditKeyring:
    """The current audit key (signs new rows) and the previous ones (still verify)."""

    current: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(repr=False, default=())

    def __post_init__(self) -> None:
        for key in (self.current, *self.previous):
            if len(key) != 32:
                raise ValueError("audit keys must be 32 bytes")

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def key(self, kid: str) -> bytes | None:
        for key in (self.current, *self.previous):
            if key_id(key) == kid:
                return key
        return None


def event_payload(
    *,
    event_id: int,
    at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Any,
    after: Any,
    key_id: str | None,
) -> str:
    content: dict[str, Any] = {
        "id": event_id,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }
    if key_id is not None:
        content["key_id"] = key_id
    return canonical(content)


def plain_hash(prev_hash: str, payload: str) -> str:
    """The hash of a row written before the audit key (``key_id`` NULL)."""
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def keyed_hash(key: bytes, prev_hash: str, payload: str) -> str:
    return hmac.new(key, (prev_hash + payload).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str
    key_id: str | None


def row_hash(row: ChainRow, key: bytes | None) -> str:
    payload = event_payload(
        event_id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        before=row.before,
        after=row.after,
        key_id=row.key_id,
    )
    if row.key_id is None:
        return plain_hash(row.prev_hash, payload)
    assert key is not None
    return keyed_hash(key, row.prev_hash, payload)


@dataclass(frozen=True)
class Checkpoint:
    event_id: int
    """The last event's id at the time: the chain's sequence number."""
    hash: str
    at: str
    """When it was taken (ISO 8601, UTC)."""
    by: str = ""
    key_id: str | None = None

    def to_line(self) -> str:
        return canonical(
            {
                "event_id": self.event_id,
                "hash": self.hash,
                "at": self.at,
                "by": self.by,
                "key_id": self.key_id,
            }
        )

    @classmethod
    def from_line(cls, line: str) -> Checkpoint:
        """ValueError when the line is not a checkpoint."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        event_id, digest, at = data.get("event_id"), data.get("hash"), data.get("at")
        if not isinstance(event_id, int) or not isinstance(digest, str) or not isinstance(at, str):
            raise ValueError("a checkpoint needs event_id, hash and at")
        return cls(event_id, digest, at, str(data.get("by") or ""), data.get("key_id"))


@dataclass(frozen=True)
class Break:
    event_id: int
    message: str


@dataclass
class ChainWalk:
    """Judges the rows of the chain one by one, in id order, then the end of the chain."""

    keyring: AuditKeyring
    checkpoints: Iterable[Checkpoint] = ()
    prev_hash: str = GENESIS_HASH
    last_id: int | None = None
    checked: int = 0
    unkeyed: int = 0
    checkpoints_matched: int = 0
    _keyed_seen: bool = False
    _pending: list[Checkpoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pending = sorted(self.checkpoints, key=lambda c: c.event_id, reverse=True)

    def check(self, row: ChainRow) -> Break | None:
        """None when ``row`` fits; otherwise what is wrong with it (or with the rows before)."""
        self.checked += 1
        # A checkpointed row that the walk has passed without seeing is gone.
        while self._pending and self._pending[-1].event_id < row.id:
            missing = self._pending.pop()
            return Break(
                missing.event_id,
                f"audit event {missing.event_id}, recorded by the checkpoint of {missing.at}, is gone "
                "(rows were deleted)",
            )
        if row.prev_hash != self.prev_hash:
            return Break(row.id, f"audit event {row.id}: prev_hash does not match the row before it")
        if row.key_id is None:
            if self._keyed_seen:
                return Break(
                    row.id,
                    f"audit event {row.id}: not signed with an audit key, after signed rows (a forged row)",
                )
            self.unkeyed += 1
            key = None
        else:
            self._keyed_seen = True
            key = self.keyring.key(row.key_id)
            if key is None:
                return Break(
                    row.id,
                    f"audit event {row.id}: signed with audit key {row.key_id}, which is not configured "
                    "(REGISTRY_AUDIT_KEY or REGISTRY_AUDIT_KEY_PREVIOUS)",
                )
        if not hmac.compare_digest(row_hash(row, key), row.hash):
            return Break(row.id, f"audit event {row.id}: its content does not match its hash")
        while self._pending and self._pending[-1].event_id == row.id:
            checkpoint = self._pending.pop()
            if checkpoint.hash != row.hash:
                return Break(
                    row.id,
                    f"audit event {row.id}: its hash differs from the checkpoint of {checkpoint.at} "
                    "(the chain was rewritten)",
                )
            self.checkpoints_matched += 1
        self.prev_hash = row.hash
        self.last_id = row.id
        return None

    def finish(self) -> Break | None:
        """After the last row: a checkpoint beyond the head means the tail was cut off."""
        if not self._pending:
            return None
        first, latest = self._pending[-1], self._pending[0]
        head = "no event" if self.last_id is None else f"audit event {self.last_id}"
        return Break(
            first.event_id,
            f"the audit trail is truncated: its last row is {head}, but the checkpoint of {latest.at} "
            f"recorded audit event {latest.event_id} (hash {latest.hash[:16]}...)",
        )
