"""The chain's rules over plain rows: the history from before the audit key, key rotation,
checkpoints."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence

from registry.audit.rules import (
    GENESIS_HASH,
    AuditKeyring,
    ChainRow,
    ChainWalk,
    Checkpoint,
    event_payload,
    keyed_hash,
    plain_hash,
)

AT = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def _row(event_id: int, prev: str, key: bytes | None) -> ChainRow:
    kid = None if key is None else AuditKeyring(key).current_id
    payload = event_payload(
        event_id=event_id,
        at=AT,
        actor="system:test",
        action="test",
        entity_type="thing",
        entity_id=str(event_id),
        before=None,
        after={"n": event_id},
        key_id=kid,
    )
    digest = plain_hash(prev, payload) if key is None else keyed_hash(key, prev, payload)
    return ChainRow(
        event_id, AT, "system:test", "test", "thing", str(event_id), None, {"n": event_id}, prev, digest, kid
    )


def _chain(keys: list[bytes | None]) -> list[ChainRow]:
    rows, prev = [], GENESIS_HASH
    for n, key in enumerate(keys, start=1):
        rows.append(_row(n, prev, key))
        prev = rows[-1].hash
    return rows


def _walk(rows: list[ChainRow], keyring: AuditKeyring, checkpoints: Sequence[Checkpoint] = ()) -> str | None:
    walk = ChainWalk(keyring, checkpoints)
    for row in rows:
        broken = walk.check(row)
        if broken is not None:
            return broken.message
    broken = walk.finish()
    return None if broken is None else broken.message


def test_plain_rows_from_before_the_key_then_keyed_rows_verify() -> None:
    key = os.urandom(32)
    rows = _chain([None, None, key, key])
    walk = ChainWalk(AuditKeyring(key))
    assert all(walk.check(row) is None for row in rows)
    assert walk.finish() is None
    assert walk.unkeyed == 2


def test_a_plain_row_after_a_keyed_one_is_a_forgery() -> None:
    key = os.urandom(32)
    message = _walk(_chain([None, key, None]), AuditKeyring(key))
    assert message is not None and "audit event 3" in message


def test_rows_of_a_previous_key_verify_while_it_is_configured() -> None:
    old, new = os.urandom(32), os.urandom(32)
    rows = _chain([old, old, new])
    assert _walk(rows, AuditKeyring(new, (old,))) is None
    message = _walk(rows, AuditKeyring(new))
    assert message is not None and "audit event 1" in message and "not configured" in message


def test_checkpoints_show_a_cut_tail_a_gone_row_and_a_rewrite() -> None:
    key = os.urandom(32)
    rows = _chain([key] * 5)
    keyring = AuditKeyring(key)
    at_4 = Checkpoint(4, rows[3].hash, "2026-01-02T00:00:00+00:00")
    assert _walk(rows, keyring, [at_4]) is None
    cut = _walk(rows[:2], keyring, [at_4])
    assert cut is not None and "truncated" in cut and "audit event 4" in cut
    at_2 = Checkpoint(2, rows[1].hash, "2026-01-01T00:00:00+00:00")
    gone = _walk([rows[0], *rows[2:]], keyring, [at_2])
    assert gone is not None and "audit event 2" in gone
    other = Checkpoint(4, "f" * 64, "2026-01-02T00:00:00+00:00")
    rewritten = _walk(rows, keyring, [other])
    assert rewritten is not None and "rewritten" in rewritten


def test_a_checkpoint_line_round_trips() -> None:
    checkpoint = Checkpoint(7, "a" * 64, "2026-01-02T00:00:00+00:00", "cli:verify-audit", "0123abcd")
    assert Checkpoint.from_line(checkpoint.to_line()) == checkpoint
