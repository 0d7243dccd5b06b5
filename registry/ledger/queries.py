"""Set-based SQL of the grant ledger: the one way a grant (or a reversal) is written, and a
person's history as the claims engine judges repeats and caps against it.

Every write here runs inside the caller's transaction (a unit of work) and first takes the
ledger lock of each person it touches: a transaction-level advisory lock on
``hashtextextended('subsidy_grant:' || trainee_id, 0)``, the lock the table's trigger takes
too (migration 0011), so one person's grants are written one transaction at a time, and
whatever is read after the lock stays true until the commit. Locks are taken in the order
of the trainee ids, so two batches over the same people never deadlock.

:func:`insert_grants` judges the whole batch first (:func:`registry.ledger.rules.batch_conflicts`
against the history read under the lock) and refuses it with every row that does not fit;
the database's indexes and trigger would refuse the same, and are mapped to the same
errors should anything get past (a writer that skips this module).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from registry.core.text import visible_text
from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind
from registry.ledger import rules
from registry.ledger.rules import GrantFact, NewGrant

LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(hashtextextended('subsidy_grant:' || s.t::text, 0))) "
    "FROM (SELECT DISTINCT t FROM unnest($1::uuid[]) AS t ORDER BY t) AS s"
)
"""The ledger lock of every person in ``$1``, in id order (the trigger takes the same key)."""

SLOT_INDEXES = {
    "subsidy_grant_level_once",
    "subsidy_grant_levelless_once",
    "subsidy_grant_certificate_once",
    "subsidy_grant_startup_once",
    "subsidy_grant_line_once",
}
REVERSAL_INDEX = "subsidy_grant_reverses_id_key"
CAP_CONSTRAINT = "subsidy_grant_annual_cap"

_COLUMNS = (
    ("id", "uuid"),
    ("trainee_id", "uuid"),
    ("kind", "text"),
    ("cohort_kind", "text"),
    ("occupation_id", "text"),
    ("level", "smallint"),
    ("certificate_kind", "text"),
    ("certificate_id", "uuid"),
    ("startup_course", "text"),
    ("year", "smallint"),
    ("amount_fen", "bigint"),
    ("claim_id", "uuid"),
    ("line_id", "uuid"),
    ("policy_code", "text"),
    ("granted_by", "text"),
    ("reason", "text"),
    ("is_renewal", "boolean"),
)

_INSERT = (
    "INSERT INTO subsidy_grant ("
    + ", ".join(name for name, _ in _COLUMNS)
    + ", granted_at) SELECT u.*, now() FROM unnest("
    + ", ".join(f"${n}::{t}[]" for n, (_, t) in enumerate(_COLUMNS, start=1))
    + ") AS u"
)

_HISTORY = (
    "SELECT g.id, g.trainee_id, g.kind, g.cohort_kind, g.occupation_id, g.level, g.certificate_kind, "
    "g.certificate_id, g.startup_course, g.year, g.amount_fen, g.policy_code, g.claim_id, g.line_id, "
    "g.granted_at, g.is_renewal, r.granted_at AS reversed_at "
    "FROM subsidy_grant AS g LEFT JOIN subsidy_grant AS r ON r.reverses_id = g.id "
    "WHERE g.reverses_id IS NULL AND g.trainee_id = ANY($1::uuid[]) "
    "ORDER BY g.trainee_id, g.year, g.granted_at, g.id"
)

_REVERSE = (
    "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, occupation_id, level, certificate_kind, "
    "certificate_id, startup_course, year, amount_fen, claim_id, line_id, policy_code, granted_by, reason, "
    "granted_at, reverses_id, is_renewal) "
    "SELECT $2, g.trainee_id, g.kind, g.cohort_kind, g.occupation_id, g.level, g.certificate_kind, "
    "g.certificate_id, g.startup_course, g.year, -g.amount_fen, g.claim_id, g.line_id, g.policy_code, $3, $4, "
    "now(), g.id, g.is_renewal FROM subsidy_grant AS g WHERE g.id = $1 AND g.reverses_id IS NULL"
)


async def lock_people(conn: BaseDBAsyncClient, trainee_ids: Collection[uuid.UUID]) -> None:
    """Take the ledger lock of each person until the transaction ends: read the history after
    this, and it stays as read until the commit (the payable transition re-checks its lines
    this way)."""
    async with conn.acquire_connection() as raw:
        _require_transaction(raw)
        await raw.execute(LOCK_SQL, sorted(set(trainee_ids)))


async def insert_grants(conn: BaseDBAsyncClient, rows: Sequence[NewGrant]) -> list[uuid.UUID]:
    """Write ``rows`` as grants, all or none, in one statement; returns their ids in order.

    Under the ledger lock of every person in the batch, refuses the whole batch with
    :class:`ValidationFailed` (``invalid_grant``: a row that cannot be a grant) or
    :class:`Conflict` (``already_granted``: one of the row's slots is held — a level, a
    level-less subsidy of its certificate kind and occupation, a course, its certificate — or
    the line was granted; ``lower_level``: a higher level of the occupation is held;
    ``annual_cap``: a 4th training grant in a year), naming each offending row by its index
    and what it repeats, never a person's numbers."""
    granted, conflicts = await _grant(conn, rows, partial=False)
    if conflicts:
        raise _conflict(conflicts)
    return [granted[i] for i in range(len(rows))]


