"""Reference data use cases: loading the shipped catalogue and importing the bureau's
priority list. Each is one unit of work under the reference lock; the SQL is in
:mod:`registry.reference.queries`, the file reading in :mod:`registry.reference.catalogue`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.core.errors import ConfigurationError, FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.core.tabular import iter_table
from registry.core.uow import UnitOfWork, unit_of_work
from registry.models.reference import PriorityList
from registry.reference import queries
from registry.reference.catalogue import (
    EDITION,
    REFERENCE_LIST_EFFECTIVE_FROM,
    REFERENCE_LIST_NAME,
    REFERENCE_LIST_SOURCE_NOTE,
    read_division_aliases,
    read_divisions,
    read_occupations,
    read_reference_priority_list,
)
from registry.reference.rules import ParsedList, PriorityRow, parse_priority_rows, sort_errors


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
    division_aliases: int = 0
    division_aliases_inserted: int = 0
    division_aliases_updated: int = 0
    """Aliases changed or removed (no longer in the catalogue)."""

    @property
    def changed(self) -> bool:
        return bool(
            self.occupations_inserted
            or self.occupations_updated
            or self.divisions_inserted
            or self.divisions_updated
            or self.division_aliases_inserted
            or self.division_aliases_updated
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
            f"{self.division_aliases} division aliases ({self.division_aliases_inserted} new, "
            f"{self.division_aliases_updated} updated)",
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
            "division_aliases": self.division_aliases,
            "division_aliases_inserted": self.division_aliases_inserted,
            "division_aliases_updated": self.division_aliases_updated,
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


# ---------------------------------------------------------------------------
# Loading the catalogue
# ---------------------------------------------------------------------------


async def load_reference(principal: Principal) -> ReferenceLoadReport:
    """Upsert the classification, the divisions and their aliases; create the reference priority list when
    no list exists yet. A second run changes nothing and records no audit event."""
    occupations = await asyncio.to_thread(read_occupations)
    divisions = await asyncio.to_thread(read_divisions)
    aliases = await asyncio.to_thread(read_division_aliases, divisions=divisions)
    reference_entries = await asyncio.to_thread(read_reference_priority_list)

    async with unit_of_work(principal) as uow:
        await queries.lock_reference(uow.conn)
        occ_inserted, occ_updated = await queries.upsert_occupations(uow.conn, occupations)
        div_inserted, div_updated = await queries.upsert_divisions(uow.conn, divisions)
        alias_inserted, alias_updated = await queries.upsert_division_aliases(uow.conn, aliases)
        list_id = await _create_reference_list(uow, reference_entries)
        report = ReferenceLoadReport(
            occupations=len(occupations),
            occupations_inserted=occ_inserted,
            occupations_updated=occ_updated,
            divisions=len(divisions),
            divisions_inserted=div_inserted,
            divisions_updated=div_updated,
            priority_list_created=list_id is not None,
            priority_trades=len(reference_entries) if list_id is not None else 0,
            division_aliases=len(aliases),
            division_aliases_inserted=alias_inserted,
            division_aliases_updated=alias_updated,
        )
        if report.changed:
            after = report.as_dict()
            after["edition"] = EDITION
            if list_id is not None:
                after["priority_list_id"] = str(list_id)
            await uow.audit("reference.load", "reference_catalogue", EDITION, after=after)
    return report


async def _create_reference_list(uow: UnitOfWork, entries: list[PriorityRow]) -> uuid.UUID | None:
    """The shipped reference list, when no priority list exists yet; its id, or None."""
    _, existing = await uow.conn.execute_query("SELECT EXISTS (SELECT 1 FROM priority_list) AS any")
    if existing[0]["any"]:
        return None
    bad = await queries.code_errors(uow.conn, ParsedList(header=None, entries=list(entries)), "code")
    if bad:
        raise ConfigurationError("the shipped reference priority list names unknown occupations", errors=bad)
    priority_list = await PriorityList.create(
        name=REFERENCE_LIST_NAME,
        effective_from=REFERENCE_LIST_EFFECTIVE_FROM,
        source_note=REFERENCE_LIST_SOURCE_NOTE,
        is_reference_selection=True,
        using_db=uow.conn,
    )
    await queries.insert_entries(uow.conn, priority_list.id, entries)
    return priority_list.id


# ---------------------------------------------------------------------------
# Importing the bureau's priority list
# ---------------------------------------------------------------------------


def _read_list_file(source: Path | bytes, file_name: str) -> tuple[ParsedList, str]:
    data = source.read_bytes() if isinstance(source, Path) else source
    parsed = parse_priority_rows(iter_table(data, file_name))
    return parsed, hashlib.sha256(data).hexdigest()


def _checked_name(name: str) -> str:
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
    return name


def _check_header(parsed: ParsedList, file_name: str) -> str:
    """The code column's label as the file writes it, or ``missing_code_column``."""
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
    return parsed.header.code_label


