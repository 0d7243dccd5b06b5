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

COLUMNS = (
    "id",
    "cohort_id",
    "trainee_id",
    "attended_hours",
    "outcome",
    "groups",
    "import_batch_id",
    "created_at",
    "updated_at",
)


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
) -> set[uuid.UUID]:
    """Enrol ``rows`` into the cohort; returns the trainee ids that were inserted
    (an existing (cohort, trainee) pair is left as it is and not returned)."""
    if not rows:
        return set()
    now = dt.datetime.now(dt.UTC)
    records = [
        (
            uuid.uuid4(),
            cohort_id,
            row.trainee_id,
            row.attended_hours if row.attended_hours is not None else Decimal(0),
            row.outcome or "in_progress",
            json.dumps(sorted(set(row.groups))),
            import_batch_id,
            now,
            now,
        )
        for row in rows
    ]
    raw = raw_connection(conn)
    if len(records) < (COPY_THRESHOLD if copy_threshold is None else copy_threshold):
        result = await raw.fetch(
            "INSERT INTO enrolment (" + ", ".join(COLUMNS) + ") "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::text[], "
            "$6::jsonb[], $7::uuid[], $8::timestamptz[], $9::timestamptz[]) "
            "ON CONFLICT (cohort_id, trainee_id) DO NOTHING RETURNING trainee_id",
            *[list(column) for column in zip(*records, strict=True)],
        )
        return {r["trainee_id"] for r in result}
    await raw.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS _enrolment_load "
        "(LIKE enrolment INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await raw.execute("TRUNCATE _enrolment_load")
    await raw.copy_records_to_table("_enrolment_load", records=records, columns=list(COLUMNS))
    result = await raw.fetch(
        "INSERT INTO enrolment (" + ", ".join(COLUMNS) + ") "
        "SELECT " + ", ".join(COLUMNS) + " FROM _enrolment_load "
        "ON CONFLICT (cohort_id, trainee_id) DO NOTHING RETURNING trainee_id"
    )
    await raw.execute("TRUNCATE _enrolment_load")
    return {r["trainee_id"] for r in result}
