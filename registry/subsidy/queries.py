"""SQL of the subsidy area: the policy rows, whether an occupation is a priority trade on a
date (the priority list in force, :data:`registry.reference.queries.IN_FORCE`), and the
claims: the people of a claim with their certificates, the set-based OVERLAP and
SHARED_PHONE checks, the lines written by COPY, and the scoped reads."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.paging import Page, page_of_sql
from registry.core.text import visible_text
from registry.reference import queries as reference_queries
from registry.reference.queries import IN_FORCE
from registry.subsidy.rules import LineTally, PriorityListFacts

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


async def priority_list_facts(conn: BaseDBAsyncClient | None, on: dt.date) -> PriorityListFacts | None:
    """The priority list in force on ``on`` as the UPLIFT step names it."""
    listed = await reference_queries.priority_list_facts(on, conn)
    return None if listed is None else PriorityListFacts(listed.code, listed.document, listed.confirmed)


async def institution_standing(conn: BaseDBAsyncClient, institution_id: uuid.UUID) -> tuple[str, Any] | None:
    """An institution's (or assessment body's) status and approved years."""
    rows = await conn.execute_query_dict(
        "SELECT status, approved_years FROM institution WHERE id = $1", [institution_id]
    )
    return (rows[0]["status"], rows[0]["approved_years"]) if rows else None


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------

OPEN_CLAIM_INDEX = "subsidy_claim_open_once"
"""One open claim per cohort, kind and claimant (migrations 0012 and 0019)."""


async def lock_cohort_for_claim(conn: BaseDBAsyncClient, cohort_id: uuid.UUID) -> dict[str, Any] | None:
    """The cohort (with its institution's approval facts, and ``on_priority_list``: whether
    its occupation is on the priority list in force on its start date), locked: two
    filings for one cohort run one after the other."""
    rows = await conn.execute_query_dict(
        "SELECT c.id, c.institution_id, c.division_id, c.kind, c.status, c.occupation_id, c.certificate_kind, "
        "c.certificate_level, c.startup_course, c.planned_hours, c.start_date, c.end_date, c.training_mode, "
        "i.status AS institution_status, i.approved_years, "
        "EXISTS (SELECT 1 FROM priority_list_entry AS p WHERE p.occupation_id = c.occupation_id "
        f"AND p.priority_list_id = {IN_FORCE.format(p='c.start_date')}) AS on_priority_list "
        "FROM cohort AS c JOIN institution AS i ON i.id = c.institution_id WHERE c.id = $1 FOR UPDATE OF c",
        [cohort_id],
    )
    return rows[0] if rows else None


async def certificates_issued_to(conn: BaseDBAsyncClient, cohort_id: uuid.UUID, issuer_id: uuid.UUID) -> int:
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM certificate WHERE cohort_id = $1 AND issuer_id = $2",
        [cohort_id, issuer_id],
    )
    return int(rows[0]["n"])


async def open_claim_of(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, kind: str, claimant_id: uuid.UUID
) -> uuid.UUID | None:
    """The claimant's open claim of this kind for the cohort (one per cohort, kind and
    claimant: a second assessment body of a cohort files its own)."""
    rows = await conn.execute_query_dict(
        "SELECT id FROM subsidy_claim WHERE cohort_id = $1 AND kind = $2 AND institution_id = $3 "
        "AND status NOT IN ('withdrawn', 'failed')",
        [cohort_id, kind, claimant_id],
    )
    return rows[0]["id"] if rows else None


async def claim_outbox_id(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> uuid.UUID | None:
    """The compute job of a claim (no lock)."""
    rows = await conn.execute_query_dict("SELECT outbox_id FROM subsidy_claim WHERE id = $1", [claim_id])
    return rows[0]["outbox_id"] if rows else None


async def lock_claim(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict("SELECT * FROM subsidy_claim WHERE id = $1 FOR UPDATE", [claim_id])
    return rows[0] if rows else None


_PEOPLE = """
SELECT e.id AS enrolment_id, e.trainee_id, t.id_index AS person_key, t.id_cipher, t.birth_date,
       e.attended_hours, e.outcome, e.groups, e.household_division_id,
       cert.id AS certificate_id, cert.kind AS certificate_kind, cert.level AS certificate_level,
       cert.occupation_id AS certificate_occupation, cert.issue_date, cert.status AS certificate_status,
       cert.is_renewal, cert.direct_recognition,
       ph.people AS phone_people, ph.institutions AS phone_institutions,
       ARRAY(
           SELECT ARRAY[c2.start_date, c2.end_date]
           FROM enrolment AS e2 JOIN cohort AS c2 ON c2.id = e2.cohort_id
           WHERE e2.trainee_id = e.trainee_id AND e2.cohort_id <> e.cohort_id
             AND c2.institution_id <> c.institution_id AND c2.status <> 'cancelled'
             AND e2.outcome <> 'withdrawn' AND c2.start_date <= c.end_date AND c2.end_date >= c.start_date
           ORDER BY c2.start_date, c2.end_date
       ) AS overlaps
