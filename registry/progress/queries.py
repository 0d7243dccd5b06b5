"""Set-based SQL of the progress area: the rollup's INSERT ... SELECT statements (GROUPING
SETS per metric and dimension), the target rows, and the reads of the progress API.

Everything runs on the connection it is given (the rollup's one transaction). The rollup of
an as-of day (docs/progress.md, "The nightly rollup"):

1. :func:`delete_day` removes the day's rows of the year (an earlier run of the same day);
2. :func:`collect_facts` writes ``progress_facts``, a temporary table dropped at commit, with
   one row per counted fact of the year to date: a completed enrolment of a vocational or a
   startup cohort that ended by the as-of day, and a person's first valid level-3+
   skill-level certificate, if it was issued in the year (kind ``high_skill``, with its
   ``level``, which the quarterly report breaks the high-skill talents down by);
3. the ``INSERT ... SELECT`` statements aggregate it: by total, division, occupation,
   sector and institution, city-wide and within each division (one GROUPING SETS
   statement); by month (people in the month of their first fact of the year, so the
   months add up to the total); by priority group; every priority trade together; then the
   startup sessions from ``cohort`` and the money from the claims, the ledger and the
   payments; a zero total for every metric that counted nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.clock import BUSINESS_TZ
from registry.progress.rules import ANY_PRIORITY, METRICS, OTHER_SECTOR
from registry.reference.queries import IN_FORCE

ROLLUP_LOCK_KEY = 0x9E0_6E55
"""``pg_advisory_xact_lock`` key of the rollup: two runs never interleave; the second waits."""

_INSERT = "INSERT INTO progress_snapshot (as_of, year, metric, scope, dimension, key, value, computed_at)"


@dataclass(frozen=True)
class Period:
    """The year to date the rollup counts: ``start`` .. ``as_of`` (business dates), and the
    same as instants (``since`` inclusive, ``until`` exclusive) for timestamps."""

    year: int
    start: dt.date
    as_of: dt.date

    @classmethod
    def of(cls, as_of: dt.date) -> Period:
        return cls(year=as_of.year, start=dt.date(as_of.year, 1, 1), as_of=as_of)

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), BUSINESS_TZ)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time(), BUSINESS_TZ)


ROLLUP_WORK_MEM = "64MB"
"""Memory for the rollup's sorts and hashes (this transaction only): the default 4 MB spills
the year's GROUPING SETS sorts to disk."""


