"""Reference data use cases: loading the shipped catalogue, importing the bureau's priority
list and confirming one. Each is one unit of work under the reference lock; the SQL is in
:mod:`registry.reference.queries`, the file reading in :mod:`registry.reference.catalogue`.

A priority list has a stable ``code`` (the UPLIFT step of a line's trace names it), the
``document`` it was published under, and a confirmation (``confirmed_at``, ``confirmed_by``):
a list the bureau loads is published by the bureau, confirmed at load; the shipped reference
selection is not, until the bureau confirms it (:func:`confirm_priority_list`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.core.errors import ConfigurationError, FieldError, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.core.tabular import iter_table
from registry.core.text import visible_text
from registry.core.uow import UnitOfWork, unit_of_work
from registry.models.reference import PriorityList
from registry.reference import queries
from registry.reference.catalogue import (
    EDITION,
    REFERENCE_LIST_CODE_PREFIX,
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
    code: str
    document: str


@dataclass(frozen=True)
class PriorityListConfirmReport:
    list_id: uuid.UUID
    code: str
    name: str
    effective_from: dt.date
    document: str
    reference_selection: bool
    confirmed_at: dt.datetime
    confirmed_by: str
    unchanged: bool
    """It was confirmed already under this document: nothing was written."""


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
        code=reference_list_code(REFERENCE_LIST_EFFECTIVE_FROM),
        name=REFERENCE_LIST_NAME,
        effective_from=REFERENCE_LIST_EFFECTIVE_FROM,
        source_note=REFERENCE_LIST_SOURCE_NOTE,
        document="",
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


LIST_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""A list's code: letters, digits, ``.``, ``_`` and ``-``, at most 64 (typed on a command line)."""
LIST_CODE_PREFIX = "list-"
DOCUMENT_MAX_LENGTH = 200


def reference_list_code(effective_from: dt.date) -> str:
    """The code of the shipped reference selection: ``reference-2025-01-01``."""
    return f"{REFERENCE_LIST_CODE_PREFIX}{effective_from.isoformat()}"


def derived_list_code(effective_from: dt.date) -> str:
    """The code of a list the bureau loads without one: ``list-2026-03-01``."""
    return f"{LIST_CODE_PREFIX}{effective_from.isoformat()}"


