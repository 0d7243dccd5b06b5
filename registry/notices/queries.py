"""SQL of the working-day calendar: a stretch of days, the covered years, and replacing
whole years set-based (one DELETE and two ``unnest`` INSERTs, however many years)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.paging import Page, page_of_sql
from registry.enums import CalendarDayKind, CalendarOrigin
from registry.notices.calendar_file import CalendarFile

CALENDAR_LOCK_KEY = 0x0CA1_E4DA
"""Serialises writes of the calendar (a bureau load and a seed never interleave)."""


@dataclass(frozen=True)
class DayRow:
    date: dt.date
    kind: CalendarDayKind
    name: str
    source: str


@dataclass(frozen=True)
class YearRow:
    year: int
    origin: CalendarOrigin
    source: str
    file_name: str
    sha256: str
    holidays: int
    makeup_workdays: int
    loaded_at: dt.datetime


def _conn(conn: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    return conn or connections.get("default")


def _year(row: Any) -> YearRow:
    return YearRow(
        year=int(row["year"]),
        origin=CalendarOrigin(row["origin"]),
        source=row["source"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        holidays=int(row["holidays"]),
        makeup_workdays=int(row["makeup_workdays"]),
        loaded_at=row["loaded_at"],
    )


async def lock_calendar(conn: BaseDBAsyncClient) -> None:
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [CALENDAR_LOCK_KEY])


async def days_between(start: dt.date, end: dt.date, conn: BaseDBAsyncClient | None = None) -> list[DayRow]:
    """The holidays and make-up working days from ``start`` to ``end`` (both inclusive)."""
    _, rows = await _conn(conn).execute_query(
        "SELECT date, kind, name, source FROM working_day_calendar WHERE date BETWEEN $1 AND $2 ORDER BY date",
        [start, end],
    )
    return [DayRow(r["date"], CalendarDayKind(r["kind"]), r["name"], r["source"]) for r in rows]


async def covered_years(conn: BaseDBAsyncClient | None = None) -> list[YearRow]:
    """Every year the calendar covers, in order (a few dozen rows)."""
    _, rows = await _conn(conn).execute_query(
        "SELECT year, origin, source, file_name, sha256, holidays, makeup_workdays, loaded_at "
        "FROM working_day_calendar_year ORDER BY year"
    )
    return [_year(row) for row in rows]


async def replace_years(
    conn: BaseDBAsyncClient,
    years: Sequence[CalendarFile],
    origin: CalendarOrigin,
    file_name: str = "",
) -> None:
    """Replace each year's days by the file's and record the year as covered (``origin``)."""
    if not years:
        return
    numbers = [f.year for f in years]
    await conn.execute_query(
        "DELETE FROM working_day_calendar WHERE date_part('year', date)::int = ANY($1::int[])", [numbers]
    )
    entries = [e for f in years for e in f.entries]
    if entries:
        await conn.execute_query(
            "INSERT INTO working_day_calendar (date, kind, name, source, loaded_at) "
            "SELECT d, k, n, s, now() FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) AS t(d, k, n, s)",
            [
                [e.date for e in entries],
                [e.kind.value for e in entries],
                [e.name for e in entries],
                [e.source for e in entries],
            ],
        )
    await conn.execute_query(
        """
        INSERT INTO working_day_calendar_year
            (year, origin, source, file_name, sha256, holidays, makeup_workdays, loaded_at)
        SELECT y, $2, s, $3, h, hd, mw, now()
        FROM unnest($1::smallint[], $4::text[], $5::text[], $6::smallint[], $7::smallint[]) AS t(y, s, h, hd, mw)
        ON CONFLICT (year) DO UPDATE SET
            origin = EXCLUDED.origin, source = EXCLUDED.source, file_name = EXCLUDED.file_name,
            sha256 = EXCLUDED.sha256, holidays = EXCLUDED.holidays,
            makeup_workdays = EXCLUDED.makeup_workdays, loaded_at = EXCLUDED.loaded_at
        """,
        [
            numbers,
            origin.value,
            file_name,
            [f.source for f in years],
            [f.sha256 for f in years],
            [f.holidays for f in years],
            [f.makeup_workdays for f in years],
        ],
    )


# ---------------------------------------------------------------------------
# Notices of claims, their end (grants), payments, certificate changes
# ---------------------------------------------------------------------------

_NOTICE_COLUMNS = (
    "n.id, n.claim_id, n.status, n.published_on, n.runs_from, n.runs_to, n.days, n.published_by, "
    "n.published_at, n.closed_at, n.granted_lines, n.returned_lines, "
    "(SELECT count(*) FROM subsidy_line AS l WHERE l.notice_id = n.id) AS lines, "
    "(SELECT coalesce(sum(l.total_fen), 0) FROM subsidy_line AS l WHERE l.notice_id = n.id "
    "AND (l.decision = 'approved' OR l.grant_id IS NOT NULL)) AS total_fen"
)


async def running_notice_of(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> uuid.UUID | None:
    rows = await conn.execute_query_dict(
        "SELECT id FROM claim_notice WHERE claim_id = $1 AND status = 'running'", [claim_id]
    )
    return rows[0]["id"] if rows else None


async def lines_to_notice(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> list[uuid.UUID]:
    """The approved lines not yet granted (none of them is on a running notice: the caller
    checked there is none)."""
    rows = await conn.execute_query_dict(
        "SELECT id FROM subsidy_line WHERE claim_id = $1 AND decision = 'approved' AND grant_id IS NULL ORDER BY seq",
        [claim_id],
    )
    return [row["id"] for row in rows]


async def insert_notice(
    conn: BaseDBAsyncClient,
    *,
    notice_id: uuid.UUID,
    claim_id: uuid.UUID,
    published_on: dt.date,
    days: Sequence[dt.date],
    actor: str,
    at: dt.datetime,
    line_ids: Sequence[uuid.UUID],
) -> None:
    await conn.execute_query(
        "INSERT INTO claim_notice (id, claim_id, published_on, runs_from, runs_to, days, status, published_by, "
        "published_at, granted_lines, returned_lines) VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'running', $7, $8, 0, 0)",
        [
            notice_id,
            claim_id,
            published_on,
            days[0],
            days[-1],
            json.dumps([d.isoformat() for d in days]),
            actor,
            at,
        ],
    )
    await conn.execute_query(
        "UPDATE subsidy_line SET notice_id = $1 WHERE id = ANY($2::uuid[])", [notice_id, list(line_ids)]
    )


async def notice_row(conn: BaseDBAsyncClient, notice_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict(
        f"SELECT {_NOTICE_COLUMNS} FROM claim_notice AS n WHERE n.id = $1", [notice_id]
    )
    return rows[0] if rows else None


async def notices_of_claim(claim_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        f"SELECT {_NOTICE_COLUMNS} FROM claim_notice AS n WHERE n.claim_id = $1 ORDER BY n.published_at",
        [claim_id],
    )
    return rows


async def lock_notice(conn: BaseDBAsyncClient, notice_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict("SELECT * FROM claim_notice WHERE id = $1 FOR UPDATE", [notice_id])
    return rows[0] if rows else None


async def due_notices(today: dt.date) -> list[uuid.UUID]:
    """Running notices whose last day is before ``today`` (they ended at its start)."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT id FROM claim_notice WHERE status = 'running' AND runs_to < $1 ORDER BY runs_to, id", [today]
    )
    return [row["id"] for row in rows]


