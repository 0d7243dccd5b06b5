"""Set-based SQL of a roster import: an earlier import of the same file, the people the
file names as the registry knows them, and the writes (people in chunks, then enrolments)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.crypto import Vault
from registry.enums import ImportStatus
from registry.models.training import ImportBatch
from registry.people.queries import Person, id_index, phone_values, upsert_people
from registry.training.queries import NewEnrolment, insert_enrolments
from registry.training.roster.rules import RosterRow

PEOPLE_CHUNK = 5000
"""People written per ``upsert_people`` statement."""
LOOKUP_CHUNK = 20_000
"""ID-number blind indexes looked up per query."""


async def earlier_import(
    cohort_id: uuid.UUID, sha256: str, conn: BaseDBAsyncClient | None = None
) -> ImportBatch | None:
    query = ImportBatch.filter(
        cohort_id=cohort_id, sha256=sha256, status__in=[ImportStatus.IMPORTED, ImportStatus.PARTIAL]
    ).order_by("-created_at")
    if conn is not None:
        query = query.using_db(conn)
    return await query.first()


async def registered(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, indexes: Sequence[str]
) -> dict[str, tuple[uuid.UUID, str, bool, bool]]:
    """``{id_index: (trainee id, registered name, already enrolled in the cohort, enrolled by
    the cohort's institution)}`` for the people already registered, in one query per
    ``LOOKUP_CHUNK``. The last is asked only where the name may be compared: the people
    whose registered name the institution may be told about."""
    found: dict[str, tuple[uuid.UUID, str, bool, bool]] = {}
    for start in range(0, len(indexes), LOOKUP_CHUNK):
        _, rows = await conn.execute_query(
            "SELECT t.id, t.id_index, t.name, e.id IS NOT NULL AS enrolled, EXISTS ("
            "SELECT 1 FROM enrolment o JOIN cohort oc ON oc.id = o.cohort_id WHERE o.trainee_id = t.id "
            "AND oc.institution_id = (SELECT institution_id FROM cohort WHERE id = $2)) AS ours "
            "FROM trainee t LEFT JOIN enrolment e ON e.trainee_id = t.id AND e.cohort_id = $2 "
            "WHERE t.id_index = ANY($1::text[])",
            [list(indexes[start : start + LOOKUP_CHUNK]), cohort_id],
        )
        found.update(
            {r["id_index"]: (r["id"], r["name"], bool(r["enrolled"]), bool(r["ours"])) for r in rows}
        )
    return found


async def write_rows(
    conn: BaseDBAsyncClient, vault: Vault, cohort_id: uuid.UUID, batch_id: uuid.UUID, rows: list[RosterRow]
) -> int:
    """People in chunks of ``PEOPLE_CHUNK`` (one statement each), then the enrolments."""
    trainee_ids: dict[str, uuid.UUID] = {}
    for start in range(0, len(rows), PEOPLE_CHUNK):
        people = [
            Person(
                id=row.id,
                name=row.name,
                phone=row.phone,
                household_division=row.household_division,
                groups=tuple(group.value for group in row.groups),
            )
            for row in rows[start : start + PEOPLE_CHUNK]
        ]
        trainee_ids.update(await upsert_people(conn, vault, people))
    enrolments = [
        NewEnrolment(
            trainee_id=trainee_ids[id_index(vault, row.id.number)],
            attended_hours=row.attended_hours,
            outcome=row.outcome.value if row.outcome else None,
            groups=tuple(group.value for group in row.groups),
            household_division=row.household_division,
            household_as_written=row.household_as_written,
            name_as_given=row.name,
            phone=phone_values(vault, row.phone),
            review_flags=row.review_flags,
        )
        for row in rows
    ]
    return await insert_enrolments(conn, cohort_id, enrolments, import_batch_id=batch_id)
