"""SQL of the quarterly report: reads of the rollup's own rows and facts, on the connection
it is given (the report's transaction, in which the rollup of the quarter's last day ran).

No counting rule lives here but one the rollup has no dimension for: the new high-skill
talents by certificate level (:func:`high_skill_levels`), counted over the rollup's own
``progress_facts`` (a person's first valid level-3+ certificate of the year, once), so the
levels add up to the rollup's ``high_skill_certified``.
"""

from __future__ import annotations

import datetime as dt

from tortoise.backends.base.client import BaseDBAsyncClient

Key = tuple[str, str, str, str]
"""(metric, scope, dimension, key) of a ``progress_snapshot`` row."""


async def snapshot_day(conn: BaseDBAsyncClient, year: int, as_of: dt.date) -> dict[Key, int]:
    """Every ``progress_snapshot`` row of one day of the year."""
    rows = await conn.execute_query_dict(
        "SELECT metric, scope, dimension, key, value FROM progress_snapshot WHERE year = $1 AND as_of = $2",
        [year, as_of],
    )
    return {
        (str(r["metric"]), str(r["scope"]), str(r["dimension"]), str(r["key"])): int(r["value"]) for r in rows
    }


async def high_skill_levels(conn: BaseDBAsyncClient) -> dict[tuple[str, int], int]:
    """``(division or '' for the city, level) -> people`` of the high-skill facts in
    ``progress_facts`` (collected first, in this transaction)."""
    rows = await conn.execute_query_dict(
        "SELECT CASE WHEN GROUPING(division) = 1 THEN '' ELSE division END AS scope, level, "
        "count(DISTINCT trainee_id) AS people FROM progress_facts WHERE kind = 'high_skill' "
        "GROUP BY GROUPING SETS ((level), (division, level))"
    )
    return {(str(r["scope"] or ""), int(r["level"])): int(r["people"]) for r in rows}


async def counties(conn: BaseDBAsyncClient) -> list[tuple[str, str]]:
    """The divisions of the city, (code, name), by code."""
    rows = await conn.execute_query_dict("SELECT code, name FROM division ORDER BY code")
    return [(str(r["code"]), str(r["name"])) for r in rows]


async def annual_targets(conn: BaseDBAsyncClient, year: int) -> dict[tuple[str, str], int]:
    """``(metric, division or '' for the city) -> value`` of the year's annual targets."""
    rows = await conn.execute_query_dict(
        "SELECT metric, coalesce(division_id, '') AS scope, value FROM target "
        "WHERE year = $1 AND cumulative_from IS NULL",
        [year],
    )
    return {(str(r["metric"]), str(r["scope"])): int(r["value"]) for r in rows}
