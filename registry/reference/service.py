"""Reference data: loading the shipped catalogue, importing the bureau's priority list,
and the read helpers the API serves them with.

Writes are set-based: one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE ...
WHERE changed`` per table, never one query per row.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry import catalogue
from registry.core.errors import ConfigurationError, FieldError, ValidationFailed
from registry.core.paging import check_bounds
from registry.core.principal import Principal
from registry.core.tabular import iter_table
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import DivisionKind
from registry.models.reference import PriorityList
from registry.reference.rules import (
    ParsedList,
    PriorityRow,
    parse_priority_rows,
    sort_errors,
    unknown_code_errors,
)

EDITION = "2022"
REFERENCE_LIST_NAME = "洛阳市重点工种参考目录（2025，待人社局公布目录替换）"
REFERENCE_LIST_EFFECTIVE_FROM = dt.date(2025, 1, 1)
REFERENCE_LIST_SOURCE_NOTE = (
    "Reference selection shipped with the registry (registry/catalogue/priority_trades_reference.csv): "
    "158 occupations of the 2022 classification chosen for the sectors the city plan names. "
    "Replace it with the bureau's published list (registry import-priority-list)."
)

# Serialises every writer of reference data (catalogue loads and list imports).
_REFERENCE_LOCK_KEY = 0x4EF_0CA7


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceLoadReport:
    occupations: int
    """Rows in the catalogue (any level)."""
    occupations_inserted: int
    occupations_updated: int
    divisions: int
    divisions_inserted: int
    divisions_updated: int
    priority_list_created: bool
    priority_trades: int
    """Entries of the reference list created by this load (0 when a list already existed)."""

    @property
    def changed(self) -> bool:
        return bool(
            self.occupations_inserted
            or self.occupations_updated
            or self.divisions_inserted
            or self.divisions_updated
            or self.priority_list_created
        )

    @property
    def summary(self) -> str:
        """One line for people: what the catalogue holds and what this load changed."""
        if not self.changed:
            return f"{self.occupations} occupations, {self.divisions} divisions: nothing changed"
        parts = [
            f"{self.occupations} occupations ({self.occupations_inserted} new, "
            f"{self.occupations_updated} updated)",
            f"{self.divisions} divisions ({self.divisions_inserted} new, {self.divisions_updated} updated)",
        ]
        if self.priority_list_created:
            parts.append(f"reference priority list with {self.priority_trades} trades")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "occupations": self.occupations,
            "occupations_inserted": self.occupations_inserted,
            "occupations_updated": self.occupations_updated,
            "divisions": self.divisions,
            "divisions_inserted": self.divisions_inserted,
            "divisions_updated": self.divisions_updated,
            "priority_list_created": self.priority_list_created,
            "priority_trades": self.priority_trades,
        }


@dataclass(frozen=True)
class PriorityListImportReport:
    list_id: uuid.UUID
    name: str
    effective_from: dt.date
    entries: int
    replaced: bool
    """A list with the same effective date existed and was replaced."""
    unchanged: bool
    """That list already held exactly this content: nothing was written."""
    file_sha256: str


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


@dataclass(frozen=True)
class DivisionItem:
    code: str
    name: str
    kind: DivisionKind
    is_administrative: bool


# ---------------------------------------------------------------------------
# The catalogue files
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OccupationRecord:
    code: str
    name: str
    level: int
    parent_code: str | None
    is_digital: bool
    is_green: bool
    definition: str


@dataclass(frozen=True)
class DivisionRecord:
    code: str
    name: str
    kind: DivisionKind
    is_administrative: bool


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_occupations(path: Path = catalogue.OCCUPATIONS_FILE) -> list[OccupationRecord]:
    """The classification, one record per code. Where a code appears at two levels (a 小类
    whose single occupation shares its code), the occupation (the deeper level) wins."""
    raw = _read_csv(path)
    by_code: dict[str, dict[str, str]] = {}
    for row in raw:
        code = row["code"].strip()
        kept = by_code.get(code)
        if kept is None or int(row["level"]) > int(kept["level"]):
            by_code[code] = row
    # The nearest enclosing group present in the file: 小类 X-XX-XX-00, 中类 X-XX-00-00, 大类 X-00-00-00.
    records: list[OccupationRecord] = []
    for code, row in by_code.items():
        level = int(row["level"])
        parent: str | None = None
        candidates = [
            f"{row['minor_code']}-00" if row["minor_code"] else "",
            f"{row['middle_code']}-00-00" if row["middle_code"] else "",
            f"{row['major_code']}-00-00-00" if row["major_code"] else "",
        ]
        for candidate in candidates:
            found = by_code.get(candidate)
            if candidate and candidate != code and found is not None and int(found["level"]) < level:
                parent = candidate
                break
        records.append(
            OccupationRecord(
                code=code,
                name=row["name"].strip(),
                level=level,
                parent_code=parent,
                is_digital=row["digital_S"].strip() == "1",
                is_green=row["green_L"].strip() == "1",
                definition=row["definition"].strip(),
            )
        )
    records.sort(key=lambda record: record.code)
    return records


def division_kind(code: str, name: str) -> DivisionKind:
    """71-79 in the county part of a code are development zones the statistics office numbers
    (410371, the high-tech zone); otherwise a 县 is a county and a 区 a district."""
    if code[4:6] >= "71":
        return DivisionKind.STATISTICS
    if name.endswith("县"):
        return DivisionKind.COUNTY
    if name.endswith("区"):
        return DivisionKind.DISTRICT
    raise ConfigurationError(f"division {code} {name}: cannot tell district from county")


def read_divisions(path: Path = catalogue.DIVISIONS_FILE) -> list[DivisionRecord]:
    records = []
    for row in _read_csv(path):
        code, name = row["code"].strip(), row["name"].strip()
        kind = division_kind(code, name)
        records.append(
            DivisionRecord(
                code=code, name=name, kind=kind, is_administrative=kind is not DivisionKind.STATISTICS
            )
        )
    return records


def read_reference_priority_list(path: Path = catalogue.PRIORITY_TRADES_REFERENCE_FILE) -> list[PriorityRow]:
    parsed = parse_priority_rows(iter_table(path, path.name))
    if parsed.header is None or parsed.errors:
        raise ConfigurationError(f"{path.name} is not a valid priority list", errors=parsed.errors)
    return parsed.entries


# ---------------------------------------------------------------------------
# Loading the catalogue
# ---------------------------------------------------------------------------

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

_INSERT_ENTRIES = """
INSERT INTO priority_list_entry (priority_list_id, occupation_id, sector)
SELECT $1::uuid, code, sector FROM unnest($2::text[], $3::text[]) AS t(code, sector)
"""


async def _upsert_occupations(
    conn: BaseDBAsyncClient, records: Sequence[OccupationRecord]
) -> tuple[int, int]:
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


async def _upsert_divisions(conn: BaseDBAsyncClient, records: Sequence[DivisionRecord]) -> tuple[int, int]:
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


async def _insert_entries(
    conn: BaseDBAsyncClient, list_id: uuid.UUID, entries: Sequence[PriorityRow]
) -> None:
    await conn.execute_query(
        _INSERT_ENTRIES, [list_id, [e.code for e in entries], [e.sector for e in entries]]
    )


async def _lock(uow: UnitOfWork) -> None:
    await uow.conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_REFERENCE_LOCK_KEY])


async def load_reference(principal: Principal) -> ReferenceLoadReport:
    """Upsert the classification and the divisions; create the reference priority list when
    no list exists yet. A second run changes nothing and records no audit event."""
    occupations = await asyncio.to_thread(read_occupations)
    divisions = await asyncio.to_thread(read_divisions)
    reference_entries = await asyncio.to_thread(read_reference_priority_list)

    async with unit_of_work(principal) as uow:
        await _lock(uow)
        occ_inserted, occ_updated = await _upsert_occupations(uow.conn, occupations)
        div_inserted, div_updated = await _upsert_divisions(uow.conn, divisions)

        created = False
        list_id: uuid.UUID | None = None
        _, existing = await uow.conn.execute_query("SELECT EXISTS (SELECT 1 FROM priority_list) AS any")
        if not existing[0]["any"]:
            bad = await _check_codes(
                uow.conn, ParsedList(header=None, entries=list(reference_entries)), "code"
            )
            if bad:
                raise ConfigurationError(
                    "the shipped reference priority list names unknown occupations", errors=bad
                )
            priority_list = await PriorityList.create(
                name=REFERENCE_LIST_NAME,
                effective_from=REFERENCE_LIST_EFFECTIVE_FROM,
                source_note=REFERENCE_LIST_SOURCE_NOTE,
                is_reference_selection=True,
                using_db=uow.conn,
            )
            list_id = priority_list.id
            await _insert_entries(uow.conn, list_id, reference_entries)
            created = True

        report = ReferenceLoadReport(
            occupations=len(occupations),
            occupations_inserted=occ_inserted,
            occupations_updated=occ_updated,
            divisions=len(divisions),
            divisions_inserted=div_inserted,
            divisions_updated=div_updated,
            priority_list_created=created,
            priority_trades=len(reference_entries) if created else 0,
        )
        if report.changed:
            after = report.as_dict()
            after["edition"] = EDITION
            if list_id is not None:
                after["priority_list_id"] = str(list_id)
            await uow.audit("reference.load", "reference_catalogue", EDITION, after=after)
    return report


# ---------------------------------------------------------------------------
# Importing the bureau's priority list
# ---------------------------------------------------------------------------


def _read_list_file(source: Path | bytes, file_name: str) -> tuple[ParsedList, str]:
    data = source.read_bytes() if isinstance(source, Path) else source
    parsed = parse_priority_rows(iter_table(data, file_name))
    return parsed, hashlib.sha256(data).hexdigest()


async def _check_codes(conn: BaseDBAsyncClient, parsed: ParsedList, column: str | None) -> list[FieldError]:
    """Errors for codes that are not level-4 occupations: one query for all the codes."""
    codes = parsed.codes
    if not codes:
        return []
    _, rows = await conn.execute_query(
        "SELECT code, level FROM occupation WHERE code = ANY($1::text[])", [codes]
    )
    levels = {str(row["code"]): int(row["level"]) for row in rows}
    return unknown_code_errors(parsed.entries, levels, column=column)


async def import_priority_list(
    principal: Principal,
    source: Path | bytes,
    file_name: str,
    *,
    name: str,
    effective_from: dt.date,
    source_note: str = "",
) -> PriorityListImportReport:
    """Load a published priority list from a CSV or XLSX file of codes.

    Every bad row (malformed, unknown, missing or repeated code) is reported at once and
    nothing is written. A list with the same ``effective_from`` is replaced (its entries
    deleted and the new ones inserted, in one transaction); a later date supersedes the
    earlier lists from that day on.
    """
    name = name.strip()
    if not name:
        raise ValidationFailed(
            "the list needs a name", errors=[FieldError("name", "required", "the list needs a name")]
        )
    if len(name) > 200:
        raise ValidationFailed(
            "the list's name is too long",
            errors=[FieldError("name", "too_long", "the name is longer than 200 characters")],
        )

    parsed, sha256 = await asyncio.to_thread(_read_list_file, source, file_name)
    if parsed.header is None:
        raise ValidationFailed(
            f"{file_name}: no header row names a code column (code, 工种代码, 职业编码, 代码...)",
            code="missing_code_column",
            errors=[
                FieldError(
                    "code", "missing_code_column", "no header row with a code column in the first rows"
                )
            ],
        )
    column = parsed.header.code_label

    async with unit_of_work(principal) as uow:
        await _lock(uow)
        errors = sort_errors([*parsed.errors, *await _check_codes(uow.conn, parsed, column)])
        if errors:
            raise ValidationFailed(
                f"{file_name}: {len(errors)} row(s) cannot be loaded; nothing was changed",
                errors=errors,
            )
        if not parsed.entries:
            raise ValidationFailed(
                f"{file_name}: the list has no occupations",
                code="empty_list",
                errors=[FieldError("code", "empty_list", "the file holds no occupation codes")],
            )

        entries = parsed.entries
        new_content = {(e.code, e.sector) for e in entries}
        existing = (
            await PriorityList.filter(effective_from=effective_from)
            .using_db(uow.conn)
            .select_for_update()
            .first()
        )
        before: dict[str, Any] | None = None
        if existing is not None:
            _, rows = await uow.conn.execute_query(
                "SELECT occupation_id AS code, sector FROM priority_list_entry WHERE priority_list_id = $1",
                [existing.id],
            )
            old_content = {(str(row["code"]), str(row["sector"])) for row in rows}
            if (
                old_content == new_content
                and existing.name == name
                and existing.source_note == source_note
                and not existing.is_reference_selection
            ):
                return PriorityListImportReport(
                    list_id=existing.id,
                    name=name,
                    effective_from=effective_from,
                    entries=len(entries),
                    replaced=False,
                    unchanged=True,
                    file_sha256=sha256,
                )
            before = {
                "name": existing.name,
                "effective_from": existing.effective_from.isoformat(),
                "source_note": existing.source_note,
                "is_reference_selection": existing.is_reference_selection,
                "entries": len(old_content),
            }
            await uow.conn.execute_query(
                "DELETE FROM priority_list_entry WHERE priority_list_id = $1", [existing.id]
            )
            existing.name = name
            existing.source_note = source_note
            existing.is_reference_selection = False
            await existing.save(
                using_db=uow.conn, update_fields=["name", "source_note", "is_reference_selection"]
            )
            priority_list = existing
        else:
            priority_list = await PriorityList.create(
                name=name,
                effective_from=effective_from,
                source_note=source_note,
                is_reference_selection=False,
                using_db=uow.conn,
            )
        await _insert_entries(uow.conn, priority_list.id, entries)
        await uow.audit(
            "priority_list.replace" if existing is not None else "priority_list.import",
            "priority_list",
            priority_list.id,
            before=before,
            after={
                "name": name,
                "effective_from": effective_from.isoformat(),
                "source_note": source_note,
                "is_reference_selection": False,
                "entries": len(entries),
                "file_name": file_name,
                "file_sha256": sha256,
            },
        )
    return PriorityListImportReport(
        list_id=priority_list.id,
        name=name,
        effective_from=effective_from,
        entries=len(entries),
        replaced=existing is not None,
        unchanged=False,
        file_sha256=sha256,
    )


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------


async def priority_list_in_force(on: dt.date) -> PriorityList | None:
    """The list in force on a date: the latest ``effective_from`` on or before it (one query)."""
    return await PriorityList.filter(effective_from__lte=on).order_by("-effective_from").first()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_IN_FORCE = "(SELECT id FROM priority_list WHERE effective_from <= {p} ORDER BY effective_from DESC LIMIT 1)"


async def _page(
    sql: str, count_sql: str, params: list[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    """Rows of a page with ``count(*) OVER ()`` as ``total``; the total needs its own query
    only when the page is past the end."""
    conn = connections.get("default")
    n = len(params)
    _, rows = await conn.execute_query(f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}", [*params, limit, offset])
    if rows:
        return list(rows), int(rows[0]["total"])
    if offset == 0:
        return [], 0
    _, counted = await conn.execute_query(count_sql, params)
    return [], int(counted[0]["total"])


async def list_occupations(
    *,
    level: int | None = None,
    q: str | None = None,
    priority_on: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OccupationItem], int]:
    """The classification, ordered by code. ``q`` matches a code prefix or part of the name;
    ``priority_on`` keeps only the occupations on the priority list in force that day."""
    check_bounds(limit, offset)
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
            + _IN_FORCE.format(p=f"${len(params)}")
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
    rows, total = await _page(sql, f"SELECT count(*) AS total {base}", params, limit, offset)
    items = [
        OccupationItem(
            code=row["code"],
            name=row["name"],
            level=int(row["level"]),
            parent_code=row["parent_code"],
            is_digital=bool(row["is_digital"]),
            is_green=bool(row["is_green"]),
            definition=row["definition"],
            priority_sector=row["sector"],
        )
        for row in rows
    ]
    return items, total


async def list_priority_trades(
    on: dt.date, *, limit: int = 50, offset: int = 0
) -> tuple[list[PriorityTradeItem], int]:
    """The occupations on the priority list in force on ``on``, ordered by code."""
    check_bounds(limit, offset)
    base = (
        "FROM priority_list_entry e JOIN priority_list l ON l.id = e.priority_list_id "
        "JOIN occupation o ON o.code = e.occupation_id WHERE l.id = " + _IN_FORCE.format(p="$1")
    )
    sql = (
        "SELECT o.code, o.name, e.sector, l.id AS list_id, l.name AS list_name, l.effective_from, "
        f"l.is_reference_selection, count(*) OVER () AS total {base} ORDER BY o.code"
    )
    rows, total = await _page(sql, f"SELECT count(*) AS total {base}", [on], limit, offset)
    items = [
        PriorityTradeItem(
            code=row["code"],
            name=row["name"],
            sector=row["sector"],
            list_id=row["list_id"],
            list_name=row["list_name"],
            effective_from=row["effective_from"],
            is_reference_selection=bool(row["is_reference_selection"]),
        )
        for row in rows
    ]
    return items, total


async def division_lookup() -> dict[str, str]:
    """Division names and codes -> code, for reading what people type (户籍县区 涧西区 or
    410305). One small query: the catalogue changes only by ``registry load-reference``."""
    _, rows = await connections.get("default").execute_query("SELECT code, name FROM division")
    lookup: dict[str, str] = {}
    for row in rows:
        lookup[row["name"]] = row["code"]
        lookup[row["code"]] = row["code"]
    return lookup


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


__all__ = [
    "DivisionItem",
    "OccupationItem",
    "PriorityListImportReport",
    "PriorityTradeItem",
    "ReferenceLoadReport",
    "import_priority_list",
    "list_divisions",
    "list_occupations",
    "list_priority_trades",
    "load_reference",
    "priority_list_in_force",
    "read_divisions",
    "read_occupations",
]
