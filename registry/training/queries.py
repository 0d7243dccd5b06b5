"""Set-based SQL of the training area. :func:`insert_enrolments` is the one way an
enrolment row is written (single enrolments, lists, roster files, the demo).

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
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.paging import Page, page_of_sql
from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts_sql
from registry.people.queries import PhoneValues

COPY_THRESHOLD = 2000
"""From this many rows on, COPY into a temporary table instead of one unnest statement."""

COLUMNS = (
    "trainee_id",
    "attended_hours",
    "outcome",
    "groups",
    "household_division_id",
    "household_as_written",
    "name_as_given",
    "phone_index",
    "phone_cipher",
    "phone_masked",
    "review_flags",
)
_TYPES = ("uuid", "numeric", "text", "jsonb", "text", "text", "text", "text", "bytea", "text", "jsonb")
"""What varies by row; the id (drawn by the database), the cohort, the batch and the
timestamps are the same expression for every row."""


COHORT_READ_COLUMNS = (
    "c.id, c.institution_id, c.reference, c.name, c.kind, c.occupation_id AS occupation_code, "
    "c.certificate_kind, c.certificate_level, c.startup_course, c.training_mode, c.delivery, "
    "c.division_id AS division_code, c.planned_hours, c.start_date, c.end_date, c.capacity, "
    "c.status, c.created_at, c.updated_at, c.closed_at, "
    "(SELECT count(*) FROM enrolment e WHERE e.cohort_id = c.id) AS enrolled"
)
"""A cohort as it is read (``GET /cohorts/{id}``): its columns under the read's names, and
its enrolments counted."""


async def visible_cohort(
    conn: BaseDBAsyncClient, principal: Principal, cohort_id: uuid.UUID
) -> dict[str, Any] | None:
    """The cohort as it is read, if the principal may see it: one statement in plain SQL on
    asyncpg's prepared statement (``GET /cohorts/{id}`` is one of the reads with a budget,
    DESIGN.md section 10: the ORM's query builder and models took most of its CPU). The
    status is as stored (the service makes it the effective one)."""
    condition, args = visible_cohorts_sql(principal, alias="c", first=2)
    async with conn.acquire_connection() as raw:  # asyncpg's connection
        row = await raw.fetchrow(
            f"SELECT {COHORT_READ_COLUMNS} FROM cohort c WHERE c.id = $1 AND {condition}", cohort_id, *args
        )
    return None if row is None else dict(row)


@dataclass(frozen=True)
class NewEnrolment:
    trainee_id: uuid.UUID
    attended_hours: Decimal | None = None
    outcome: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)
    household_division: str | None = None
    household_as_written: str | None = None
    name_as_given: str | None = None
    phone: PhoneValues = field(default_factory=PhoneValues)
    """The phone given at enrolment: blind index, ciphertext, masked form."""
    review_flags: tuple[str, ...] = field(default_factory=tuple)


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
            row.household_division,
            row.household_as_written,
            row.name_as_given,
            row.phone.index,
            row.phone.cipher,
            row.phone.masked,
            json.dumps(sorted(set(row.review_flags))) if row.review_flags else "[]",
        )
        for row in rows
    ]
    shared = [cohort_id, import_batch_id, dt.datetime.now(dt.UTC)]
    insert = (
        "INSERT INTO enrolment (id, cohort_id, import_batch_id, created_at, updated_at, "
        + ", ".join(COLUMNS)
        + ") SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3, $3, "
    )
    async with conn.acquire_connection() as raw:
        return await _insert(raw, records, shared, insert, copy_threshold)


async def _insert(
    raw: Any, records: list[tuple[Any, ...]], shared: list[Any], insert: str, copy_threshold: int | None
) -> int:
    if len(records) < (COPY_THRESHOLD if copy_threshold is None else copy_threshold):
        status = await raw.execute(
            insert
            + "u.* FROM unnest("
            + ", ".join(f"${n}::{t}[]" for n, t in enumerate(_TYPES, start=4))
            + ") AS u "
            "ON CONFLICT (cohort_id, trainee_id) DO NOTHING",
            *shared,
            *[list(column) for column in zip(*records, strict=True)],
        )
        return _count(status)
    await raw.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS _enrolment_load "
        "(" + ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, _TYPES, strict=True)) + ") ON COMMIT DELETE ROWS"
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


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment with the person's display values (masked, never the full numbers)."""

    id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    name: str
    """The name as the cohort's institution gave it."""
    id_masked: str
    phone_masked: str | None
    household_division: str | None
    household_as_written: str | None
    attended_hours: Decimal
    outcome: str
    groups: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    registered_name: str | None = None
    """For auditors: the person's registered name (None in an institution's view)."""
    review_flags: list[str] | None = None
    """For auditors: ``name_differs``... (None in an institution's view)."""

    def for_institution(self) -> EnrolmentView:
        """What the cohort's institution sees: its own facts, no review flags."""
        return replace(self, registered_name=None, review_flags=None)


