"""Enrolments, many at a time.

Small sets go in one ``INSERT ... SELECT FROM unnest(...)``; large ones are COPYed
(binary protocol) into a temporary table dropped at commit, then moved with one
``INSERT ... SELECT``. Both skip a (cohort, trainee) pair that is already enrolled
(``ON CONFLICT DO NOTHING``) and return the trainee ids actually inserted.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

COPY_THRESHOLD = 2000
"""From this many rows on, COPY into a temporary table instead of one unnest statement."""

COLUMNS = ("trainee_id", "attended_hours", "outcome", "groups")
"""What varies by row; the id (drawn by the database), the cohort, the batch and the
timestamps are the same expression for every row."""


@dataclass(frozen=True)
class NewEnrolment:
    trainee_id: uuid.UUID
    attended_hours: Decimal | None = None
    outcome: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)


def raw_connection(conn: BaseDBAsyncClient) -> Any:
    """The asyncpg connection behind a Tortoise transaction (``TransactionWrapper``)."""
    raw = getattr(conn, "_connection", None)
    if raw is None or not hasattr(raw, "copy_records_to_table"):
        raise RuntimeError("bulk writes need an asyncpg connection inside a transaction")
    return raw


async def insert_enrolments(
    conn: BaseDBAsyncClient,
    cohort_id: uuid.UUID,
    rows: Sequence[NewEnrolment],
    *,
    import_batch_id: uuid.UUID | None = None,
    copy_threshold: int | None = None,
) -> int:
    """Enrol ``rows`` into the cohort; returns how many were inserted (an existing
    (cohort, trainee) pair is left as it is and not counted)."""
    if not rows:
        return 0
    records = [
        (
            row.trainee_id,
            row.attended_hours if row.attended_hours is not None else _ZERO,
            row.outcome or "in_progress",
            json.dumps(sorted(set(row.groups))) if row.groups else "[]",
        )
        for row in rows
    ]
    shared = [cohort_id, import_batch_id, dt.datetime.now(dt.UTC)]
    insert = (
        "INSERT INTO enrolment (id, cohort_id, import_batch_id, created_at, updated_at, "
        + ", ".join(COLUMNS)
        + ") SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3, $3, "
    )
    raw = raw_connection(conn)
    if len(records) < (COPY_THRESHOLD if copy_threshold is None else copy_threshold):
        status = await raw.execute(
            insert + "u.* FROM unnest($4::uuid[], $5::numeric[], $6::text[], $7::jsonb[]) AS u "
            "ON CONFLICT (cohort_id, trainee_id) DO NOTHING",
            *shared,
            *[list(column) for column in zip(*records, strict=True)],
        )
        return _count(status)
    await raw.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS _enrolment_load "
        "(trainee_id uuid, attended_hours numeric, outcome text, groups jsonb) ON COMMIT DELETE ROWS"
    )
    await raw.execute("TRUNCATE _enrolment_load")
    await raw.copy_records_to_table("_enrolment_load", records=records, columns=list(COLUMNS))
    status = await raw.execute(
        insert + ", ".join(COLUMNS) + " FROM _enrolment_load ON CONFLICT (cohort_id, trainee_id) DO NOTHING",
        *shared,
    )
    await raw.execute("TRUNCATE _enrolment_load")
    return _count(status)


_ZERO = Decimal(0)


def _count(status: str) -> int:
    """Rows inserted, from the command tag (``INSERT 0 <n>``)."""
    return int(status.rsplit(" ", 1)[-1])