async def lock_rollup(conn: BaseDBAsyncClient) -> None:
    """Wait for any other rollup to commit (a transaction-level advisory lock), and give the
    transaction the memory its sorts need."""
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [ROLLUP_LOCK_KEY])
    await conn.execute_query(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'")


async def delete_day(conn: BaseDBAsyncClient, period: Period) -> int:
    rows = await conn.execute_query_dict(
        "WITH gone AS (DELETE FROM progress_snapshot WHERE as_of = $1 AND year = $2 RETURNING 1) "
        "SELECT count(*) AS n FROM gone",
        [period.as_of, period.year],
    )
    return int(rows[0]["n"])


_SECTOR_ON = "(SELECT p.sector FROM priority_list_entry AS p WHERE p.occupation_id = {occupation} AND p.priority_list_id = {list_id} LIMIT 1)"

_FACTS = f"""
CREATE TEMPORARY TABLE progress_facts ON COMMIT DROP AS
WITH cohorts AS MATERIALIZED (
    SELECT c.id, c.kind, c.division_id, c.institution_id, c.end_date, c.occupation_id, c.startup_course,
           CASE WHEN c.kind = 'vocational'
                THEN coalesce({_SECTOR_ON.format(occupation="c.occupation_id", list_id=IN_FORCE.format(p="c.start_date"))}, '{OTHER_SECTOR}')
           END AS sector
    FROM cohort AS c
    WHERE c.end_date BETWEEN $1 AND $2 AND c.status <> 'cancelled'
), firsts AS (
    SELECT c.trainee_id, c.issue_date, c.occupation_id, c.cohort_id, c.issuer_id, c.level
    FROM certificate AS c
    WHERE c.kind = 'skill_level' AND c.level <= 3 AND c.status = 'valid' AND c.issue_date BETWEEN $1 AND $2
      AND NOT EXISTS (
          SELECT 1 FROM certificate AS b
          WHERE b.trainee_id = c.trainee_id AND b.kind = 'skill_level' AND b.level <= 3
            AND b.status = 'valid' AND (b.issue_date, b.id) < (c.issue_date, c.id)
      )
)
SELECT e.trainee_id, c.kind::text AS kind, c.division_id::text AS division,
       coalesce(CASE WHEN c.kind = 'startup' THEN c.startup_course ELSE c.occupation_id END, '')::text AS occupation,
       c.sector::text AS sector, c.institution_id::text AS institution, c.end_date AS day,
       e.groups::jsonb AS groups, (e.groups::jsonb ? 'veteran') AS veteran, NULL::smallint AS level
FROM cohorts AS c
-- The year's cohorts' enrolments through the (cohort, trainee) index, not a scan of every
-- enrolment of every year (OFFSET 0 keeps the planner from flattening it into a hash join).
CROSS JOIN LATERAL (
    SELECT e.trainee_id, e.groups FROM enrolment AS e WHERE e.cohort_id = c.id AND e.outcome = 'completed'
    OFFSET 0
) AS e
UNION ALL
SELECT f.trainee_id, 'high_skill', coalesce(h.division_id, i.division_id)::text,
       coalesce(f.occupation_id, '')::text,
       coalesce({_SECTOR_ON.format(occupation="f.occupation_id", list_id=IN_FORCE.format(p="f.issue_date"))}, '{OTHER_SECTOR}')::text,
       coalesce(h.institution_id, f.issuer_id)::text, f.issue_date,
       g.groups, g.groups ? 'veteran', f.level::smallint
FROM firsts AS f
JOIN institution AS i ON i.id = f.issuer_id
LEFT JOIN cohort AS h ON h.id = f.cohort_id
LEFT JOIN enrolment AS e ON e.cohort_id = f.cohort_id AND e.trainee_id = f.trainee_id
-- The person's own groups only for a certificate without its cohort's enrolment (COALESCE
-- evaluates the subquery only then).
CROSS JOIN LATERAL (
    SELECT coalesce(e.groups::jsonb, (SELECT t.groups::jsonb FROM trainee AS t WHERE t.id = f.trainee_id)) AS groups
) AS g
"""

# Which metric each kind of fact gives, and how: people, person-times, veterans.
_METRICS_OF_KIND = """
CROSS JOIN LATERAL (
    SELECT v.metric, v.value FROM (VALUES
        ('vocational', 'trainees_trained', a.people),
        ('vocational', 'training_person_times', a.times),
        ('vocational', 'veterans_trained', a.veterans),
        ('startup', 'startup_trained', a.people),
        ('high_skill', 'high_skill_certified', a.people)
    ) AS v(kind, metric, value) WHERE v.kind = a.kind
) AS m
"""

# GROUPING(division, occupation, sector, institution): a bit set for each column NOT in the
# grouping set; each set gives its (scope, dimension, key). A division's own set gives two
# rows: the city's division row and the division's total.
_BY_DIMENSION = f"""
{_INSERT}
SELECT $1, $2, m.metric, d.scope, d.dimension, d.key, m.value, $3
FROM (
    SELECT kind, division, occupation, sector, institution,
           GROUPING(division, occupation, sector, institution) AS g,
           count(DISTINCT trainee_id) AS people, count(*) AS times,
           count(DISTINCT trainee_id) FILTER (WHERE veteran) AS veterans
    FROM progress_facts
    GROUP BY GROUPING SETS (
        (kind), (kind, division), (kind, occupation), (kind, sector), (kind, institution),
        (kind, division, occupation), (kind, division, sector), (kind, division, institution)
    )
) AS a
CROSS JOIN LATERAL (
    SELECT v.scope, v.dimension, v.key FROM (VALUES
        (15, '', 'total', ''),
        (7, '', 'division', a.division),
        (7, a.division, 'total', ''),
        (11, '', 'occupation', a.occupation),
        (13, '', 'sector', a.sector),
        (14, '', 'institution', a.institution),
        (3, a.division, 'occupation', a.occupation),
        (5, a.division, 'sector', a.sector),
        (6, a.division, 'institution', a.institution)
    ) AS v(g, scope, dimension, key) WHERE v.g = a.g
) AS d
{_METRICS_OF_KIND}
WHERE (m.value > 0 OR d.dimension = 'total') AND NOT (d.dimension = 'sector' AND a.kind = 'startup')
"""

# People in the month of their first fact of the year (in the city, and in each division),
# so that the months add up to the total; person-times in their own month.
_BY_MONTH = f"""
{_INSERT}
SELECT $1, $2, metric, scope, 'month', month, count(*), $3
FROM (
    SELECT CASE kind WHEN 'vocational' THEN 'trainees_trained' WHEN 'startup' THEN 'startup_trained'
                ELSE 'high_skill_certified' END AS metric,
           coalesce(division, '') AS scope, to_char(first_day, 'MM') AS month
    FROM per_person
    UNION ALL
    SELECT 'veterans_trained', coalesce(division, ''), to_char(first_veteran_day, 'MM')
    FROM per_person WHERE kind = 'vocational' AND first_veteran_day IS NOT NULL
    UNION ALL
    SELECT 'training_person_times', s.scope, to_char(f.day, 'MM')
    FROM progress_facts AS f CROSS JOIN LATERAL (VALUES (''), (f.division)) AS s(scope)
    WHERE f.kind = 'vocational'
) AS x
GROUP BY metric, scope, month
"""
_PER_PERSON = """
WITH per_person AS (
    SELECT kind, division, trainee_id, min(day) AS first_day, min(day) FILTER (WHERE veteran) AS first_veteran_day
    FROM progress_facts
    GROUP BY GROUPING SETS ((kind, trainee_id), (kind, division, trainee_id))
)
"""

_BY_GROUP = f"""
{_INSERT}
SELECT $1, $2, m.metric, coalesce(a.division, ''), 'group', a.grp, m.value, $3
FROM (
    SELECT f.kind, f.division, g.grp,
           count(DISTINCT f.trainee_id) AS people, count(*) AS times,
           count(DISTINCT f.trainee_id) FILTER (WHERE f.veteran) AS veterans
    FROM progress_facts AS f CROSS JOIN LATERAL jsonb_array_elements_text(f.groups) AS g(grp)
    GROUP BY GROUPING SETS ((f.kind, g.grp), (f.kind, f.division, g.grp))
) AS a
{_METRICS_OF_KIND}
WHERE m.value > 0
"""

_ANY_PRIORITY = f"""
{_INSERT}
SELECT $1, $2, m.metric, coalesce(a.division, ''), 'sector', '{ANY_PRIORITY}', m.value, $3
FROM (
    SELECT kind, division,
           count(DISTINCT trainee_id) AS people, count(*) AS times,
           count(DISTINCT trainee_id) FILTER (WHERE veteran) AS veterans
    FROM progress_facts
    WHERE kind <> 'startup' AND sector <> '{OTHER_SECTOR}'
    GROUP BY GROUPING SETS ((kind), (kind, division))
) AS a
{_METRICS_OF_KIND}
WHERE m.value > 0
"""

# GROUPING(division, occupation, institution, month) -> (scope, dimension, key), as above.
_SCOPED_SETS = """
CROSS JOIN LATERAL (
    SELECT v.scope, v.dimension, v.key FROM (VALUES
        (15, '', 'total', ''),
        (7, '', 'division', a.division),
        (7, a.division, 'total', ''),
        (11, '', 'occupation', a.occupation),
        (13, '', 'institution', a.institution),
        (14, '', 'month', a.month),
        (3, a.division, 'occupation', a.occupation),
        (5, a.division, 'institution', a.institution),
        (6, a.division, 'month', a.month)
    ) AS v(g, scope, dimension, key) WHERE v.g = a.g AND v.scope IS NOT NULL AND v.key IS NOT NULL
) AS d
"""
_SCOPED_GROUPING = """
GROUPING(division, occupation, institution, month) AS g
"""
_SCOPED_GROUP_BY = """
GROUPING SETS (
    ({p}), ({p}division), ({p}occupation), ({p}institution), ({p}month),
    ({p}division, occupation), ({p}division, institution), ({p}division, month)
)
"""

_SESSIONS = f"""
{_INSERT}
SELECT $1, $2, 'startup_sessions', d.scope, d.dimension, d.key, a.value, $3
FROM (
    SELECT division, occupation, institution, month, {_SCOPED_GROUPING}, count(*) AS value
    FROM (
        SELECT c.division_id::text AS division, coalesce(c.startup_course, '')::text AS occupation,
               c.institution_id::text AS institution, to_char(c.end_date, 'MM') AS month
        FROM cohort AS c
        WHERE c.kind = 'startup' AND c.status <> 'cancelled' AND c.end_date BETWEEN $4 AND $1
    ) AS s
    GROUP BY {_SCOPED_GROUP_BY.format(p="")}
) AS a
{_SCOPED_SETS}
"""

# Money: one row per amount of the year to date (fen), with its division (the claim's),
# institution (the claimant), occupation (or startup course) and business month.
_MONEY = f"""
{_INSERT}
SELECT $1, $2, a.metric, d.scope, d.dimension, d.key, a.value, $3
FROM (
    SELECT metric, division, occupation, institution, month, {_SCOPED_GROUPING}, sum(amount)::bigint AS value
    FROM (
        SELECT 'subsidy_claimed_fen' AS metric, c.division_id::text AS division,
               coalesce(l.occupation_code, l.startup_course, '')::text AS occupation,
               c.institution_id::text AS institution,
               to_char(c.filed_at AT TIME ZONE 'Asia/Shanghai', 'MM') AS month, l.total_fen AS amount
        FROM subsidy_claim AS c JOIN subsidy_line AS l ON l.claim_id = c.id
        WHERE c.status NOT IN ('withdrawn', 'failed') AND c.filed_at >= $4 AND c.filed_at < $5
        UNION ALL
        SELECT 'subsidy_approved_fen', c.division_id, coalesce(l.occupation_code, l.startup_course, ''),
               c.institution_id::text, to_char(l.decided_at AT TIME ZONE 'Asia/Shanghai', 'MM'), l.total_fen
        FROM subsidy_line AS l JOIN subsidy_claim AS c ON c.id = l.claim_id
        WHERE l.decision = 'approved' AND c.status NOT IN ('withdrawn', 'failed')
          AND l.decided_at >= $4 AND l.decided_at < $5
        UNION ALL
        SELECT CASE WHEN g.reverses_id IS NULL THEN 'subsidy_granted_fen' ELSE 'subsidy_reversed_fen' END,
               c.division_id, coalesce(g.occupation_id, g.startup_course, ''),
               c.institution_id::text, to_char(g.granted_at AT TIME ZONE 'Asia/Shanghai', 'MM'),
               abs(g.amount_fen)
        FROM subsidy_grant AS g LEFT JOIN subsidy_claim AS c ON c.id = g.claim_id
        WHERE g.granted_at >= $4 AND g.granted_at < $5
        UNION ALL
        SELECT 'subsidy_paid_fen', c.division_id, coalesce(g.occupation_id, g.startup_course, ''),
               c.institution_id::text, to_char(p.paid_on, 'MM'), p.amount_fen
        FROM subsidy_payment AS p JOIN subsidy_claim AS c ON c.id = p.claim_id
        JOIN subsidy_grant AS g ON g.id = p.grant_id
        WHERE p.paid_on BETWEEN $6 AND $1
    ) AS s
    GROUP BY metric, {_SCOPED_GROUP_BY.format(p="")}
) AS a
{_SCOPED_SETS}
"""

_ZERO_TOTALS = f"""
{_INSERT}
SELECT $1, $2, m, '', 'total', '', 0, $3 FROM unnest($4::text[]) AS m
WHERE NOT EXISTS (
    SELECT 1 FROM progress_snapshot AS s
    WHERE s.as_of = $1 AND s.year = $2 AND s.metric = m AND s.scope = '' AND s.dimension = 'total'
)
"""


async def collect_facts(conn: BaseDBAsyncClient, period: Period) -> None:
    """``progress_facts`` for the period (a temporary table dropped at commit)."""
    await conn.execute_script("DROP TABLE IF EXISTS pg_temp.progress_facts")
    await conn.execute_query(_FACTS, [period.start, period.as_of])
    await conn.execute_script("ANALYZE pg_temp.progress_facts")


async def insert_rollup(conn: BaseDBAsyncClient, period: Period, computed_at: dt.datetime) -> int:
    """Every metric's rows of the period (``progress_facts`` collected first); the number of
    rows written."""
    common: list[Any] = [period.as_of, period.year, computed_at]
    for sql, extra in (
        (_BY_DIMENSION, []),
        (_PER_PERSON + _BY_MONTH, []),
        (_BY_GROUP, []),
        (_ANY_PRIORITY, []),
        (_SESSIONS, [period.start]),
        (_MONEY, [period.since, period.until, period.start]),
        (_ZERO_TOTALS, [list(METRICS)]),
    ):
        await conn.execute_query(sql, [*common, *extra])
    rows = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM progress_snapshot WHERE as_of = $1 AND year = $2",
        [period.as_of, period.year],
    )
    return int(rows[0]["n"])


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------


