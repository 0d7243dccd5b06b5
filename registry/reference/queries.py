"""Set-based SQL of the reference area: the catalogue upserts, the priority list in force,
and the pages the API lists occupations, trades and divisions with."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.errors import FieldError, ValidationFailed
from registry.core.paging import Page, page_of_sql
from registry.enums import DivisionKind
from registry.models.reference import PriorityList
from registry.reference.catalogue import EDITION, DivisionAliasRecord, DivisionRecord, OccupationRecord
from registry.reference.rules import ParsedList, PriorityRow, unknown_code_errors

REFERENCE_LOCK_KEY = 0x4EF_0CA7
"""Serialises every writer of reference data (catalogue loads and list imports)."""


@dataclass(frozen=True)
class OccupationItem:
    code: str
    name: str
    level: int
    parent_code: str | None
    is_digital: bool
    is_green: bool
    definition: str
    priority_sector: str | None
    """The sector on the priority list asked about (``priority_on``), else None."""


@dataclass(frozen=True)
class PriorityTradeItem:
    code: str
    name: str
    sector: str
    list_id: uuid.UUID
    list_name: str
    effective_from: dt.date
    is_reference_selection: bool
    list_code: str
    list_document: str
    """The document the list was published under; empty for the shipped selection unconfirmed."""
    list_confirmed: bool
    """Published by the bureau: loaded by it, or the shipped selection it confirmed."""


@dataclass(frozen=True)
class PriorityListInForce:
    """Which priority list is in force on a date, and whether the bureau published it."""

    code: str
    name: str
    document: str
    """The document it was published under (洛人社〔2026〕12号); empty when none was given."""
    confirmed: bool
    """The bureau published it (loaded it, or confirmed the shipped selection)."""
    reference_selection: bool
    """The shipped reference selection (confirmed or not), not a list the bureau loaded."""


@dataclass(frozen=True)
class DivisionItem:
    code: str
    name: str
    kind: DivisionKind
    is_administrative: bool


_UPSERT_OCCUPATIONS = """
WITH up AS (
    INSERT INTO occupation (code, name, level, parent_code, edition, is_digital, is_green, definition)
    SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::text[],
                         $6::boolean[], $7::boolean[], $8::text[])
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code,
        edition = EXCLUDED.edition, is_digital = EXCLUDED.is_digital, is_green = EXCLUDED.is_green,
        definition = EXCLUDED.definition
    WHERE (occupation.name, occupation.level, occupation.parent_code, occupation.edition,
           occupation.is_digital, occupation.is_green, occupation.definition)
        IS DISTINCT FROM
          (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_code, EXCLUDED.edition,
           EXCLUDED.is_digital, EXCLUDED.is_green, EXCLUDED.definition)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
"""

_UPSERT_DIVISIONS = """
WITH up AS (
    INSERT INTO division (code, name, kind, is_administrative)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, kind = EXCLUDED.kind, is_administrative = EXCLUDED.is_administrative
    WHERE (division.name, division.kind, division.is_administrative)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.is_administrative)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