def _checked_code(code: str) -> str:
    code = code.strip()
    if not LIST_CODE.match(code):
        raise ValidationFailed(
            f"{code!r} is not a list code",
            errors=[
                FieldError(
                    "code",
                    "malformed_code",
                    "a list code is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                )
            ],
        )
    if code.startswith(REFERENCE_LIST_CODE_PREFIX):
        raise ValidationFailed(
            f"{code!r}: codes starting {REFERENCE_LIST_CODE_PREFIX!r} name the shipped reference selection",
            errors=[
                FieldError(
                    "code", "reserved_code", f"codes starting {REFERENCE_LIST_CODE_PREFIX!r} are reserved"
                )
            ],
        )
    return code


def _checked_document(document: str, *, required: bool) -> str:
    """The document number as given (outer whitespace and invisible characters removed);
    refused when blank (``required``, or given at all at load) or too long."""
    visible = visible_text(document)
    if not visible and (required or document):
        raise ValidationFailed(
            "the document number is empty",
            errors=[
                FieldError(
                    "document",
                    "required",
                    "the document the list was published under (洛人社〔2026〕12号) is required",
                )
            ],
        )
    if len(visible) > DOCUMENT_MAX_LENGTH:
        raise ValidationFailed(
            "the document number is too long",
            errors=[
                FieldError(
                    "document", "too_long", f"the document is longer than {DOCUMENT_MAX_LENGTH} characters"
                )
            ],
        )
    return visible


async def _check_code_free(uow: UnitOfWork, code: str, effective_from: dt.date) -> None:
    """Refuse a code another list (of another effective date) already has."""
    other = (
        await PriorityList.filter(code=code).exclude(effective_from=effective_from).using_db(uow.conn).first()
    )
    if other is not None:
        raise ValidationFailed(
            f"the code {code!r} already names the list effective {other.effective_from.isoformat()} ({other.name})",
            errors=[
                FieldError(
                    "code", "code_taken", f"{code} already names the list effective {other.effective_from}"
                )
            ],
        )


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
    uow: UnitOfWork,
    *,
    code: str | None,
    name: str,
    effective_from: dt.date,
    source_note: str,
    document: str,
    entries: list[PriorityRow],
) -> _ListChange:
    """The list of that effective date emptied and renamed (or a new one); ``unchanged``
    when it already held exactly this content, and then nothing is written. The bureau loads
    it: it is confirmed now, by the principal. Without a ``code``, a replaced bureau list
    keeps its own, else the code is ``list-<effective_from>``."""
    existing = (
        await PriorityList.filter(effective_from=effective_from)
        .using_db(uow.conn)
        .select_for_update()
        .first()
    )
    if code is None:
        keep = existing is not None and not existing.is_reference_selection
        code = existing.code if existing is not None and keep else derived_list_code(effective_from)
    await _check_code_free(uow, code, effective_from)
    now, actor = dt.datetime.now(dt.UTC), uow.principal.actor
    if existing is None:
        created = await PriorityList.create(
            code=code,
            name=name,
            effective_from=effective_from,
            source_note=source_note,
            document=document,
            is_reference_selection=False,
            confirmed_at=now,
            confirmed_by=actor,
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
        and existing.code == code
        and existing.document == document
        and existing.confirmed
        and not existing.is_reference_selection
    ):
        return _ListChange(existing, before=None, unchanged=True)
    before = {
        "code": existing.code,
        "name": existing.name,
        "effective_from": existing.effective_from.isoformat(),
        "source_note": existing.source_note,
        "document": existing.document,
        "is_reference_selection": existing.is_reference_selection,
        "confirmed_at": _iso(existing.confirmed_at),
        "confirmed_by": existing.confirmed_by,
        "entries": len(old_content),
    }
    await uow.conn.execute_query("DELETE FROM priority_list_entry WHERE priority_list_id = $1", [existing.id])
    existing.code = code
    existing.name = name
    existing.source_note = source_note
    existing.document = document
    existing.is_reference_selection = False
    existing.confirmed_at = now
    existing.confirmed_by = actor
    await existing.save(
        using_db=uow.conn,
        update_fields=[
            "code",
            "name",
            "source_note",
            "document",
            "is_reference_selection",
            "confirmed_at",
            "confirmed_by",
        ],
    )
    return _ListChange(existing, before=before, unchanged=False)


async def import_priority_list(
    principal: Principal,
    source: Path | bytes,
    file_name: str,
    *,
    name: str,
    effective_from: dt.date,
    source_note: str = "",
    code: str | None = None,
    document: str = "",
) -> PriorityListImportReport:
    """Load a published priority list from a CSV or XLSX file of codes.

    Every bad row (malformed, unknown, missing or repeated code) is reported at once and
    nothing is written. A list with the same ``effective_from`` is replaced (its entries
    deleted and the new ones inserted, in one transaction); a later date supersedes the
    earlier lists from that day on. The bureau publishes what it loads: the list is
    confirmed (now, by ``principal``), under ``document`` when given. ``code`` (default:
    a replaced bureau list's own, else ``list-<effective_from>``) must be no other list's.
    """
    name = _checked_name(name)
    checked_code = _checked_code(code) if code is not None else None
    document = _checked_document(document, required=False)
    parsed, sha256 = await asyncio.to_thread(_read_list_file, source, file_name)
    column = _check_header(parsed, file_name)
    async with unit_of_work(principal) as uow:
        await queries.lock_reference(uow.conn)
        await _check_entries(uow, parsed, file_name, column)
        entries = parsed.entries
        change = await _replace_or_create(
            uow,
            code=checked_code,
            name=name,
            effective_from=effective_from,
            source_note=source_note,
            document=document,
            entries=entries,
        )
        report = PriorityListImportReport(
            list_id=change.priority_list.id,
            name=name,
            effective_from=effective_from,
            entries=len(entries),
            replaced=change.before is not None,
            unchanged=change.unchanged,
            file_sha256=sha256,
            code=change.priority_list.code,
            document=document,
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
                "code": change.priority_list.code,
                "name": name,
                "effective_from": effective_from.isoformat(),
                "source_note": source_note,
                "document": document,
                "is_reference_selection": False,
                "confirmed_at": _iso(change.priority_list.confirmed_at),
                "confirmed_by": change.priority_list.confirmed_by,
                "entries": len(entries),
                "file_name": file_name,
                "file_sha256": sha256,
            },
        )
    return report