async def latest_year_with_figures(
    conn: BaseDBAsyncClient, scope: str, metric: str, up_to: int
) -> int | None:
    """The latest year, not after ``up_to``, whose snapshots hold a non-zero total of
    ``metric`` in ``scope`` ('' = the city)."""
    rows = await conn.execute_query_dict(
        "SELECT max(year) AS year FROM progress_snapshot WHERE scope = $1 AND metric = $2 "
        "AND dimension = 'total' AND value > 0 AND year <= $3",
        [scope, metric, up_to],
    )
    return rows[0]["year"] if rows and rows[0]["year"] is not None else None


async def latest_as_of(
    conn: BaseDBAsyncClient, year: int, *, on_or_before: dt.date | None = None
) -> dt.date | None:
    """The last as-of day with a snapshot of the year (optionally on or before a day)."""
    rows = await conn.execute_query_dict(
        "SELECT max(as_of) AS as_of FROM progress_snapshot WHERE year = $1 AND ($2::date IS NULL OR as_of <= $2)",
        [year, on_or_before],
    )
    value = rows[0]["as_of"]
    return value if isinstance(value, dt.date) else None


async def has_day(conn: BaseDBAsyncClient, year: int, as_of: dt.date) -> bool:
    rows = await conn.execute_query_dict(
        "SELECT EXISTS (SELECT 1 FROM progress_snapshot WHERE year = $1 AND as_of = $2) AS found",
        [year, as_of],
    )
    return bool(rows[0]["found"])