async def approved_lines_of_notice(conn: BaseDBAsyncClient, notice_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        "SELECT l.id, l.claim_id, l.notice_id, l.kind, l.trainee_id, l.certificate_id, l.cohort_kind, "
        "l.occupation_code, l.level, l.certificate_kind, l.startup_course, l.year, l.total_fen, l.policy_code, "
        "(l.kind = 'training' AND l.certificate_kind = 'special_operation' AND coalesce(x.is_renewal, false)) "
        "AS is_renewal FROM subsidy_line AS l LEFT JOIN certificate AS x ON x.id = l.certificate_id "
        "WHERE l.notice_id = $1 AND l.decision = 'approved' AND l.grant_id IS NULL ORDER BY l.seq",
        [notice_id],
    )
    return rows


async def mark_granted(conn: BaseDBAsyncClient, grants: dict[uuid.UUID, uuid.UUID]) -> int:
    """Record each line's grant, only on a line still approved and not granted (the caller
    holds the locks that keep it so; the count tells it did)."""
    if not grants:
        return 0
    count, _ = await conn.execute_query(
        "UPDATE subsidy_line AS l SET grant_id = g.grant_id FROM unnest($1::uuid[], $2::uuid[]) AS g(line_id, grant_id) "
        "WHERE l.id = g.line_id AND l.decision = 'approved' AND l.grant_id IS NULL",
        [list(grants), list(grants.values())],
    )
    return int(count)