KNOWN_CODES_NAMED = 10
"""How many codes (the latest lists') a refusal of an unknown code names."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------------------
# Confirming a list (the shipped reference selection, by the bureau)
# ---------------------------------------------------------------------------


async def confirm_priority_list(
    principal: Principal, code: str, *, document: str
) -> PriorityListConfirmReport:
    """The bureau confirms the list of ``code`` as published under ``document``: records the
    document, the time and who (``principal``), with a ``priority_list.confirm`` audit event.

    Meant for the shipped reference selection (a list the bureau loads is confirmed at load;
    confirming one again records its document). An unknown code is refused naming it (and
    the codes there are), a blank document too. Confirming again under the same document
    changes nothing and records no event.
    """
    document = _checked_document(document, required=True)
    code = code.strip()
    async with unit_of_work(principal) as uow:
        await queries.lock_reference(uow.conn)
        found = await PriorityList.filter(code=code).using_db(uow.conn).select_for_update().first()
        if found is None:
            known = (
                await PriorityList.all()
                .using_db(uow.conn)
                .order_by("-effective_from")
                .limit(KNOWN_CODES_NAMED)
                .values_list("code", flat=True)
            )
            raise NotFound(
                f"no priority list has the code {code!r}"
                + (
                    f" (the latest lists: {', '.join(str(k) for k in known)})"
                    if known
                    else " (no list is loaded)"
                ),
                code="unknown_priority_list",
            )
        unchanged = found.confirmed and found.document == document
        if not unchanged:
            before = {
                "document": found.document,
                "confirmed_at": _iso(found.confirmed_at),
                "confirmed_by": found.confirmed_by,
            }
            found.document = document
            found.confirmed_at = dt.datetime.now(dt.UTC)
            found.confirmed_by = principal.actor
            await found.save(using_db=uow.conn, update_fields=["document", "confirmed_at", "confirmed_by"])
            await uow.audit(
                "priority_list.confirm",
                "priority_list",
                found.id,
                before=before,
                after={
                    "code": found.code,
                    "name": found.name,
                    "effective_from": found.effective_from.isoformat(),
                    "is_reference_selection": found.is_reference_selection,
                    "document": document,
                    "confirmed_at": _iso(found.confirmed_at),
                    "confirmed_by": found.confirmed_by,
                },
            )
        assert found.confirmed_at is not None and found.confirmed_by is not None
        return PriorityListConfirmReport(
            list_id=found.id,
            code=found.code,
            name=found.name,
            effective_from=found.effective_from,
            document=found.document,
            reference_selection=found.is_reference_selection,
            confirmed_at=found.confirmed_at,
            confirmed_by=found.confirmed_by,
            unchanged=unchanged,
        )


async def divisions() -> list[queries.DivisionItem]:
    """Every division, administrative ones first (what a page's county list shows)."""
    return await queries.list_divisions()


_DIVISION_NAMES: dict[str, str] = {}
"""Kept per process: the divisions change only by ``registry load-reference``."""


async def division_name(code: str) -> str:
    """A division's name (the code itself for one the catalogue does not know)."""
    if code not in _DIVISION_NAMES:
        _DIVISION_NAMES.update({d.code: d.name for d in await queries.list_divisions()})
    return _DIVISION_NAMES.get(code, code)