async def values(
    conn: BaseDBAsyncClient, *, year: int, as_of: dt.date, scope: str, dimension: str, metrics: Sequence[str]
) -> dict[tuple[str, str], int]:
    """``(metric, key) -> value`` of one day, scope and dimension."""
    rows = await conn.execute_query_dict(
        "SELECT metric, key, value FROM progress_snapshot WHERE year = $1 AND as_of = $2 AND scope = $3 "
        "AND dimension = $4 AND metric = ANY($5::text[])",
        [year, as_of, scope, dimension, list(metrics)],
    )
    return {(str(r["metric"]), str(r["key"])): int(r["value"]) for r in rows}


async def trend(conn: BaseDBAsyncClient, *, year: int, metric: str, scope: str) -> list[tuple[dt.date, int]]:
    """The metric's total of every as-of day of the year, oldest first."""
    rows = await conn.execute_query_dict(
        "SELECT as_of, value FROM progress_snapshot WHERE year = $1 AND metric = $2 AND scope = $3 "
        "AND dimension = 'total' AND key = '' ORDER BY as_of",
        [year, metric, scope],
    )
    return [(r["as_of"], int(r["value"])) for r in rows]


async def year_totals(
    conn: BaseDBAsyncClient, *, years: Sequence[int], metrics: Sequence[str], scope: str
) -> dict[tuple[int, str], int]:
    """``(year, metric) -> total`` of each year's last snapshot (for cumulative targets)."""
    rows = await conn.execute_query_dict(
        "SELECT s.year, s.metric, s.value FROM progress_snapshot AS s "
        "JOIN (SELECT year, max(as_of) AS as_of FROM progress_snapshot WHERE year = ANY($1::int[]) GROUP BY year) "
        "AS last ON last.year = s.year AND last.as_of = s.as_of "
        "WHERE s.metric = ANY($2::text[]) AND s.scope = $3 AND s.dimension = 'total' AND s.key = ''",
        [list(years), list(metrics), scope],
    )
    return {(int(r["year"]), str(r["metric"])): int(r["value"]) for r in rows}