async def lock_certificates(
    conn: BaseDBAsyncClient, certificate_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Share-lock the certificates (in id order) and read their status as committed now: a
    status change (which locks its certificate for update) either committed before, and is
    seen, or waits for the caller's commit. The lock order of money: certificates, claims,
    lines, then the people's ledger locks."""
    wanted = sorted(set(certificate_ids))
    if not wanted:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT id, status FROM certificate WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE", [wanted]
    )
    return {row["id"]: row["status"] for row in rows}


async def lock_claims(conn: BaseDBAsyncClient, claim_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Lock claims for update in id order; their status as locked."""
    wanted = sorted(set(claim_ids))
    if not wanted:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT id, status FROM subsidy_claim WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", [wanted]
    )
    return {row["id"]: row["status"] for row in rows}


async def claims_of_certificate(conn: BaseDBAsyncClient, certificate_id: uuid.UUID) -> list[uuid.UUID]:
    """The claims, being audited or paid, with a line on this certificate."""
    rows = await conn.execute_query_dict(
        "SELECT DISTINCT l.claim_id FROM subsidy_line AS l JOIN subsidy_claim AS s ON s.id = l.claim_id "
        "WHERE l.certificate_id = $1 AND s.status NOT IN ('submitted', 'withdrawn', 'failed') ORDER BY 1",
        [certificate_id],
    )
    return [row["claim_id"] for row in rows]


async def block_lines_of_certificate(
    conn: BaseDBAsyncClient, certificate_id: uuid.UUID, claim_ids: Sequence[uuid.UUID], flag: dict[str, str]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Every line of the certificate not granted yet, in ``claim_ids``: the flag added, the
    outcome ``blocked``, an approval cleared (a rejection stands), the line taken off its
    notice. Returns (line id, claim id) of each."""
    rows = await conn.execute_query_dict(
        "UPDATE subsidy_line SET flags = (flags::jsonb || jsonb_build_array($3::jsonb))::json, outcome = 'blocked', "
        "decision = CASE WHEN decision = 'approved' THEN NULL ELSE decision END, "
        "decided_by = CASE WHEN decision = 'approved' THEN NULL ELSE decided_by END, "
        "decided_at = CASE WHEN decision = 'approved' THEN NULL ELSE decided_at END, "
        "reason = CASE WHEN decision = 'approved' THEN '' ELSE reason END, notice_id = NULL "
        "WHERE certificate_id = $1 AND claim_id = ANY($2::uuid[]) AND grant_id IS NULL RETURNING id, claim_id",
        [certificate_id, list(claim_ids), json.dumps(flag, ensure_ascii=False)],
    )
    return [(row["id"], row["claim_id"]) for row in rows]


async def unblock_lines_of_certificate(
    conn: BaseDBAsyncClient, certificate_id: uuid.UUID, claim_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """A certificate valid again: its lines not granted lose their CERT_NOT_VALID flags and
    take the outcome of the flags left (to be decided again)."""
    rows = await conn.execute_query_dict(
        "UPDATE subsidy_line AS l SET flags = k.kept::json, outcome = CASE "
        "WHEN k.kept @> '[{\"severity\": \"block\"}]' THEN 'blocked' "
        "WHEN jsonb_array_length(k.kept) > 0 THEN 'review' ELSE 'clean' END "
        "FROM (SELECT x.id, coalesce(jsonb_agg(f.value) FILTER (WHERE f.value->>'code' <> 'CERT_NOT_VALID'), "
        "'[]'::jsonb) AS kept FROM subsidy_line AS x, jsonb_array_elements(x.flags::jsonb) AS f "
        "WHERE x.certificate_id = $1 AND x.claim_id = ANY($2::uuid[]) AND x.grant_id IS NULL "
        'AND x.flags::jsonb @> \'[{"code": "CERT_NOT_VALID"}]\' GROUP BY x.id) AS k '
        "WHERE l.id = k.id RETURNING l.id, l.claim_id",
        [certificate_id, list(claim_ids)],
    )
    return [(row["id"], row["claim_id"]) for row in rows]


async def return_to_review(
    conn: BaseDBAsyncClient,
    line_ids: Sequence[uuid.UUID],
    *,
    claim_id: uuid.UUID,
    notice_id: uuid.UUID,
    flag: dict[str, str],
    blocked: bool = False,
) -> int:
    """Send approved, not granted lines of a notice back to review: the decision cleared, the
    flag added (the outcome becomes ``blocked`` with a block flag, at least ``review``), and
    the line taken off the notice (decided again, it waits for the next notice: it is never
    granted at the end of the notice it was objected to; the audit trail keeps the history)."""
    count, _ = await conn.execute_query(
        "UPDATE subsidy_line SET decision = NULL, decided_by = NULL, decided_at = NULL, reason = '', notice_id = NULL, "
        "flags = (flags::jsonb || jsonb_build_array($4::jsonb))::json, "
        "outcome = CASE WHEN $5 THEN 'blocked' WHEN outcome = 'clean' THEN 'review' ELSE outcome END "
        "WHERE id = ANY($1::uuid[]) AND claim_id = $2 AND notice_id = $3 AND decision = 'approved' "
        "AND grant_id IS NULL",
        [list(line_ids), claim_id, notice_id, json.dumps(flag, ensure_ascii=False), blocked],
    )
    return int(count)


async def add_flag(conn: BaseDBAsyncClient, line_id: uuid.UUID, flag: dict[str, str]) -> None:
    """Add a flag to a line; a ``block`` flag makes it ``blocked`` (a clawed-back line is
    never payable again). Its decision and grant stay: they are history."""
    await conn.execute_query(
        "UPDATE subsidy_line SET flags = (flags::jsonb || jsonb_build_array($2::jsonb))::json, "
        "outcome = CASE WHEN $3 THEN 'blocked' ELSE outcome END WHERE id = $1",
        [line_id, json.dumps(flag, ensure_ascii=False), flag.get("severity") == "block"],
    )


async def store_closed(
    conn: BaseDBAsyncClient, notice_id: uuid.UUID, actor: str, granted: int, returned: int
) -> None:
    await conn.execute_query(
        "UPDATE claim_notice SET status = 'closed', closed_at = now(), closed_by = $2, granted_lines = $3, "
        "returned_lines = $4 WHERE id = $1",
        [notice_id, actor, granted, returned],
    )


async def payable_grants(
    conn: BaseDBAsyncClient, claim_id: uuid.UUID
) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, dt.date]]:
    """line id -> (grant id, person, the day it was granted, Asia/Shanghai) of the claim's
    grants that stand (not reversed) and are not paid."""
    rows = await conn.execute_query_dict(
        "SELECT g.line_id, g.id, g.trainee_id, (g.granted_at AT TIME ZONE 'Asia/Shanghai')::date AS granted_on "
        "FROM subsidy_grant AS g WHERE g.claim_id = $1 AND g.reverses_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = g.id) "
        "AND NOT EXISTS (SELECT 1 FROM subsidy_payment AS p WHERE p.grant_id = g.id) ORDER BY g.granted_at, g.id",
        [claim_id],
    )
    return {row["line_id"]: (row["id"], row["trainee_id"], row["granted_on"]) for row in rows}