"""

_UPSERT_DIVISION_ALIASES = """
WITH up AS (
    INSERT INTO division_alias (alias, division_id, kind, note)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
    ON CONFLICT (alias) DO UPDATE SET
        division_id = EXCLUDED.division_id, kind = EXCLUDED.kind, note = EXCLUDED.note
    WHERE (division_alias.division_id, division_alias.kind, division_alias.note)
        IS DISTINCT FROM (EXCLUDED.division_id, EXCLUDED.kind, EXCLUDED.note)
    RETURNING (xmax = 0) AS inserted
), gone AS (
    DELETE FROM division_alias WHERE NOT (alias = ANY($1::text[])) RETURNING 1
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) + (SELECT count(*) FROM gone) AS updated
FROM up
"""

_INSERT_ENTRIES = """
INSERT INTO priority_list_entry (priority_list_id, occupation_id, sector)
SELECT $1::uuid, code, sector FROM unnest($2::text[], $3::text[]) AS t(code, sector)
"""


async def upsert_occupations(conn: BaseDBAsyncClient, records: Sequence[OccupationRecord]) -> tuple[int, int]:
    _, rows = await conn.execute_query(
        _UPSERT_OCCUPATIONS,
        [
            [r.code for r in records],
            [r.name for r in records],
            [r.level for r in records],
            [r.parent_code for r in records],
            [EDITION] * len(records),
            [r.is_digital for r in records],
            [r.is_green for r in records],
            [r.definition for r in records],
        ],
    )
    return int(rows[0]["inserted"]), int(rows[0]["updated"])


async def upsert_divisions(conn: BaseDBAsyncClient, records: Sequence[DivisionRecord]) -> tuple[int, int]:
    _, rows = await conn.execute_query(
        _UPSERT_DIVISIONS,
        [
            [r.code for r in records],
            [r.name for r in records],
            [r.kind.value for r in records],
            [r.is_administrative for r in records],
        ],
    )
    return int(rows[0]["inserted"]), int(rows[0]["updated"])


async def upsert_division_aliases(
    conn: BaseDBAsyncClient, records: Sequence[DivisionAliasRecord]
) -> tuple[int, int]:
    """The catalogue's aliases; an alias no longer in the catalogue is removed (counted as
    updated). Returns (inserted, updated)."""
    _, rows = await conn.execute_query(
        _UPSERT_DIVISION_ALIASES,
        [
            [r.alias for r in records],
            [r.code for r in records],
            [r.kind for r in records],
            [r.note for r in records],
        ],
    )
    return int(rows[0]["inserted"]), int(rows[0]["updated"])


async def insert_entries(conn: BaseDBAsyncClient, list_id: uuid.UUID, entries: Sequence[PriorityRow]) -> None:
    await conn.execute_query(
        _INSERT_ENTRIES, [list_id, [e.code for e in entries], [e.sector for e in entries]]
    )


async def lock_reference(conn: BaseDBAsyncClient) -> None:
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [REFERENCE_LOCK_KEY])


async def code_errors(conn: BaseDBAsyncClient, parsed: ParsedList, column: str | None) -> list[FieldError]:
    """Errors for codes that are not level-4 occupations: one query for all the codes."""
    codes = parsed.codes
    if not codes:
        return []
    _, rows = await conn.execute_query(
        "SELECT code, level FROM occupation WHERE code = ANY($1::text[])", [codes]
    )
    levels = {str(row["code"]): int(row["level"]) for row in rows}
    return unknown_code_errors(parsed.entries, levels, column=column)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


IN_FORCE = "(SELECT id FROM priority_list WHERE effective_from <= {p} ORDER BY effective_from DESC LIMIT 1)"
"""The id of the priority list in force on a date (``{p}``): the latest ``effective_from`` on
or before it. The one definition every query of the list in force uses."""


async def priority_list_in_force(on: dt.date, conn: BaseDBAsyncClient | None = None) -> PriorityList | None:
    """The list in force on a date (:data:`IN_FORCE`), or None before the first list."""
    conn = conn or connections.get("default")
    rows = await conn.execute_query_dict(f"SELECT {IN_FORCE.format(p='$1')} AS id", [on])
    if rows[0]["id"] is None:
        return None
    return await PriorityList.filter(id=rows[0]["id"]).using_db(conn).first()


_LIST_FACTS = (
    "SELECT code, name, document, confirmed_at IS NOT NULL AS confirmed, is_reference_selection "
    "FROM priority_list WHERE id = " + IN_FORCE.format(p="$1")
)


async def priority_list_facts(
    on: dt.date, conn: BaseDBAsyncClient | None = None
) -> PriorityListInForce | None:
    """The list in force on a date (:data:`IN_FORCE`): its code, name, document and whether
    the bureau published it; None before the first list. One query."""
    conn = conn or connections.get("default")
    rows = await conn.execute_query_dict(_LIST_FACTS, [on])
    if not rows:
        return None
    row = rows[0]
    return PriorityListInForce(
        code=str(row["code"]),
        name=str(row["name"]),
        document=str(row["document"]),
        confirmed=bool(row["confirmed"]),
        reference_selection=bool(row["is_reference_selection"]),
    )


async def list_occupations(
    *,
    level: int | None = None,
    q: str | None = None,
    priority_on: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[OccupationItem]:
    """The classification, ordered by code. ``q`` matches a code prefix or part of the name;
    ``priority_on`` keeps only the occupations on the priority list in force that day."""
    if level is not None and level not in (1, 2, 3, 4):
        raise ValidationFailed(
            "bad level", errors=[FieldError("level", "out_of_range", "level must be 1, 2, 3 or 4")]
        )
    params: list[Any] = []
    where: list[str] = []
    join = ""
    sector = "NULL::text"
    if priority_on is not None:
        params.append(priority_on)
        join = (
            " JOIN priority_list_entry e ON e.occupation_id = o.code AND e.priority_list_id = "
            + IN_FORCE.format(p=f"${len(params)}")
        )
        sector = "e.sector"
    if level is not None:
        params.append(level)
        where.append(f"o.level = ${len(params)}")
    text = (q or "").strip()
    if text:
        params.append(_like_escape(text))
        p = f"${len(params)}"
        where.append(f"(o.code LIKE {p} || '%' OR o.name ILIKE '%' || {p} || '%')")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    base = f"FROM occupation o{join}{condition}"
    sql = (
        "SELECT o.code, o.name, o.level, o.parent_code, o.is_digital, o.is_green, o.definition, "
        f"{sector} AS sector, count(*) OVER () AS total {base} ORDER BY o.code"
    )
    page = await page_of_sql(sql, f"SELECT count(*) AS total {base}", params, limit, offset)
    return page.map(
        lambda row: OccupationItem(
            code=row["code"],
            name=row["name"],
            level=int(row["level"]),
            parent_code=row["parent_code"],
            is_digital=bool(row["is_digital"]),
            is_green=bool(row["is_green"]),
            definition=row["definition"],
            priority_sector=row["sector"],
        )
    )


async def list_priority_trades(on: dt.date, *, limit: int = 50, offset: int = 0) -> Page[PriorityTradeItem]:
    """The occupations on the priority list in force on ``on``, ordered by code."""
    base = (
        "FROM priority_list_entry e JOIN priority_list l ON l.id = e.priority_list_id "
        "JOIN occupation o ON o.code = e.occupation_id WHERE l.id = " + IN_FORCE.format(p="$1")
    )
    sql = (
        "SELECT o.code, o.name, e.sector, l.id AS list_id, l.name AS list_name, l.effective_from, "
        "l.is_reference_selection, l.code AS list_code, l.document AS list_document, "
        f"l.confirmed_at IS NOT NULL AS list_confirmed, count(*) OVER () AS total {base} ORDER BY o.code"
    )
    page = await page_of_sql(sql, f"SELECT count(*) AS total {base}", [on], limit, offset)
    return page.map(
        lambda row: PriorityTradeItem(
            code=row["code"],
            name=row["name"],
            sector=row["sector"],
            list_id=row["list_id"],
            list_name=row["list_name"],
            effective_from=row["effective_from"],
            is_reference_selection=bool(row["is_reference_selection"]),
            list_code=row["list_code"],
            list_document=row["list_document"],
            list_confirmed=bool(row["list_confirmed"]),
        )
    )


DIVISION_KEYS = (
    "SELECT code AS key, code FROM division UNION ALL SELECT name, code FROM division "
    "UNION ALL SELECT alias, division_id FROM division_alias"
)
"""Every way a division is written (code, name, alias) with today's code: ``key, code``."""


async def division_lookup() -> dict[str, str]:
    """Division names, codes and aliases -> today's code, for reading what people write
    (户籍县区 涧西区 or 410305; 偃师市 or 410381, retired in 2021, -> 410307; 瀍河 -> 410304).
    One small query: the catalogue changes only by ``registry load-reference``."""
    _, rows = await connections.get("default").execute_query(DIVISION_KEYS)
    return {row["key"]: row["code"] for row in rows}


async def list_divisions() -> list[DivisionItem]:
    """All divisions, administrative ones first, by code."""
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT code, name, kind, is_administrative FROM division ORDER BY is_administrative DESC, code"
    )
    return [
        DivisionItem(
            code=row["code"],
            name=row["name"],
            kind=DivisionKind(row["kind"]),
            is_administrative=bool(row["is_administrative"]),
        )
        for row in rows
    ]