async def division_names(conn: BaseDBAsyncClient) -> dict[str, str]:
    rows = await conn.execute_query_dict("SELECT code, name FROM division")
    return {str(r["code"]): str(r["name"]) for r in rows}


async def division_lookup(conn: BaseDBAsyncClient) -> dict[str, str]:
    """What people write for a division (its code, name, or an alias) -> its code."""
    rows = await conn.execute_query_dict(
        "SELECT code AS written, code FROM division UNION ALL SELECT name, code FROM division "
        "UNION ALL SELECT alias, division_id FROM division_alias"
    )
    return {str(r["written"]): str(r["code"]) for r in rows}


async def key_labels(conn: BaseDBAsyncClient, dimension: str, keys: Sequence[str]) -> dict[str, str]:
    """People's names for a breakdown's keys (a division's, an occupation's, an institution's)."""
    if not keys:
        return {}
    sql = {
        "division": "SELECT code AS key, name FROM division WHERE code = ANY($1::text[])",
        "occupation": "SELECT code AS key, name FROM occupation WHERE code = ANY($1::text[])",
        "institution": "SELECT id::text AS key, name FROM institution WHERE id::text = ANY($1::text[])",
    }.get(dimension)
    if sql is None:
        return {}
    rows = await conn.execute_query_dict(sql, [list(keys)])
    return {str(r["key"]): str(r["name"]) for r in rows}


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------

