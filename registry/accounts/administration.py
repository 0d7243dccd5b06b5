"""The bureau's files, loaded by an administrator through the workbench: the priority-trade
list, the targets, a year of the working-day calendar and a subsidy policy, with the same
loaders the CLI commands use (``registry priority-list load``, ``registry load-targets``,
``registry calendar load``, ``registry load-policy``), and the priority-trade list's
confirmation (``registry priority-list confirm``).

Only an administrator sees or loads them; anyone else gets :class:`NotFound` (the pages answer
404, as for everything out of scope). Each loader reports every bad row with its row and
column (or key) and loads nothing then (:class:`ValidationFailed`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry.core.errors import FieldError, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.enums import Role
from registry.models.progress import Target
from registry.models.reference import PriorityList
from registry.notices import calendar
from registry.notices.queries import YearRow
from registry.progress.targets import load_targets_file
from registry.reference.service import confirm_priority_list, import_priority_list
from registry.subsidy import queries as policy_queries
from registry.subsidy.queries import PolicyRow
from registry.subsidy.service import load_policy

SHOWN = 12
"""The latest lists, years and policies the page shows."""
MAX_FILE_BYTES = 10 * 1024 * 1024


class BureauFile(StrEnum):
    PRIORITY_LIST = "priority_list"
    TARGETS = "targets"
    CALENDAR = "calendar"
    POLICY = "policy"


@dataclass(frozen=True)
class BureauFiles:
    """What is loaded now: the latest priority-trade lists (confirmed or not), the calendar's
    latest years, the policies, the years with targets."""

    priority_lists: list[PriorityList]
    calendar_years: list[YearRow]
    policies: list[PolicyRow]
    target_years: list[int]


@dataclass(frozen=True)
class FileOptions:
    """What a file needs beside its content: a priority list its name, effective date and
    (optionally) code, document and source note; targets (optionally) the year of rows
    without one and a source note; a calendar (optionally) its year."""

    name: str = ""
    effective_from: dt.date | None = None
    code: str | None = None
    document: str = ""
    source_note: str = ""
    year: int | None = None


def _administrators_only(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise NotFound("no such page")


async def bureau_files(principal: Principal) -> BureauFiles:
    _administrators_only(principal)
    years = await calendar.calendar_years()
    targets = await Target.all().distinct().order_by("-year").values_list("year", flat=True)
    return BureauFiles(
        priority_lists=await PriorityList.all().order_by("-effective_from").limit(SHOWN),
        calendar_years=sorted(years, key=lambda row: row.year, reverse=True)[:SHOWN],
        policies=sorted(await policy_queries.all_policies(), key=lambda p: p.effective_from, reverse=True),
        target_years=[int(y) for y in targets][:SHOWN],  # type: ignore[call-overload]
    )


def _text(content: bytes, file_name: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"{file_name}: not UTF-8 text",
            code="not_utf8",
            errors=[FieldError("file", "not_utf8", "the file is not UTF-8 text")],
        ) from None


async def load_bureau_file(
    principal: Principal, kind: BureauFile, content: bytes, file_name: str, options: FileOptions
) -> Any:
    """Load one of the bureau's files; the loader's report (see each loader), or
    :class:`ValidationFailed` naming every problem (row, column) with nothing loaded."""
    _administrators_only(principal)
    file_name = file_name.strip() or "file"
    if not content:
        raise ValidationFailed(
            "choose a file", errors=[FieldError("file", "empty_file", "the file is empty or missing")]
        )
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(
            "the file is too large", errors=[FieldError("file", "too_large", "at most 10 MB")]
        )
    if kind is BureauFile.PRIORITY_LIST:
        if options.effective_from is None:
            raise ValidationFailed(
                "give the date the list takes effect",
                errors=[FieldError("effective_from", "required", "the date the list takes effect")],
            )
        return await import_priority_list(
            principal,
            content,
            file_name,
            name=options.name,
            effective_from=options.effective_from,
            source_note=options.source_note,
            code=options.code or None,
            document=options.document,
        )
    if kind is BureauFile.TARGETS:
        return await load_targets_file(
            principal, content, file_name, year=options.year, source_note=options.source_note
        )
    if kind is BureauFile.CALENDAR:
        return await calendar.load_calendar_year(
            principal, _text(content, file_name), file_name, year=options.year
        )
    return await load_policy(principal, _text(content, file_name), file_name)


async def confirm_list(principal: Principal, code: str, document: str) -> Any:
    """The bureau confirms a priority-trade list (the shipped reference selection) as
    published under ``document`` (:func:`registry.reference.service.confirm_priority_list`)."""
    _administrators_only(principal)
    return await confirm_priority_list(principal, code, document=document)