async def insert_payments(
    conn: BaseDBAsyncClient,
    claim_id: uuid.UUID,
    grant_ids: Sequence[uuid.UUID],
    paid_on: dt.date,
    reference: str,
    actor: str,
) -> int:
    rows = await conn.execute_query_dict(
        "INSERT INTO subsidy_payment (id, grant_id, claim_id, paid_on, batch_reference, amount_fen, recorded_by, "
        "recorded_at) SELECT gen_random_uuid(), g.id, $1, $3, $4, g.amount_fen, $5, now() FROM subsidy_grant AS g "
        "WHERE g.id = ANY($2::uuid[]) RETURNING amount_fen",
        [claim_id, list(grant_ids), paid_on, reference, actor],
    )
    return sum(int(row["amount_fen"]) for row in rows)


async def lines_pending(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> int:
    """Lines still to decide, or approved and waiting for a notice's end."""
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM subsidy_line WHERE claim_id = $1 AND (decision IS NULL OR "
        "(decision = 'approved' AND grant_id IS NULL))",
        [claim_id],
    )
    return int(rows[0]["n"])


async def noticed_lines_of_certificate(
    conn: BaseDBAsyncClient, certificate_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    rows = await conn.execute_query_dict(
        "SELECT l.id, l.claim_id, l.notice_id FROM subsidy_line AS l JOIN claim_notice AS n ON n.id = l.notice_id "
        "WHERE l.certificate_id = $1 AND n.status = 'running' AND l.decision = 'approved' AND l.grant_id IS NULL",
        [certificate_id],
    )
    return [(row["id"], row["claim_id"], row["notice_id"]) for row in rows]


async def standing_grants_of_certificate(
    conn: BaseDBAsyncClient, certificate_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None]]:
    rows = await conn.execute_query_dict(
        "SELECT g.id, g.line_id, g.claim_id FROM subsidy_grant AS g WHERE g.certificate_id = $1 "
        "AND g.reverses_id IS NULL AND NOT EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = g.id) "
        "ORDER BY g.granted_at, g.id",
        [certificate_id],
    )
    return [(row["id"], row["line_id"], row["claim_id"]) for row in rows]


async def public_notice_row(notice_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await connections.get("default").execute_query_dict(
        "SELECT n.id, n.status, n.published_on, n.runs_from, n.runs_to, n.days, s.kind, i.name AS institution_name, "
        "c.name AS cohort_name, c.reference AS cohort_reference, d.name AS division_name "
        "FROM claim_notice AS n JOIN subsidy_claim AS s ON s.id = n.claim_id JOIN cohort AS c ON c.id = s.cohort_id "
        "JOIN institution AS i ON i.id = s.institution_id JOIN division AS d ON d.code = c.division_id "
        "WHERE n.id = $1",
        [notice_id],
    )
    return rows[0] if rows else None


async def public_notice_lines(notice_id: uuid.UUID) -> list[dict[str, Any]]:
    """The lines a notice lists (approved or granted; a line sent back to review is no longer
    shown), with what the public page shows of each person."""
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        "SELECT coalesce(e.name_as_given, t.name) AS name, t.id_masked, l.level, l.total_fen, "
        "CASE WHEN l.startup_course IS NOT NULL THEN l.startup_course || ' 创业培训' "
        "ELSE l.occupation_code || ' ' || coalesce(o.name, '') END AS subject, "
        "coalesce(x.number, x.number_masked) AS certificate_number "
        "FROM subsidy_line AS l JOIN trainee AS t ON t.id = l.trainee_id JOIN enrolment AS e ON e.id = l.enrolment_id "
        "LEFT JOIN occupation AS o ON o.code = l.occupation_code LEFT JOIN certificate AS x ON x.id = l.certificate_id "
        "WHERE l.notice_id = $1 AND (l.decision = 'approved' OR l.grant_id IS NOT NULL) ORDER BY l.seq",
        [notice_id],
    )
    return rows


async def export_lines(claim_id: uuid.UUID) -> list[dict[str, Any]]:
    """A claim's lines for its spreadsheet (masked ID numbers; the certificate number as the
    public page shows it)."""
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        "SELECT l.seq, coalesce(e.name_as_given, t.name) AS name, t.id_masked, l.level, l.base_fen, l.uplift_fen, "
        "l.total_fen, l.flags, l.decision, l.reason, "
        "CASE WHEN l.startup_course IS NOT NULL THEN l.startup_course || ' 创业培训' "
        "ELSE l.occupation_code || ' ' || coalesce(o.name, '') END AS subject, "
        "coalesce(x.number, x.number_masked) AS certificate_number "
        "FROM subsidy_line AS l JOIN trainee AS t ON t.id = l.trainee_id JOIN enrolment AS e ON e.id = l.enrolment_id "
        "LEFT JOIN occupation AS o ON o.code = l.occupation_code LEFT JOIN certificate AS x ON x.id = l.certificate_id "
        "WHERE l.claim_id = $1 ORDER BY l.seq",
        [claim_id],
    )
    for row in rows:
        if isinstance(row["flags"], str):
            row["flags"] = json.loads(row["flags"])
    return rows