_VIEW_SQL = (
    "SELECT e.id, e.cohort_id, e.trainee_id, COALESCE(e.name_as_given, t.name) AS name, "
    "t.name AS registered_name, e.review_flags::text AS review_flags, t.id_masked, e.phone_masked, "
    "e.household_division_id, e.household_as_written, e.attended_hours, e.outcome, e.groups::text AS groups, "
    "e.created_at, e.updated_at{total} "
    "FROM enrolment e JOIN trainee t ON t.id = e.trainee_id "
)
_ONE = _VIEW_SQL.format(total="")


def _view(row: dict[str, Any]) -> EnrolmentView:
    groups = row["groups"]
    return EnrolmentView(
        id=row["id"],
        cohort_id=row["cohort_id"],
        trainee_id=row["trainee_id"],
        name=row["name"],
        id_masked=row["id_masked"],
        phone_masked=row["phone_masked"],
        household_division=row["household_division_id"],
        household_as_written=row["household_as_written"],
        attended_hours=Decimal(row["attended_hours"]),
        outcome=row["outcome"],
        groups=list(json.loads(groups) if isinstance(groups, str) else groups),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        registered_name=row["registered_name"],
        review_flags=_json_list(row["review_flags"]),
    )


def _json_list(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


async def enrolment_view(conn: BaseDBAsyncClient, enrolment_id: uuid.UUID) -> EnrolmentView:
    rows = await conn.execute_query_dict(_ONE + "WHERE e.id = $1", [enrolment_id])
    return _view(rows[0])


async def enrolment_views(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, trainee_ids: Sequence[uuid.UUID]
) -> list[EnrolmentView]:
    rows = await conn.execute_query_dict(
        _ONE + "WHERE e.cohort_id = $1 AND e.trainee_id = ANY($2::uuid[])", [cohort_id, list(trainee_ids)]
    )
    return [_view(row) for row in rows]


async def enrolment_page(
    cohort_id: uuid.UUID, *, outcome: str | None, limit: int, offset: int
) -> Page[EnrolmentView]:
    """A cohort's enrolments in the order they were made."""
    where = "WHERE e.cohort_id = $1"
    args: list[Any] = [cohort_id]
    if outcome is not None:
        where += " AND e.outcome = $2"
        args.append(outcome)
    page = await page_of_sql(
        _VIEW_SQL.format(total=", count(*) OVER () AS total") + where + " ORDER BY e.created_at, e.id",
        "SELECT count(*) AS total FROM enrolment e " + where,
        args,
        limit,
        offset,
    )
    return page.map(_view)


async def already_enrolled(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, trainee_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these people are already enrolled in the cohort."""
    if not trainee_ids:
        return set()
    _, rows = await conn.execute_query(
        "SELECT trainee_id FROM enrolment WHERE cohort_id = $1 AND trainee_id = ANY($2::uuid[])",
        [cohort_id, list(trainee_ids)],
    )
    return {r["trainee_id"] for r in rows}


async def enrolled_by_institution(
    conn: BaseDBAsyncClient, institution_id: uuid.UUID, trainee_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these people the institution has enrolled (in any of its cohorts)."""
    if not trainee_ids:
        return set()
    _, rows = await conn.execute_query(
        "SELECT DISTINCT e.trainee_id FROM enrolment e JOIN cohort c ON c.id = e.cohort_id "
        "WHERE c.institution_id = $1 AND e.trainee_id = ANY($2::uuid[])",
        [institution_id, list(trainee_ids)],
    )
    return {r["trainee_id"] for r in rows}