FROM enrolment AS e
JOIN trainee AS t ON t.id = e.trainee_id
JOIN cohort AS c ON c.id = e.cohort_id
{join} JOIN LATERAL (
    SELECT x.* FROM certificate AS x
    WHERE x.trainee_id = e.trainee_id
      AND {which}
    ORDER BY (x.cohort_id IS NOT DISTINCT FROM c.id) DESC, (x.status = 'valid') DESC, x.issue_date DESC, x.id
    LIMIT 1
) AS cert ON true
LEFT JOIN LATERAL (
    SELECT count(DISTINCT p.trainee_id) AS people, count(DISTINCT pc.institution_id) AS institutions
    FROM enrolment AS p JOIN cohort AS pc ON pc.id = p.cohort_id
    WHERE p.phone_index = e.phone_index
) AS ph ON true
WHERE e.cohort_id = $1
ORDER BY e.id
"""

_TRAINING_CERTIFICATE = (
    "(x.cohort_id = c.id OR (x.cohort_id IS NULL AND x.kind = c.certificate_kind "
    "AND x.occupation_id IS NOT DISTINCT FROM c.occupation_id AND x.issue_date >= c.start_date))"
)
"""A training line's certificate: one issued for the cohort, else one of the cohort's
occupation and kind issued since it started (an assessment body that did not name it)."""

_ASSESSED_CERTIFICATE = "x.cohort_id = c.id AND x.issuer_id = $2"
"""An assessment line's certificate: one the claimant issued for the cohort."""