async def total_of_lines(conn: BaseDBAsyncClient, line_ids: Sequence[uuid.UUID]) -> int:
    rows = await conn.execute_query_dict(
        "SELECT coalesce(sum(total_fen), 0) AS total FROM subsidy_line WHERE id = ANY($1::uuid[])",
        [list(line_ids)],
    )
    return int(rows[0]["total"])


async def running_notices(scope: tuple[str, list[Any]]) -> list[dict[str, Any]]:
    """Running notices of the claims in ``scope`` (a WHERE clause on ``subsidy_claim AS s``),
    ending first."""
    clause, params = scope
    condition = clause.format(p="$1") if params else clause
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        f"SELECT {_NOTICE_COLUMNS} FROM claim_notice AS n JOIN subsidy_claim AS s ON s.id = n.claim_id "
        f"WHERE n.status = 'running' AND {condition} ORDER BY n.runs_to, n.id",
        list(params),
    )
    return rows


_LISTED_FROM = (
    "FROM claim_notice AS n JOIN subsidy_claim AS s ON s.id = n.claim_id JOIN cohort AS c ON c.id = s.cohort_id "
    "JOIN institution AS i ON i.id = s.institution_id LEFT JOIN division AS d ON d.code = s.division_id"
)
_LISTED_COLUMNS = (
    f"{_NOTICE_COLUMNS}, s.kind, s.status AS claim_status, i.name AS institution_name, "
    "c.reference AS cohort_reference, c.name AS cohort_name, d.name AS division_name"
)


