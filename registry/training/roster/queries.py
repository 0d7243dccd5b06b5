"""Set-based SQL of a roster import: an earlier import of the same file, the people the
file names as the registry knows them, and the writes (people in chunks, then enrolments).

Round trips are counted per file (a city year is ~4,000 files of ~37 rows): under the
cohort's lock, :func:`lookup` answers the earlier-import check, the capacity count and the
people look-up (with their enrolment in the cohort) in one statement."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.crypto import Vault
from registry.enums import ImportStatus
from registry.people.queries import Person, id_index, phone_values, upsert_people
from registry.reference.queries import DIVISION_KEYS
from registry.training.queries import NewEnrolment, insert_enrolments
from registry.training.roster.rules import RosterRow

PEOPLE_CHUNK = 5000
"""People written per ``upsert_people`` statement."""
LOOKUP_CHUNK = 20_000
"""ID-number blind indexes looked up per query."""


DONE = [ImportStatus.IMPORTED.value, ImportStatus.PARTIAL.value]
"""The statuses of an import that wrote something: the same file again changes nothing."""


_CONTEXT = (
    "SELECT (SELECT b.id FROM import_batch b WHERE b.cohort_id = $1 AND b.sha256 = $2 "
    "AND b.status = ANY($3::text[]) ORDER BY b.created_at DESC LIMIT 1) AS earlier_id, d.key, d.code "
    f"FROM (SELECT 1) AS one LEFT JOIN ({DIVISION_KEYS}) AS d ON true"
)


async def upload_context(cohort_id: uuid.UUID, sha256: str) -> tuple[uuid.UUID | None, dict[str, str]]:
    """Before the file is parsed, in one query: the latest earlier import of the same file
    into the cohort that wrote something, and the divisions' names, codes and aliases -> today's code
    (:data:`registry.reference.queries.DIVISION_KEYS`, what ``division_lookup`` answers)."""
    _, rows = await connections.get("default").execute_query(_CONTEXT, [cohort_id, sha256, DONE])
    divisions: dict[str, str] = {}
    for row in rows:
        if row["code"] is not None:
            divisions[row["key"]] = row["code"]
    return rows[0]["earlier_id"], divisions


_BATCH_COLUMNS = (
    "id", "cohort_id", "actor", "file_name", "sha256", "mode", "rows_read", "accepted", "refused",
    "already_enrolled", "errors", "refused_cells", "status", "created_at",
)  # fmt: skip
_INSERT_BATCH = (
    f"INSERT INTO import_batch ({', '.join(_BATCH_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}::jsonb" if c == "errors" else f"${n}" for n, c in enumerate(_BATCH_COLUMNS, start=1))
    + ")"
)


@dataclass(frozen=True)
class NewBatch:
    """The ``import_batch`` row of one roster file."""

    cohort_id: uuid.UUID
    actor: str
    file_name: str
    sha256: str
    mode: str
    rows_read: int
    accepted: int
    refused: int
    already_enrolled: int
    errors: list[dict[str, Any]]
    refused_cells: bytes | None
    status: ImportStatus


async def insert_batch(conn: BaseDBAsyncClient, batch: NewBatch) -> tuple[uuid.UUID, dt.datetime]:
    """One ``import_batch`` row (a plain INSERT, no ORM round of model building); returns
    its id and creation time."""
    batch_id, created_at = uuid.uuid4(), dt.datetime.now(dt.UTC)
    await conn.execute_query(
        _INSERT_BATCH,
        [
            batch_id, batch.cohort_id, batch.actor, batch.file_name, batch.sha256, batch.mode, batch.rows_read,
            batch.accepted, batch.refused, batch.already_enrolled, json.dumps(batch.errors, ensure_ascii=False),
            batch.refused_cells, batch.status.value, created_at,
        ],
    )  # fmt: skip
    return batch_id, created_at


async def set_accepted(conn: BaseDBAsyncClient, batch_id: uuid.UUID, accepted: int) -> None:
    await conn.execute_query("UPDATE import_batch SET accepted = $2 WHERE id = $1", [batch_id, accepted])


_KNOWN = (
    "SELECT t.id, t.id_index, t.name, e.id IS NOT NULL AS enrolled, EXISTS ("
    "SELECT 1 FROM enrolment o JOIN cohort oc ON oc.id = o.cohort_id WHERE o.trainee_id = t.id "
    "AND oc.institution_id = (SELECT institution_id FROM cohort WHERE id = $2)) AS ours "
    "FROM trainee t LEFT JOIN enrolment e ON e.trainee_id = t.id AND e.cohort_id = $2 "
    "WHERE t.id_index = ANY($1::text[])"
)
# The first chunk's statement also carries the earlier import of the same file and the
# cohort's enrolment count (uncorrelated subqueries, evaluated once); the outer join keeps
# one row when nobody is known. Planned under the import's ``force_custom_plan`` (see
# service.import_roster), it sets ``plan_cache_mode`` back to auto for the rest of the
# transaction: the writes that follow have no plan choice to get wrong (unnest, the arbiter
# index), but each of their rows fires foreign-key checks whose cached plans a forced
# custom plan would re-plan every time (measured: the 37-row enrolment insert 2.5-2.9 ms
# forced, 1.3 ms auto).
_LOOKUP = (
    "SELECT (SELECT set_config('plan_cache_mode', 'auto', true)) AS plan_cache_mode, "
    "(SELECT b.id FROM import_batch b WHERE b.cohort_id = $2 AND b.sha256 = $3 "
    "AND b.status = ANY($4::text[]) ORDER BY b.created_at DESC LIMIT 1) AS earlier_id, "
    "(SELECT count(*) FROM enrolment WHERE cohort_id = $2) AS enrolled_count, "
    "k.id, k.id_index, k.name, k.enrolled, k.ours "
    "FROM (SELECT 1) AS one LEFT JOIN (" + _KNOWN + ") AS k ON true"
)


@dataclass(frozen=True)
class Lookup:
    """What a roster import reads under the cohort's lock, in one statement."""

    earlier_id: uuid.UUID | None
    """The latest import of the same file into the cohort that wrote something."""
    enrolled: int
    """Enrolments the cohort has now (for its capacity)."""
    known: dict[str, tuple[uuid.UUID, str, bool, bool]]
    """``{id_index: (trainee id, registered name, already enrolled in the cohort, enrolled by
    the cohort's institution before)}`` for the people already registered."""