async def claim_people(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, kind: str, issuer_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The people of a claim, one row per enrolment with the certificate its line is judged
    on: every enrolment for a training claim (a line without a certificate is still shown,
    blocked), the enrolments holding a certificate the claimant issued for an assessment one.

    In the same query, the database checks' facts of each (as :func:`overlaps_of` and
    :func:`shared_phones_of` give them, without two more round trips): ``overlaps``, the
    ``[start, end]`` of every overlapping enrolment at another institution, by date;
    ``phone_people`` and ``phone_institutions``, how many people at how many institutions
    were enrolled with the same phone (0 and 0 without a phone)."""
    if kind == "training":
        sql = _PEOPLE.format(join="LEFT", which=_TRAINING_CERTIFICATE)
        return await conn.execute_query_dict(sql, [cohort_id])
    sql = _PEOPLE.format(join="", which=_ASSESSED_CERTIFICATE)
    return await conn.execute_query_dict(sql, [cohort_id, issuer_id])


async def overlaps_of(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID
) -> dict[uuid.UUID, list[tuple[Any, Any]]]:
    """OVERLAP, set-based: per enrolment of the cohort, the periods of the other cohorts,
    at other institutions and not cancelled, the same person was enrolled in (and did not
    withdraw from) at the same time."""
    rows = await conn.execute_query_dict(
        "SELECT e.id AS enrolment_id, c2.start_date, c2.end_date "
        "FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id "
        "JOIN enrolment AS e2 ON e2.trainee_id = e.trainee_id AND e2.cohort_id <> e.cohort_id "
        "JOIN cohort AS c2 ON c2.id = e2.cohort_id "
        "WHERE e.cohort_id = $1 AND c2.institution_id <> c.institution_id AND c2.status <> 'cancelled' "
        "AND e2.outcome <> 'withdrawn' AND c2.start_date <= c.end_date AND c2.end_date >= c.start_date "
        "ORDER BY e.id, c2.start_date, c2.end_date",
        [cohort_id],
    )
    out: dict[uuid.UUID, list[tuple[Any, Any]]] = {}
    for row in rows:
        out.setdefault(row["enrolment_id"], []).append((row["start_date"], row["end_date"]))
    return out


async def shared_phones_of(conn: BaseDBAsyncClient, cohort_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, int]]:
    """SHARED_PHONE, set-based, on the phone given at enrolment (``enrolment.phone_index``):
    per enrolment of the cohort, how many people, at how many institutions, were enrolled
    anywhere with the same phone number (enrolments without a phone are left out)."""
    rows = await conn.execute_query_dict(
        "WITH phones AS (SELECT DISTINCT phone_index FROM enrolment WHERE cohort_id = $1 AND phone_index IS NOT NULL), "
        "counted AS (SELECT e.phone_index, count(DISTINCT e.trainee_id) AS people, "
        "count(DISTINCT c.institution_id) AS institutions "
        "FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id "
        "WHERE e.phone_index IN (SELECT phone_index FROM phones) GROUP BY e.phone_index) "
        "SELECT e.id AS enrolment_id, counted.people, counted.institutions "
        "FROM enrolment AS e JOIN counted ON counted.phone_index = e.phone_index WHERE e.cohort_id = $1",
        [cohort_id],
    )
    return {row["enrolment_id"]: (int(row["people"]), int(row["institutions"])) for row in rows}


LINE_COLUMNS = (
    "id",
    "claim_id",
    "kind",
    "enrolment_id",
    "trainee_id",
    "certificate_id",
    "seq",
    "cohort_kind",
    "occupation_code",
    "level",
    "certificate_kind",
    "startup_course",
    "year",
    "base_fen",
    "uplift_fen",
    "total_fen",
    "outcome",
    "flags",
    "trace",
    "policy_code",
    "reason",
)

LINE_COPY_THRESHOLD = 16
"""Fewer lines go in one multi-row INSERT; more go by COPY (a 37-line claim: 3.5 ms by COPY,
4.0 ms by the INSERT from arrays, measured with ``registry bench claims``' data)."""


async def insert_lines(conn: BaseDBAsyncClient, records: list[tuple[Any, ...]]) -> None:
    """Write a claim's lines (tuples in :data:`LINE_COLUMNS` order; flags and trace as JSON
    text) in the caller's transaction: COPY for a big claim, one INSERT from arrays else."""
    if not records:
        return
    async with conn.acquire_connection() as raw:
        if len(records) >= LINE_COPY_THRESHOLD:
            await raw.copy_records_to_table("subsidy_line", records=records, columns=list(LINE_COLUMNS))
            return
        types = (
            "uuid", "uuid", "text", "uuid", "uuid", "uuid", "int", "text", "text", "smallint", "text", "text",
            "smallint", "bigint", "bigint", "bigint", "text", "json", "json", "text", "text",
        )  # fmt: skip
        columns = list(zip(*records, strict=True))
        names = [f"c{n}" for n in range(1, len(types) + 1)]
        picked = ", ".join(
            f"{name}::json" if t == "json" else name for name, t in zip(names, types, strict=True)
        )
        arrays = ", ".join(f"${n}::{'text' if t == 'json' else t}[]" for n, t in enumerate(types, start=1))
        await raw.execute(
            f"INSERT INTO subsidy_line ({', '.join(LINE_COLUMNS)}) "
            f"SELECT {picked} FROM unnest({arrays}) AS u({', '.join(names)})",
            *columns,
        )


async def store_computed(
    conn: BaseDBAsyncClient, claim_id: uuid.UUID, totals: dict[str, int], snapshot_json: str
) -> None:
    await conn.execute_query(
        "UPDATE subsidy_claim SET status = 'computed', computed_at = now(), updated_at = now(), "
        "snapshot = $2::json, line_count = $3, clean_lines = $4, review_lines = $5, blocked_lines = $6, "
        "total_fen = $7, clean_fen = $8, review_fen = $9, blocked_fen = $10 WHERE id = $1",
        [
            claim_id,
            snapshot_json,
            totals["line_count"],
            totals["clean_lines"],
            totals["review_lines"],
            totals["blocked_lines"],
            totals["total_fen"],
            totals["clean_fen"],
            totals["review_fen"],
            totals["blocked_fen"],
        ],
    )


async def store_status(conn: BaseDBAsyncClient, claim_id: uuid.UUID, status: str, **columns: Any) -> None:
    """Set a claim's status (and the named columns among error, withdrawn_at/by/reason)."""
    allowed = {"error", "withdrawn_at", "withdrawn_by", "withdraw_reason"}
    unknown = set(columns) - allowed
    if unknown:
        raise ValueError(f"not a status column: {sorted(unknown)}")
    names = sorted(columns)
    sets = "".join(f", {name} = ${n}" for n, name in enumerate(names, start=3))
    await conn.execute_query(
        f"UPDATE subsidy_claim SET status = $2, updated_at = now(){sets} WHERE id = $1",
        [claim_id, status, *(columns[name] for name in names)],
    )


CLAIM_SORTS = {
    "filed": "s.filed_at DESC",
    "amount": "s.total_fen DESC",
    "waiting": "s.updated_at ASC",
}
"""How a list of claims is sorted: newest filed, largest total, longest in its status."""
CLAIM_COLUMNS = (
    "s.updated_at, c.start_date AS cohort_start, c.end_date AS cohort_end, c.planned_hours, "
    "(SELECT d.name FROM division AS d WHERE d.code = s.division_id) AS division_name, "
    "s.id, s.cohort_id, s.kind, s.institution_id, s.division_id, s.status, s.policy_code, s.line_count, "
    "s.clean_lines, s.review_lines, s.blocked_lines, s.total_fen, s.clean_fen, s.review_fen, s.blocked_fen, "
    "s.error, s.filed_by, s.filed_at, s.computed_at, s.withdrawn_at, s.withdrawn_by, s.withdraw_reason, "
    "c.reference AS cohort_reference, c.name AS cohort_name, i.name AS institution_name, "
    "coalesce(money.granted_fen, 0) AS granted_fen, coalesce(money.reversed_fen, 0) AS reversed_fen, "
    "coalesce(paid.paid_fen, 0) AS paid_fen"
)
_MONEY = (
    " LEFT JOIN LATERAL (SELECT sum(g.amount_fen) FILTER (WHERE g.reverses_id IS NULL) AS granted_fen, "
    "-sum(g.amount_fen) FILTER (WHERE g.reverses_id IS NOT NULL) AS reversed_fen "
    "FROM subsidy_grant AS g WHERE g.claim_id = s.id) AS money ON true "
    "LEFT JOIN LATERAL (SELECT sum(p.amount_fen) AS paid_fen FROM subsidy_payment AS p WHERE p.claim_id = s.id) "
    "AS paid ON true"
)
"""What the ledger holds of a claim: granted, clawed back (a positive figure), paid."""
_CLAIM_FROM = (
    "FROM subsidy_claim AS s JOIN cohort AS c ON c.id = s.cohort_id JOIN institution AS i ON i.id = s.institution_id"
    + _MONEY
)


async def claim_page(
    scope: tuple[str, list[Any]],
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    kind: str | None = None,
    cohort_id: uuid.UUID | None = None,
    division: str | None = None,
    institution_id: uuid.UUID | None = None,
    flag: str | None = None,
    year: int | None = None,
    min_fen: int | None = None,
    max_fen: int | None = None,
    sort: str = "filed",
) -> Page[dict[str, Any]]:
    """A page of claims in ``scope``, filtered (status, kind, cohort, county, institution, a
    flag on any line, the cohort's end year, the total's range) and sorted (:data:`CLAIM_SORTS`)."""
    clause, params = scope
    where = [clause.format(p=f"${len(params)}") if params else clause]
    values: list[Any] = list(params)
    for column, value in (
        ("s.status = {}", status),
        ("s.kind = {}", kind),
        ("s.cohort_id = {}", cohort_id),
        ("s.division_id = {}", division),
        ("s.institution_id = {}", institution_id),
        ("s.total_fen >= {}", min_fen),
        ("s.total_fen <= {}", max_fen),
        (
            "EXISTS (SELECT 1 FROM subsidy_line AS fl WHERE fl.claim_id = s.id "
            "AND fl.flags::jsonb @> jsonb_build_array(jsonb_build_object('code', {}::text)))",
            flag,
        ),
        (
            "EXISTS (SELECT 1 FROM cohort AS yc WHERE yc.id = s.cohort_id "
            "AND extract(year FROM yc.end_date) = {})",
            year,
        ),
    ):
        if value is not None:
            values.append(value)
            where.append(column.format(f"${len(values)}"))
    condition = " AND ".join(where)
    return await page_of_sql(
        f"SELECT {CLAIM_COLUMNS}, count(*) OVER () AS total {_CLAIM_FROM} WHERE {condition} "
        f"ORDER BY {CLAIM_SORTS[sort]}, s.id",
        f"SELECT count(*) AS total FROM subsidy_claim AS s WHERE {condition}",
        values,
        limit,
        offset,
    )


async def claim_row_on(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> dict[str, Any] | None:
    """One claim with its totals, on the caller's connection (no scope: the caller checked)."""
    rows = await conn.execute_query_dict(f"SELECT {CLAIM_COLUMNS} {_CLAIM_FROM} WHERE s.id = $1", [claim_id])
    return dict(rows[0]) if rows else None


async def claim_row(scope: tuple[str, list[Any]], claim_id: uuid.UUID) -> dict[str, Any] | None:
    clause, params = scope
    condition = clause.format(p="$2") if params else clause
    rows = await connections.get("default").execute_query_dict(
        f"SELECT {CLAIM_COLUMNS} {_CLAIM_FROM} WHERE s.id = $1 AND {condition}", [claim_id, *params]
    )
    return rows[0] if rows else None


async def claim_lines(
    claim_id: uuid.UUID, *, traces: bool | Collection[uuid.UUID] = True
) -> list[dict[str, Any]]:
    """A claim's lines in judging order, with the person's masked ID number and the name
    as given at enrolment; with every line's trace, none (``trace`` NULL), or these lines'."""
    args: list[Any] = [claim_id]
    if traces is True:
        trace = "l.trace"
    elif traces is False:
        trace = "NULL::json AS trace"
    else:
        trace = "CASE WHEN l.id = ANY($2::uuid[]) THEN l.trace END AS trace"
        args.append(list(traces))
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        "SELECT l.id, l.kind, l.enrolment_id, l.trainee_id, l.certificate_id, l.seq, l.cohort_kind, "
        "l.occupation_code, l.level, l.certificate_kind, l.startup_course, l.year, l.base_fen, l.uplift_fen, "
        f"l.total_fen, l.outcome, l.flags, {trace}, l.policy_code, l.decision, l.decided_by, l.decided_at, l.reason, "
        "l.notice_id, l.grant_id, "
        "t.id_masked, coalesce(e.name_as_given, t.name) AS name, o.name AS occupation_name, "
        "EXISTS (SELECT 1 FROM subsidy_payment AS p WHERE p.grant_id = l.grant_id) AS paid, "
        "EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = l.grant_id) AS clawed_back "
        "FROM subsidy_line AS l JOIN trainee AS t ON t.id = l.trainee_id JOIN enrolment AS e ON e.id = l.enrolment_id "
        "LEFT JOIN occupation AS o ON o.code = l.occupation_code WHERE l.claim_id = $1 ORDER BY l.seq",
        args,
    )
    return rows


async def line_traces(claim_id: uuid.UUID, line_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """These lines' traces (JSON as stored), for a page that shows a few of a claim's lines."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT id, trace FROM subsidy_line WHERE claim_id = $1 AND id = ANY($2::uuid[])",
        [claim_id, list(line_ids)],
    )
    return {row["id"]: row["trace"] for row in rows}


# ---------------------------------------------------------------------------
# The audit: decisions
# ---------------------------------------------------------------------------


async def line_outcomes(
    conn: BaseDBAsyncClient, claim_id: uuid.UUID
) -> dict[uuid.UUID, tuple[str, str | None, bool]]:
    """Each line of a claim: (outcome, decision, settled: granted or on a running notice,
    so no longer decided)."""
    rows = await conn.execute_query_dict(
        "SELECT l.id, l.outcome, l.decision, (l.grant_id IS NOT NULL OR n.status = 'running') AS settled "
        "FROM subsidy_line AS l LEFT JOIN claim_notice AS n ON n.id = l.notice_id WHERE l.claim_id = $1",
        [claim_id],
    )
    return {row["id"]: (row["outcome"], row["decision"], bool(row["settled"])) for row in rows}


async def line_tally(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> LineTally:
    """What a claim's status follows from (:class:`registry.subsidy.rules.LineTally`)."""
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS lines, "
        "count(*) FILTER (WHERE l.decision IS NULL AND l.grant_id IS NULL) AS undecided, "
        "count(*) FILTER (WHERE l.decision IS NOT NULL OR l.grant_id IS NOT NULL) "
        "+ (SELECT count(*) FROM claim_notice AS cn WHERE cn.claim_id = $1) AS touched, "
        "count(*) FILTER (WHERE l.decision = 'approved' AND l.grant_id IS NULL "
        "AND n.status IS DISTINCT FROM 'running') AS waiting, "
        "(SELECT count(*) FROM claim_notice AS rn WHERE rn.claim_id = $1 AND rn.status = 'running') "
        "AS on_notice, "
        "(SELECT count(*) FROM subsidy_grant AS g WHERE g.claim_id = $1 AND g.reverses_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = g.id) "
        "AND NOT EXISTS (SELECT 1 FROM subsidy_payment AS p WHERE p.grant_id = g.id)) AS unpaid, "
        "(SELECT count(*) FROM subsidy_payment AS p WHERE p.claim_id = $1) AS paid "
        "FROM subsidy_line AS l LEFT JOIN claim_notice AS n ON n.id = l.notice_id WHERE l.claim_id = $1",
        [claim_id],
    )
    return LineTally(**{name: int(value) for name, value in rows[0].items()})


async def store_decisions(
    conn: BaseDBAsyncClient, claim_id: uuid.UUID, requests: Any, actor: str, at: dt.datetime
) -> None:
    """Write a batch of decisions set-based (one UPDATE from arrays)."""
    await conn.execute_query(
        "UPDATE subsidy_line AS l SET decision = d.decision, reason = d.reason, decided_by = $2, decided_at = $3 "
        "FROM unnest($4::uuid[], $5::text[], $6::text[]) AS d(id, decision, reason) "
        "WHERE l.id = d.id AND l.claim_id = $1",
        [
            claim_id,
            actor,
            at,
            [r.line_id for r in requests],
            [r.decision.value for r in requests],
            [visible_text(r.reason) for r in requests],
        ],
    )


async def undecided_lines(conn: BaseDBAsyncClient, claim_id: uuid.UUID) -> int:
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM subsidy_line WHERE claim_id = $1 AND decision IS NULL", [claim_id]
    )
    return int(rows[0]["n"])