async def grant_what_fits(
    conn: BaseDBAsyncClient, rows: Sequence[NewGrant]
) -> tuple[dict[int, uuid.UUID], list[FieldError]]:
    """Like :func:`insert_grants`, but the rows that do not fit the ledger (judged under the
    same locks, in order) are left out and returned as errors (``row`` = their index); the
    others are written. Returns ({row index: grant id}, errors). The notice's end uses it:
    a line that now conflicts goes back to review, the others are granted."""
    return await _grant(conn, rows, partial=True)


async def _grant(
    conn: BaseDBAsyncClient, rows: Sequence[NewGrant], *, partial: bool
) -> tuple[dict[int, uuid.UUID], list[FieldError]]:
    if not rows:
        return {}, []
    shape = rules.shape_errors(rows)
    if shape:
        raise ValidationFailed("these rows cannot be granted", code="invalid_grant", errors=shape)
    people = sorted({row.trainee_id for row in rows})
    lines = [row.line_id for row in rows if row.line_id is not None]
    async with conn.acquire_connection() as raw:
        _require_transaction(raw)
        await raw.execute(LOCK_SQL, people)
        history = _facts(await raw.fetch(_HISTORY, people))
        granted_lines = [
            r["line_id"]
            for r in await raw.fetch(
                "SELECT line_id FROM subsidy_grant WHERE reverses_id IS NULL AND line_id = ANY($1::uuid[])",
                lines,
            )
        ]
        conflicts = rules.batch_conflicts(rows, history=history, granted_lines=granted_lines)
        if conflicts and not partial:
            return {}, conflicts
        refused = {error.row for error in conflicts}
        kept = [i for i in range(len(rows)) if i not in refused]
        ids = {i: uuid.uuid4() for i in kept}
        if not kept:
            return {}, conflicts
        records = [_record(ids[i], rows[i]) for i in kept]
        try:
            await raw.execute(_INSERT, *[list(column) for column in zip(*records, strict=True)])
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name not in SLOT_INDEXES:
                raise
            raise _conflict([_slot_error(exc, rows)]) from None
        except asyncpg.CheckViolationError as exc:
            if exc.constraint_name != CAP_CONSTRAINT:
                raise
            raise _conflict(
                [
                    FieldError(
                        "rows", "annual_cap", f"a person would hold more than {rules.ANNUAL_CAP} in a year"
                    )
                ]
            ) from None
    return ids, conflicts


async def history_of(
    conn: BaseDBAsyncClient, trainee_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[GrantFact]]:
    """Each person's grants (every id asked for is a key; no grant: an empty list), in year
    and grant order, each with its reversal folded in (``reversed_at``); reversal rows are
    not facts of their own.

    How the rules read them: SAME_LEVEL_REPEAT, LOWER_LEVEL and STARTUP_REPEAT judge against
    every fact, reversed or not (a slot is held for ever); ANNUAL_CAP counts only the facts
    that still stand (:func:`registry.ledger.rules.counts_towards_cap`). Read it after
    :func:`lock_people` when what is decided from it is written in the same transaction."""
    wanted = sorted(set(trainee_ids))
    out: dict[uuid.UUID, list[GrantFact]] = {trainee_id: [] for trainee_id in wanted}
    if not wanted:
        return out
    rows = await conn.execute_query_dict(_HISTORY, [wanted])
    for fact in _facts(rows):
        out[fact.trainee_id].append(fact)
    return out