async def lookup(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, sha256: str, indexes: Sequence[str]
) -> Lookup:
    """The earlier import of this file, the cohort's enrolment count and the people the
    file names, in one query (plus one per further ``LOOKUP_CHUNK`` of people). Call it
    with the cohort locked: nothing can enrol into it meanwhile."""
    known: dict[str, tuple[uuid.UUID, str, bool, bool]] = {}
    # The further chunks first: the last read (the one that sets plan_cache_mode back) is _LOOKUP.
    for start in range(LOOKUP_CHUNK, len(indexes), LOOKUP_CHUNK):
        _, more = await conn.execute_query(_KNOWN, [list(indexes[start : start + LOOKUP_CHUNK]), cohort_id])
        known.update(
            {r["id_index"]: (r["id"], r["name"], bool(r["enrolled"]), bool(r["ours"])) for r in more}
        )
    _, rows = await conn.execute_query(_LOOKUP, [list(indexes[:LOOKUP_CHUNK]), cohort_id, sha256, DONE])
    first = rows[0]
    known.update(
        {
            r["id_index"]: (r["id"], r["name"], bool(r["enrolled"]), bool(r["ours"]))
            for r in rows
            if r["id"] is not None
        }
    )
    return Lookup(earlier_id=first["earlier_id"], enrolled=int(first["enrolled_count"]), known=known)


async def write_rows(
    conn: BaseDBAsyncClient,
    vault: Vault,
    cohort_id: uuid.UUID,
    batch_id: uuid.UUID,
    rows: list[RosterRow],
    indexes: Mapping[str, str] | None = None,
) -> int:
    """People in chunks of ``PEOPLE_CHUNK`` (one statement each), then the enrolments.
    ``indexes`` (ID number -> blind index), when the caller computed them, saves an HMAC a row."""
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
            trainee_id=trainee_ids[
                indexes[row.id.number] if indexes is not None else id_index(vault, row.id.number)
            ],
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