async def notices_page(
    scope: tuple[str, list[Any]], status: str | None, limit: int, offset: int
) -> Page[dict[str, Any]]:
    """The notices of the claims in ``scope`` (a WHERE clause on ``subsidy_claim AS s``),
    running or ended (``status``: ``running``, ``closed`` or None for both), newest first,
    with their claim's institution, cohort and division."""
    clause, params = scope
    args: list[Any] = list(params)
    condition = clause.format(p="$1") if params else clause
    if status is not None:
        args.append(status)
        condition += f" AND n.status = ${len(args)}"
    return await page_of_sql(
        f"SELECT {_LISTED_COLUMNS}, count(*) OVER () AS total {_LISTED_FROM} WHERE {condition} "
        "ORDER BY n.published_at DESC, n.id DESC",
        f"SELECT count(*) AS total {_LISTED_FROM} WHERE {condition}",
        args,
        limit,
        offset,
    )


async def notice_in_scope(scope: tuple[str, list[Any]], notice_id: uuid.UUID) -> dict[str, Any] | None:
    """One notice of a claim in ``scope``, as :func:`notices_page` lists it, or None."""
    clause, params = scope
    condition = clause.format(p="$2") if params else clause
    rows = await connections.get("default").execute_query_dict(
        f"SELECT {_LISTED_COLUMNS} {_LISTED_FROM} WHERE n.id = $1 AND {condition}", [notice_id, *params]
    )
    return rows[0] if rows else None
