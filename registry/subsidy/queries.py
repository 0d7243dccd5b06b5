"""SQL of the subsidy area: the policy rows and whether an occupation is a priority trade on
a date (the priority list in force, :data:`registry.reference.queries.IN_FORCE`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.reference.queries import IN_FORCE

POLICY_LOCK_KEY = 0x5_0B51_D7
"""Serialises policy loads, so that two loads never both pass the overlap check."""


@dataclass(frozen=True)
class PolicyRow:
    code: str
    effective_from: dt.date
    effective_to: dt.date | None
    document: dict[str, Any]
    source_note: str
    sha256: str
    loaded_at: dt.datetime


_COLUMNS = "code, effective_from, effective_to, document, source_note, sha256, loaded_at"


def _row(row: Any) -> PolicyRow:
    document = row["document"]
    return PolicyRow(
        code=row["code"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        document=json.loads(document) if isinstance(document, str) else dict(document),
        source_note=row["source_note"],
        sha256=row["sha256"],
        loaded_at=row["loaded_at"],
    )


def _conn(conn: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    return conn or connections.get("default")


async def lock_policies(conn: BaseDBAsyncClient) -> None:
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [POLICY_LOCK_KEY])


async def all_policies(conn: BaseDBAsyncClient | None = None) -> list[PolicyRow]:
    """Every loaded policy, by effective date (a handful of rows)."""
    _, rows = await _conn(conn).execute_query(
        f"SELECT {_COLUMNS} FROM subsidy_policy ORDER BY effective_from, code"
    )
    return [_row(row) for row in rows]


async def policy_by_code(code: str, conn: BaseDBAsyncClient | None = None) -> PolicyRow | None:
    _, rows = await _conn(conn).execute_query(
        f"SELECT {_COLUMNS} FROM subsidy_policy WHERE code = $1", [code]
    )
    return _row(rows[0]) if rows else None


async def insert_policy(
    conn: BaseDBAsyncClient,
    *,
    code: str,
    effective_from: dt.date,
    effective_to: dt.date | None,
    document: dict[str, Any],
    source_note: str,
    sha256: str,
) -> None:
    await conn.execute_query(
        "INSERT INTO subsidy_policy (id, code, effective_from, effective_to, document, source_note, sha256, "
        "loaded_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, now())",
        [
            uuid.uuid4(),
            code,
            effective_from,
            effective_to,
            json.dumps(document, ensure_ascii=False, separators=(",", ":")),
            source_note,
            sha256,
        ],
    )


async def is_priority_trade(occupation_code: str, on: dt.date, conn: BaseDBAsyncClient | None = None) -> bool:
    """Whether the occupation is on the priority list in force on ``on`` (False before the
    first list)."""
    _, rows = await _conn(conn).execute_query(
        "SELECT EXISTS (SELECT 1 FROM priority_list_entry WHERE occupation_id = $1 AND priority_list_id = "
        f"{IN_FORCE.format(p='$2')}) AS on_list",
        [occupation_code, on],
    )
    return bool(rows[0]["on_list"])