# What-if simulations of draft policies (registry.subsidy.simulations)
#
# Appended as a block of its own: nothing above depends on it.
# ---------------------------------------------------------------------------

SIMULATED_STATUSES_EXCLUDED = ("submitted", "withdrawn", "failed")
"""Claims a simulation leaves out: not computed (yet), withdrawn, or not computable."""

SIMULATION_COLUMNS = (
    "id, year, division_id, draft, draft_code, status, result, error, requested_by, requested_at, "
    "done_at, outbox_id"
)


async def lock_simulation(conn: BaseDBAsyncClient, simulation_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await conn.execute_query_dict(
        f"SELECT {SIMULATION_COLUMNS} FROM policy_simulation WHERE id = $1 FOR UPDATE", [simulation_id]
    )
    return rows[0] if rows else None


async def simulation_row(
    simulation_id: uuid.UUID, conn: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    rows = await _conn(conn).execute_query_dict(
        f"SELECT {SIMULATION_COLUMNS} FROM policy_simulation WHERE id = $1", [simulation_id]
    )
    return rows[0] if rows else None


async def simulated_claims(
    conn: BaseDBAsyncClient,
    year: int,
    division_code: str | None,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page (keyset, by id) of the computed claims with a line of ``year``, with their
    snapshots: every claim not submitted, withdrawn or failed, of ``division_code`` (None:
    the whole city)."""
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        "SELECT s.id, s.division_id, s.snapshot FROM subsidy_claim AS s "
        "WHERE s.status <> ALL($1::text[]) AND s.snapshot IS NOT NULL "
        "AND ($2::text IS NULL OR s.division_id = $2::text) "
        "AND ($3::uuid IS NULL OR s.id > $3::uuid) "
        "AND EXISTS (SELECT 1 FROM subsidy_line AS l WHERE l.claim_id = s.id AND l.year = $4) "
        "ORDER BY s.id LIMIT $5",
        [list(SIMULATED_STATUSES_EXCLUDED), division_code, after, year, limit],
    )
    return rows


async def simulated_lines(
    conn: BaseDBAsyncClient, claim_ids: list[uuid.UUID], year: int
) -> list[dict[str, Any]]:
    """The stored lines of ``year`` of the given claims (what the draft is compared with)."""
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        "SELECT claim_id, enrolment_id, kind, year, total_fen, outcome, policy_code, cohort_kind, "
        "occupation_code FROM subsidy_line WHERE claim_id = ANY($1::uuid[]) AND year = $2 "
        "ORDER BY claim_id, seq",
        [claim_ids, year],
    )
    return rows


async def major_group_names(conn: BaseDBAsyncClient | None = None) -> dict[str, str]:
    """The classification's major groups (大类) in the reference data, by their digit."""
    rows = await _conn(conn).execute_query_dict("SELECT code, name FROM occupation WHERE level = 1")
    return {str(row["code"]).split("-", 1)[0]: str(row["name"]) for row in rows}


async def division_names(conn: BaseDBAsyncClient | None = None) -> dict[str, str]:
    rows = await _conn(conn).execute_query_dict("SELECT code, name FROM division")
    return {str(row["code"]): str(row["name"]) for row in rows}


async def store_simulation(
    conn: BaseDBAsyncClient,
    simulation_id: uuid.UUID,
    status: str,
    *,
    result_json: str | None = None,
    error: str = "",
) -> None:
    await conn.execute_query(
        "UPDATE policy_simulation SET status = $2, result = $3::jsonb, error = $4, done_at = now() "
        "WHERE id = $1",
        [simulation_id, status, result_json, error],
    )


# ---------------------------------------------------------------------------
# The dashboard's view of the claims: what waits at each audit step, and risk
# ---------------------------------------------------------------------------


async def claims_by_status(scope: tuple[str, list[Any]], year: int | None = None) -> list[dict[str, Any]]:
    """Per status: claims, lines, total_fen and the payable part (clean + review lines)."""
    clause, params = scope
    condition = clause.format(p="$1") if params else clause
    values = list(params)
    if year is not None:
        values.append(year)
        condition += f" AND extract(year FROM s.filed_at AT TIME ZONE 'Asia/Shanghai') = ${len(values)}"
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        "SELECT s.status, count(*) AS claims, coalesce(sum(s.line_count), 0) AS lines, "
        "coalesce(sum(s.total_fen), 0) AS total_fen, coalesce(sum(s.clean_fen + s.review_fen), 0) AS payable_fen "
        f"FROM subsidy_claim AS s WHERE {condition} GROUP BY s.status",
        values,
    )
    return rows


async def institution_risk(
    scope: tuple[str, list[Any]], codes: Sequence[str], limit: int = 20
) -> list[dict[str, Any]]:
    """Institutions by flags of ``codes`` per hundred trainees on their claims' lines (claims
    not withdrawn or failed): trainees, those flags by code, and their claims (newest first)."""
    clause, params = scope
    condition = clause.format(p="$1") if params else clause
    n = len(params) + 1
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        "WITH lines AS (SELECT s.institution_id, s.id AS claim_id, s.filed_at, l.trainee_id, l.flags "
        "FROM subsidy_line AS l JOIN subsidy_claim AS s ON s.id = l.claim_id "
        f"WHERE s.status NOT IN ('withdrawn', 'failed') AND {condition}), "
        "people AS (SELECT institution_id, count(DISTINCT trainee_id) AS trainees FROM lines GROUP BY institution_id), "
        "flags AS (SELECT institution_id, f->>'code' AS code, count(*) AS n FROM lines, "
        f"json_array_elements(lines.flags) AS f WHERE f->>'code' = ANY(${n}::text[]) "
        "GROUP BY institution_id, f->>'code'), "
        "totals AS (SELECT institution_id, sum(n) AS flags, json_object_agg(code, n ORDER BY code) AS by_code "
        "FROM flags GROUP BY institution_id), "
        "claims AS (SELECT institution_id, (array_agg(claim_id ORDER BY filed_at DESC))[1:5] AS claim_ids "
        "FROM (SELECT DISTINCT institution_id, claim_id, filed_at FROM lines) AS c GROUP BY institution_id) "
        "SELECT p.institution_id, i.name, i.division_id, p.trainees, t.flags, t.by_code, c.claim_ids, "
        "round(t.flags * 100.0 / p.trainees, 1) AS per_hundred "
        "FROM people AS p JOIN totals AS t USING (institution_id) JOIN claims AS c USING (institution_id) "
        "JOIN institution AS i ON i.id = p.institution_id "
        f"ORDER BY per_hundred DESC, t.flags DESC, i.name LIMIT ${n + 1}",
        [*params, list(codes), limit],
    )
    for row in rows:
        if isinstance(row["by_code"], str):
            row["by_code"] = json.loads(row["by_code"])
    return rows