async def _check_entries(uow: UnitOfWork, parsed: ParsedList, file_name: str, column: str) -> None:
    """Every bad row at once (malformed, unknown, missing or repeated code), or an empty list."""
    errors = sort_errors([*parsed.errors, *await queries.code_errors(uow.conn, parsed, column)])
    if errors:
        raise ValidationFailed(
            f"{file_name}: {len(errors)} row(s) cannot be loaded; nothing was changed", errors=errors
        )
    if not parsed.entries:
        raise ValidationFailed(
            f"{file_name}: the list has no occupations",
            code="empty_list",
            errors=[FieldError("code", "empty_list", "the file holds no occupation codes")],
        )


@dataclass(frozen=True)
class _ListChange:
    priority_list: PriorityList
    before: dict[str, Any] | None
    """The replaced list's summary (None for a new list)."""
    unchanged: bool


async def _replace_or_create(
    uow: UnitOfWork, *, name: str, effective_from: dt.date, source_note: str, entries: list[PriorityRow]
) -> _ListChange:
    """The list of that effective date emptied and renamed (or a new one); ``unchanged``
    when it already held exactly this content, and then nothing is written."""
    existing = (
        await PriorityList.filter(effective_from=effective_from)
        .using_db(uow.conn)
        .select_for_update()
        .first()
    )
    if existing is None:
        created = await PriorityList.create(
            name=name,
            effective_from=effective_from,
            source_note=source_note,
            is_reference_selection=False,
            using_db=uow.conn,
        )
        return _ListChange(created, before=None, unchanged=False)
    _, rows = await uow.conn.execute_query(
        "SELECT occupation_id AS code, sector FROM priority_list_entry WHERE priority_list_id = $1",
        [existing.id],
    )
    old_content = {(str(row["code"]), str(row["sector"])) for row in rows}
    if (
        old_content == {(e.code, e.sector) for e in entries}
        and existing.name == name
        and existing.source_note == source_note
        and not existing.is_reference_selection
    ):
        return _ListChange(existing, before=None, unchanged=True)
    before = {
        "name": existing.name,
        "effective_from": existing.effective_from.isoformat(),
        "source_note": existing.source_note,
        "is_reference_selection": existing.is_reference_selection,
        "entries": len(old_content),
    }
    await uow.conn.execute_query("DELETE FROM priority_list_entry WHERE priority_list_id = $1", [existing.id])
    existing.name = name
    existing.source_note = source_note
    existing.is_reference_selection = False
    await existing.save(using_db=uow.conn, update_fields=["name", "source_note", "is_reference_selection"])
    return _ListChange(existing, before=before, unchanged=False)


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
    name = _checked_name(name)
    parsed, sha256 = await asyncio.to_thread(_read_list_file, source, file_name)
    column = _check_header(parsed, file_name)
    async with unit_of_work(principal) as uow:
        await queries.lock_reference(uow.conn)
        await _check_entries(uow, parsed, file_name, column)
        entries = parsed.entries
        change = await _replace_or_create(
            uow, name=name, effective_from=effective_from, source_note=source_note, entries=entries
        )
        report = PriorityListImportReport(
            list_id=change.priority_list.id,
            name=name,
            effective_from=effective_from,
            entries=len(entries),
            replaced=change.before is not None,
            unchanged=change.unchanged,
            file_sha256=sha256,
        )
        if change.unchanged:
            return report
        await queries.insert_entries(uow.conn, change.priority_list.id, entries)
        await uow.audit(
            "priority_list.replace" if change.before is not None else "priority_list.import",
            "priority_list",
            change.priority_list.id,
            before=change.before,
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
    return report
