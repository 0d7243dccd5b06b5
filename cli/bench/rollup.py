"""``registry bench rollup``: the nightly rollup over 1.5 million enrolments (DESIGN.md section 10).

1. Reference data as ``registry load-reference`` loads it (divisions, occupations, the
   reference priority list), then ten years of a city's training generated in SQL (a
   benchmark, not the services), ``--enrolments`` enrolments in all (default 1.5 million,
   ten city years of ~150,000): 200 institutions and 5 assessment bodies, cohorts of 38
   (one in 15 a startup course, one in 97 cancelled) over 20 occupations (some on the
   priority list), ending through each year with the autumn heavier than February; about
   0.8 enrolments a person (people come back in later years), 90% completed, priority
   groups on the enrolments (veterans among them); a skill-level certificate for one
   completed enrolment in three (levels 5 to 2, so some people's first level-3+ certificate
   is in an earlier year); and for the last year's vocational cohorts a claim each with a
   line per completed enrolment, most of them approved. Then ``VACUUM ANALYZE``.
2. Timed, in the same run: the rollup use case itself (:func:`registry.progress.service.rollup`,
   one transaction under its lock, as the nightly task runs it) of the last year as of its
   December 31, median of ``--repeat`` runs after a first run (which also writes the year
   before's final day, as the first night of a year does; reported too); and the baseline,
   one raw ``GROUP BY`` over the same table: distinct people with a completed enrolment by
   division, over every enrolment (median of the same number of runs). Also reported: the
   same ``GROUP BY`` over the rolled-up year's enrolments only.
3. Budget: the rollup <= 5 s and <= 3x the baseline.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections.abc import Callable

from cli.bench import Figure
from cli.bench.roster import Scratch, _close_tortoise, scratch_trail

ROLLUP_BUDGET_S = 5.0
ROLLUP_BUDGET_RATIO = 3.0
COHORT_SIZE = 38
YEARS = 10

_OCCUPATIONS = """
SELECT array_agg(code ORDER BY code) AS codes FROM (
    (SELECT o.code FROM occupation AS o JOIN priority_list_entry AS p ON p.occupation_id = o.code
     WHERE o.level = 4 ORDER BY o.code LIMIT 8)
    UNION
    (SELECT o.code FROM occupation AS o WHERE o.level = 4 AND NOT EXISTS
        (SELECT 1 FROM priority_list_entry AS p WHERE p.occupation_id = o.code) ORDER BY o.code LIMIT 12)
) AS picked
"""

# $1 first year, $2 cohorts, $3 people, $4 enrolments, $5 occupations, $6 divisions
_GENERATE = [
    """
    INSERT INTO institution (id, uscc, name, division_id, kinds, approved_years, status, created_at, updated_at)
    SELECT gen_random_uuid(), 'B' || lpad(g::text, 17, '0'), '基准培训学校' || g, ($6::text[])[1 + g % cardinality($6::text[])],
           CASE WHEN g <= 5 THEN '["assessment"]'::jsonb ELSE '["training"]'::jsonb END,
           '[2016,2017,2018,2019,2020,2021,2022,2023,2024,2025,2026]'::jsonb, 'active', now(), now()
    FROM generate_series(1, 205) AS g
    """,
    """
    CREATE TEMPORARY TABLE bench_institutions AS
    SELECT row_number() OVER (ORDER BY uscc) - 1 AS n, id, kinds ? 'assessment' AS assessment FROM institution
    WHERE uscc LIKE 'B%'
    """,
    """
    INSERT INTO trainee (id, id_index, id_cipher, id_masked, name, sex, birth_date, groups, created_at, updated_at)
    SELECT gen_random_uuid(), md5(g::text) || md5((g + 1)::text), '\\x00'::bytea, '410305********0000', '基准',
           CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END, DATE '1970-01-01' + (g % 12000)::int,
           CASE WHEN g % 40 = 0 THEN '["veteran"]' WHEN g % 9 = 0 THEN '["graduate"]'
                WHEN g % 7 = 0 THEN '["migrant_worker", "rural_labour"]' ELSE '[]' END::jsonb, now(), now()
    FROM generate_series(0, $3 - 1) AS g
    """,
    """
    CREATE TEMPORARY TABLE bench_people AS
    SELECT row_number() OVER (ORDER BY id_index) - 1 AS n, id, groups FROM trainee
    """,
    "CREATE INDEX ON bench_people (n)",
    # Cohorts through the years: a cohort's end day in its year follows a shape with little
    # in February and much in autumn (the day of the year, bent by a cubic).
    """
    INSERT INTO cohort (id, institution_id, reference, name, kind, occupation_id, certificate_kind,
                        certificate_level, startup_course, training_mode, delivery, division_id,
                        planned_hours, start_date, end_date, capacity, status, created_at, updated_at)
    SELECT gen_random_uuid(), i.id, 'BENCH-' || g, '基准班' || g,
           CASE WHEN g % 15 = 0 THEN 'startup' ELSE 'vocational' END,
           CASE WHEN g % 15 = 0 THEN NULL ELSE ($5::text[])[1 + g % cardinality($5::text[])] END,
           CASE WHEN g % 15 = 0 THEN NULL ELSE 'skill_level' END,
           CASE WHEN g % 15 = 0 THEN NULL ELSE 5 END,
           CASE WHEN g % 15 = 0 THEN (ARRAY['GYB','SYB','IYB','EYB'])[1 + g % 4] END,
           'general', 'in_person', ($6::text[])[1 + (g / 7) % cardinality($6::text[])], 80,
           d.end_date - 30, d.end_date, 60,
           CASE WHEN g % 97 = 0 THEN 'cancelled' ELSE 'closed' END, now(), now()
    FROM generate_series(0, $2 - 1) AS g
    JOIN bench_institutions AS i ON i.n = 5 + g % 200
    CROSS JOIN LATERAL (
        SELECT make_date($1 + (g * $7 / $2)::int, 1, 1)
               + least(364, (364 * (0.35 * x + 0.65 * x * x * x))::int) AS end_date
        FROM (SELECT ((g * 7919) % 1000) / 1000.0 AS x) AS u
    ) AS d
    """,
    """
    CREATE TEMPORARY TABLE bench_cohorts AS
    SELECT row_number() OVER (ORDER BY reference_n) - 1 AS n, id, kind, end_date, occupation_id
    FROM (SELECT id, kind, end_date, occupation_id, substr(reference, 7)::int AS reference_n FROM cohort
          WHERE reference LIKE 'BENCH-%') AS c
    """,
    "CREATE INDEX ON bench_cohorts (n)",
    """
    INSERT INTO enrolment (id, cohort_id, trainee_id, attended_hours, outcome, groups, review_flags,
                           created_at, updated_at)
    SELECT gen_random_uuid(), c.id, p.id, 80,
           CASE WHEN g % 20 = 3 THEN 'withdrawn' WHEN g % 20 = 7 THEN 'failed' ELSE 'completed' END,
           p.groups, '[]'::jsonb, now(), now()
    FROM generate_series(0, $4 - 1) AS g
    JOIN bench_cohorts AS c ON c.n = g / 38
    JOIN bench_people AS p ON p.n = (g::bigint * 7919) % $3
    """,
    """
    INSERT INTO certificate (id, number, trainee_id, kind, occupation_id, level, is_renewal, direct_recognition,
                             issuer_id, cohort_id, issue_date, status, status_reason, status_changed_by_role,
                             created_at, updated_at)
    SELECT gen_random_uuid(), 'BC' || e.id, e.trainee_id, 'skill_level', c.occupation_id,
           (ARRAY[5, 5, 4, 3, 2])[1 + (abs(hashtext(e.id::text)) % 5)], false, false,
           (SELECT id FROM bench_institutions WHERE n = abs(hashtext(e.id::text)) % 5), c.id,
           c.end_date + 10, 'valid', '', '', now(), now()
    FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id
    WHERE c.kind = 'vocational' AND e.outcome = 'completed' AND abs(hashtext(e.trainee_id::text)) % 3 = 0
      AND c.status = 'closed'
    """,
    # The last year's money: a claim for each vocational cohort, a line per completed enrolment.
    """
    INSERT INTO subsidy_claim (id, cohort_id, kind, institution_id, division_id, status, policy_code,
                               line_count, clean_lines, review_lines, blocked_lines, total_fen, clean_fen,
                               review_fen, blocked_fen, error, filed_by, filed_at, withdraw_reason, updated_at)
    SELECT gen_random_uuid(), c.id, 'training', c.institution_id, c.division_id,
           CASE WHEN abs(hashtext(c.id::text)) % 50 = 0 THEN 'withdrawn' ELSE 'in_review' END, 'henan-2022',
           0, 0, 0, 0, 0, 0, 0, 0, '', 'bench', (c.end_date + 20)::timestamp AT TIME ZONE 'Asia/Shanghai', '', now()
    FROM cohort AS c
    WHERE c.kind = 'vocational' AND c.status = 'closed' AND c.reference LIKE 'BENCH-%'
      AND c.end_date >= make_date($1 + $7 - 1, 1, 1) AND c.end_date <= make_date($1 + $7 - 1, 12, 11)
    """,
    """
    INSERT INTO subsidy_line (id, claim_id, kind, enrolment_id, trainee_id, seq, cohort_kind, occupation_code,
                              level, certificate_kind, year, base_fen, uplift_fen, total_fen, outcome, flags,
                              trace, policy_code, decision, decided_by, decided_at, reason)
    SELECT gen_random_uuid(), s.id, 'training', e.id, e.trainee_id,
           row_number() OVER (PARTITION BY s.id ORDER BY e.id), 'vocational', c.occupation_id, 5, 'skill_level',
           $1 + $7 - 1, 120000, 0, 120000, 'clean', '[]', '[]', 'henan-2022',
           CASE WHEN abs(hashtext(e.id::text)) % 5 < 4 THEN 'approved' END,
           CASE WHEN abs(hashtext(e.id::text)) % 5 < 4 THEN 'bench' END,
           CASE WHEN abs(hashtext(e.id::text)) % 5 < 4 THEN s.filed_at + interval '3 days' END, ''
    FROM subsidy_claim AS s JOIN cohort AS c ON c.id = s.cohort_id
    JOIN enrolment AS e ON e.cohort_id = c.id AND e.outcome = 'completed'
    """,
]

_TYPES = {1: "int", 2: "int", 3: "bigint", 4: "int", 5: "text[]", 6: "text[]", 7: "int"}
"""The generator's parameters' types (first year, cohorts, people, enrolments, occupations,
divisions, years)."""

_BASELINE_ALL = """
SELECT c.division_id, count(DISTINCT e.trainee_id) AS people
FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id
WHERE e.outcome = 'completed'
GROUP BY c.division_id
"""
_BASELINE_YEAR = """
SELECT c.division_id, count(DISTINCT e.trainee_id) AS people
FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id
WHERE e.outcome = 'completed' AND c.end_date BETWEEN $1 AND $2
GROUP BY c.division_id
"""


def _renumbered(sql: str) -> tuple[str, list[int]]:
    """The statement with only the parameters it names, renumbered $1.. in order and typed,
    and the original numbers of those parameters."""
    needed = sorted({int(p[1:]) for p in re.findall(r"\$\d+", sql)})
    place = {n: i + 1 for i, n in enumerate(needed)}
    text = re.sub(r"\$(\d+)", lambda m: f"(${place[int(m.group(1))]}::{_TYPES[int(m.group(1))]})", sql)
    return text, needed


async def _generate(*, enrolments: int, first_year: int, say: Callable[[str], None]) -> dict[str, int]:
    from tortoise import connections

    conn = connections.get("default")
    codes = (await conn.execute_query_dict(_OCCUPATIONS))[0]["codes"]
    divisions = [
        r["code"]
        for r in await conn.execute_query_dict(
            "SELECT code FROM division WHERE is_administrative ORDER BY code"
        )
    ]
    cohorts = -(-enrolments // COHORT_SIZE)
    people = max(1, enrolments * 4 // 5)
    params = [first_year, cohorts, people, enrolments, codes, divisions, YEARS]
    for sql in _GENERATE:
        text, needed = _renumbered(sql)
        started = time.perf_counter()
        await conn.execute_query(text, [params[n - 1] for n in needed] if needed else None)
        first_line = " ".join(sql.split())[:60]
        say(f"  {time.perf_counter() - started:6.1f} s  {first_line} ...")
    await conn.execute_script("DROP TABLE bench_institutions, bench_people, bench_cohorts")
    counts = await conn.execute_query_dict(
        "SELECT (SELECT count(*) FROM enrolment) AS enrolments, (SELECT count(*) FROM cohort) AS cohorts, "
        "(SELECT count(*) FROM trainee) AS people, (SELECT count(*) FROM certificate) AS certificates, "
        "(SELECT count(*) FROM subsidy_line) AS lines"
    )
    return {k: int(v) for k, v in counts[0].items()}


async def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    await work()  # type: ignore[misc]
    return time.perf_counter() - started


async def run_rollup_bench(
    scratch: Scratch, *, enrolments: int, repeat: int, say: Callable[[str], None]
) -> list[Figure]:
    from tortoise import connections

    from registry.core import db
    from registry.core.principal import system
    from registry.progress import service
    from registry.reference.service import load_reference

    last_year = 2025
    first_year = last_year - YEARS + 1
    as_of = dt.date(last_year, 12, 31)
    say(f"migrating the scratch database {scratch.database} ...")
    scratch_trail()
    await db.migrate(scratch.url)
    await db.init_db(scratch.url, pool_max_size=4)
    try:
        await load_reference(system("bench"))
        say(f"generating {YEARS} years ({first_year}-{last_year}) of {enrolments:,} enrolments in SQL ...")
        started = time.perf_counter()
        counts = await _generate(enrolments=enrolments, first_year=first_year, say=say)
        conn = connections.get("default")
        await conn.execute_script("VACUUM ANALYZE")
        say(
            f"generated in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )
        principal = system("bench")
        first = await service.rollup(principal, as_of)
        say(
            f"first rollup of {last_year} (and {last_year - 1}-12-31, missing): {first.seconds:.2f} s, "
            f"{first.rows:,} + {first.previous_year_rows:,} rows"
        )
        runs = []
        for _ in range(repeat):
            report = await service.rollup(principal, as_of)
            runs.append(report.seconds)
        rows = report.rows
        rollup_s = statistics.median(runs)
        base_all = [await _timed(lambda: conn.execute_query(_BASELINE_ALL)) for _ in range(repeat)]
        period = (dt.date(last_year, 1, 1), as_of)
        base_year = [
            await _timed(lambda: conn.execute_query(_BASELINE_YEAR, list(period))) for _ in range(repeat)
        ]
        baseline_s = statistics.median(base_all)
        year_s = statistics.median(base_year)
        say(
            f"rollup runs {', '.join(f'{s:.2f}' for s in runs)} s; GROUP BY over every enrolment "
            f"{', '.join(f'{s:.2f}' for s in base_all)} s; over the year's {', '.join(f'{s:.2f}' for s in base_year)} s"
        )
        return [
            Figure(
                metric=f"rollup of a year ({rows:,} rows) over {counts['enrolments']:,} enrolments",
                measured=rollup_s,
                unit="s",
                budget=ROLLUP_BUDGET_S,
                higher_is_better=False,
            ),
            Figure(
                metric="rollup / one raw GROUP BY over the enrolments",
                measured=rollup_s / baseline_s,
                unit="x",
                budget=ROLLUP_BUDGET_RATIO,
                higher_is_better=False,
                compared_with="GROUP BY",
                ratio=rollup_s / baseline_s,
                baseline=f"{baseline_s:.2f} s",
            ),
            Figure(
                metric="rollup / the same GROUP BY over the year's enrolments only",
                measured=rollup_s / year_s,
                unit="x",
                budget=None,
                higher_is_better=False,
                compared_with="GROUP BY (year)",
                ratio=rollup_s / year_s,
                baseline=f"{year_s:.2f} s",
            ),
            Figure(
                metric="first rollup of a year (also writes the year before's December 31)",
                measured=first.seconds,
                unit="s",
                budget=None,
                higher_is_better=False,
            ),
        ]
    finally:
        await _close_tortoise()