TARGET_LOCK_KEY = 0x7A6_6E75
"""Serialises the writers of ``target`` (the catalogue load and ``registry load-targets``)."""

_UPSERT_TARGETS = """
WITH up AS (
    INSERT INTO target (year, metric, division_id, cumulative_from, value, source, origin, loaded_by)
    SELECT * FROM unnest($1::smallint[], $2::text[], $3::text[], $4::smallint[], $5::bigint[], $6::text[],
                         $7::text[], $8::text[])
    ON CONFLICT (year, metric, COALESCE(division_id, ''), COALESCE(cumulative_from, 0)) DO UPDATE SET
        value = EXCLUDED.value, source = EXCLUDED.source, origin = EXCLUDED.origin,
        loaded_by = EXCLUDED.loaded_by, loaded_at = now()
    WHERE (target.value, target.source, target.origin) IS DISTINCT FROM
          (EXCLUDED.value, EXCLUDED.source, EXCLUDED.origin)
      AND ($9 OR target.origin <> 'file')
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
"""


@dataclass(frozen=True)
class TargetValue:
    year: int
    metric: str
    division_code: str | None
    cumulative_from: int | None
    value: int
    source: str


async def lock_targets(conn: BaseDBAsyncClient) -> None:
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [TARGET_LOCK_KEY])


async def upsert_targets(
    conn: BaseDBAsyncClient, rows: Sequence[TargetValue], *, origin: str, actor: str, over_files: bool
) -> tuple[int, int]:
    """Insert or update the rows; ``over_files=False`` leaves a row loaded from a file as it
    is (the catalogue never overwrites the bureau's). (inserted, updated)."""
    if not rows:
        return 0, 0
    result = await conn.execute_query_dict(
        _UPSERT_TARGETS,
        [
            [r.year for r in rows],
            [r.metric for r in rows],
            [r.division_code for r in rows],
            [r.cumulative_from for r in rows],
            [r.value for r in rows],
            [r.source for r in rows],
            [origin] * len(rows),
            [actor] * len(rows),
            over_files,
        ],
    )
    return int(result[0]["inserted"]), int(result[0]["updated"])


async def file_targets(
    conn: BaseDBAsyncClient, years: Sequence[int]
) -> set[tuple[int, str | None, str, int]]:
    """The annual targets loaded from files for the years: (year, division, metric, value)."""
    rows = await conn.execute_query_dict(
        "SELECT year, division_id, metric, value FROM target WHERE origin = 'file' AND cumulative_from IS NULL "
        "AND year = ANY($1::int[])",
        [list(years)],
    )
    return {(int(r["year"]), r["division_id"], str(r["metric"]), int(r["value"])) for r in rows}


async def delete_file_targets(conn: BaseDBAsyncClient, years: Sequence[int]) -> int:
    count, _ = await conn.execute_query(
        "DELETE FROM target WHERE origin = 'file' AND cumulative_from IS NULL AND year = ANY($1::int[])",
        [list(years)],
    )
    return int(count)


async def targets_of(conn: BaseDBAsyncClient, *, year: int, division: str | None) -> list[dict[str, Any]]:
    """The year's targets (annual, and the cumulative ones ending that year or later and
    begun by it) of the city, or of the city and one division."""
    return await conn.execute_query_dict(
        "SELECT t.year, t.metric, t.division_id, d.name AS division_name, t.cumulative_from, t.value, t.source, "
        "t.origin, t.loaded_at FROM target AS t LEFT JOIN division AS d ON d.code = t.division_id "
        "WHERE (t.year = $1 OR (t.cumulative_from IS NOT NULL AND t.cumulative_from <= $1 AND t.year >= $1)) "
        "AND ($2::text IS NULL OR t.division_id IS NULL OR t.division_id = $2) "
        "ORDER BY t.division_id NULLS FIRST, t.cumulative_from NULLS FIRST, t.metric",
        [year, division],
    )