async def reverse_grant(conn: BaseDBAsyncClient, grant_id: uuid.UUID, reason: str, actor: str) -> uuid.UUID:
    """Claw a grant back: write its reversing row (every fact copied, the amount negated,
    ``reverses_id`` set) and return the new row's id. A grant is reversed once
    (:class:`Conflict` ``already_reversed``); a reversal is not a grant
    (:class:`Conflict` ``not_a_grant``); a reason is required."""
    if not visible_text(reason):
        raise ValidationFailed(
            "a reversal says why",
            code="validation_failed",
            errors=[FieldError("reason", "required", "a reversal says why")],
        )
    async with conn.acquire_connection() as raw:
        _require_transaction(raw)
        row = await raw.fetchrow("SELECT trainee_id, reverses_id FROM subsidy_grant WHERE id = $1", grant_id)
        if row is None:
            raise NotFound("no such grant")
        if row["reverses_id"] is not None:
            raise Conflict("this row is a reversal, not a grant: it cannot be reversed", code="not_a_grant")
        await raw.execute(LOCK_SQL, [row["trainee_id"]])
        if await raw.fetchval("SELECT id FROM subsidy_grant WHERE reverses_id = $1", grant_id) is not None:
            raise _already_reversed()
        reversal_id = uuid.uuid4()
        try:
            await raw.execute(_REVERSE, grant_id, reversal_id, actor, visible_text(reason))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != REVERSAL_INDEX:
                raise
            raise _already_reversed() from None
    return reversal_id


def _require_transaction(raw: Any) -> None:
    if not raw.is_in_transaction():
        raise RuntimeError(
            "the ledger is written inside a transaction (a unit of work): its lock ends with it"
        )


def _already_reversed() -> Conflict:
    return Conflict("this grant was already reversed", code="already_reversed")


def _conflict(errors: list[FieldError]) -> Conflict:
    codes = {error.code for error in errors}
    code = next((c for c in ("already_granted", "lower_level") if c in codes), "annual_cap")
    return Conflict(
        "these grants do not fit the ledger: " + "; ".join(e.message for e in errors),
        code=code,
        errors=errors,
    )


_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) already exists")


def _slot_error(exc: asyncpg.UniqueViolationError, rows: Sequence[NewGrant]) -> FieldError:
    """The row a unique violation names (its key values matched against the batch)."""
    match = _KEY.search(exc.detail or "")
    if match is not None:
        key = dict(zip(match["columns"].split(", "), match["values"].split(", "), strict=False))
        for i, row in enumerate(rows):
            values = {
                "trainee_id": str(row.trainee_id),
                "kind": str(row.kind),
                "occupation_id": str(row.occupation_code),
                "level": str(row.level),
                "startup_course": str(row.startup_course),
                "line_id": str(row.line_id),
                "certificate_id": str(row.certificate_id),
                "certificate_kind": str(row.certificate_kind),
            }
            if all(values.get(column) == value for column, value in key.items()):
                held = rules.slots_of_new(row)
                what = rules.describe_slot(held[0]) if held else f"the line {row.line_id}"
                return FieldError(
                    f"rows[{i}]", "already_granted", f"row {i}: the person was already granted {what}", row=i
                )
    return FieldError("rows", "already_granted", "a person in the batch was already granted one of these")


def _record(grant_id: uuid.UUID, row: NewGrant) -> tuple[Any, ...]:
    return (
        grant_id,
        row.trainee_id,
        str(row.kind),
        str(row.cohort_kind),
        row.occupation_code,
        row.level,
        None if row.certificate_kind is None else str(row.certificate_kind),
        row.certificate_id,
        None if row.startup_course is None else str(row.startup_course),
        row.year,
        row.amount_fen,
        row.claim_id,
        row.line_id,
        row.policy_code,
        row.granted_by,
        row.reason,
        row.is_renewal,
    )


def _facts(rows: Sequence[Any]) -> list[GrantFact]:
    return [
        GrantFact(
            id=r["id"],
            trainee_id=r["trainee_id"],
            kind=SubsidyKind(r["kind"]),
            cohort_kind=CohortKind(r["cohort_kind"]),
            occupation_code=r["occupation_id"],
            level=r["level"],
            certificate_kind=None
            if r["certificate_kind"] is None
            else CertificateKind(r["certificate_kind"]),
            certificate_id=r["certificate_id"],
            startup_course=None if r["startup_course"] is None else StartupCourse(r["startup_course"]),
            year=r["year"],
            amount_fen=r["amount_fen"],
            policy_code=r["policy_code"],
            claim_id=r["claim_id"],
            line_id=r["line_id"],
            granted_at=r["granted_at"],
            reversed_at=r["reversed_at"],
            is_renewal=bool(r["is_renewal"]),
        )
        for r in rows
    ]
