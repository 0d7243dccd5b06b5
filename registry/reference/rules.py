"""Reading a priority-trade list out of a table: pure functions over plain rows.

A list is a table with a header row that names a code column (``code``, ``工种代码``,
``职业编码``, ``代码``...); rows above the header (titles, notes) are skipped, blank rows
are skipped, other columns are ignored except an optional sector column. Every bad row is
reported with its row number and column; the caller writes nothing when any row is bad.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.core.errors import FieldError
from registry.core.tabular import column_letter, is_blank

OCCUPATION_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")
"""A code of the 2022 classification, ``X-XX-XX-XX``; level 4 (细类) is what a list holds."""

SECTOR_MAX_LENGTH = 100
HEADER_SEARCH_ROWS = 30
"""The header row must be among the first rows; anything above it is a title or a note."""

CODE_HEADERS = frozenset(
    {
        "code",
        "occupationcode",
        "occupation_code",
        "代码",
        "编码",
        "编号",
        "工种代码",
        "工种编码",
        "职业代码",
        "职业编码",
        "职业工种代码",
        "职业工种编码",
        "职业分类代码",
        "职业分类编码",
        "细类代码",
        "细类编码",
    }
)
SECTOR_HEADERS = frozenset(
    {"sector", "领域", "产业", "行业", "类别", "所属领域", "所属产业", "所属行业", "产业领域", "重点产业"}
)

LEVEL_NAMES = {1: "大类", 2: "中类", 3: "小类", 4: "细类"}

# Dashes that spreadsheets and input methods put where a hyphen was meant.
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−－﹣"})
_BRACKETS = str.maketrans({c: None for c in "()（）[]【】 \u3000\t"})


def normalise_header(value: Any) -> str:
    if value is None:
        return ""
    return str(value).translate(_BRACKETS).strip().lower()


def normalise_code(value: Any) -> str | None:
    """The code as ``X-XX-XX-XX``, or None when the cell cannot be one (blank is ``""``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        # A number or a date: a spreadsheet made something else out of the cell.
        return None
    text = value.translate(_DASHES).strip().replace(" ", "").replace("\u3000", "")
    if text == "":
        return ""
    return text if OCCUPATION_CODE.match(text) else None


def _cell(cells: Sequence[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else None


@dataclass(frozen=True)
class Header:
    row: int
    code_index: int
    code_label: str
    sector_index: int | None


@dataclass(frozen=True)
class PriorityRow:
    row: int
    code: str
    sector: str


@dataclass
class ParsedList:
    header: Header | None
    entries: list[PriorityRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [entry.code for entry in self.entries]


def find_header(row_number: int, cells: Sequence[Any]) -> Header | None:
    code_index: int | None = None
    sector_index: int | None = None
    for index, cell in enumerate(cells):
        name = normalise_header(cell)
        if code_index is None and name in CODE_HEADERS:
            code_index = index
        elif sector_index is None and name in SECTOR_HEADERS:
            sector_index = index
    if code_index is None:
        return None
    label = str(cells[code_index]).strip() or column_letter(code_index)
    return Header(row=row_number, code_index=code_index, code_label=label, sector_index=sector_index)


def parse_priority_rows(rows: Iterable[tuple[int, Sequence[Any]]]) -> ParsedList:
    """Find the header, then read one code per non-blank row.

    Reports malformed, missing and repeated codes (every later occurrence of a code is an
    error naming the first). Whether a code exists is :func:`unknown_code_errors`' job.
    """
    header: Header | None = None
    parsed = ParsedList(header=None)
    first_row: dict[str, int] = {}
    for row_number, cells in rows:
        if header is None:
            if row_number > HEADER_SEARCH_ROWS:
                break
            header = find_header(row_number, cells)
            parsed.header = header
            continue
        if is_blank(cells):
            continue
        raw = _cell(cells, header.code_index)
        code = normalise_code(raw)
        column = header.code_label
        if code == "":
            parsed.errors.append(
                FieldError(
                    "code", "missing_code", "the row has no occupation code", row=row_number, column=column
                )
            )
            continue
        if code is None:
            parsed.errors.append(
                FieldError(
                    "code",
                    "malformed_code",
                    f"{str(raw).strip()!r} is not an occupation code of the form X-XX-XX-XX",
                    row=row_number,
                    column=column,
                )
            )
            continue
        if code in first_row:
            parsed.errors.append(
                FieldError(
                    "code",
                    "duplicate_code",
                    f"{code} is already on row {first_row[code]}",
                    row=row_number,
                    column=column,
                )
            )
            continue
        first_row[code] = row_number
        sector = ""
        if header.sector_index is not None:
            value = _cell(cells, header.sector_index)
            sector = "" if value is None else str(value).strip()
            if len(sector) > SECTOR_MAX_LENGTH:
                parsed.errors.append(
                    FieldError(
                        "sector",
                        "sector_too_long",
                        f"the sector is longer than {SECTOR_MAX_LENGTH} characters",
                        row=row_number,
                        column=str(cells[header.sector_index]) if header.sector_index < len(cells) else None,
                    )
                )
                continue
        parsed.entries.append(PriorityRow(row=row_number, code=code, sector=sector))
    return parsed


def unknown_code_errors(
    entries: Iterable[PriorityRow], levels: Mapping[str, int], *, column: str | None
) -> list[FieldError]:
    """Errors for codes that are not a level-4 occupation; ``levels`` maps the known codes
    of the classification (any level) to their level."""
    errors: list[FieldError] = []
    for entry in entries:
        level = levels.get(entry.code)
        if level == 4:
            continue
        if level is None:
            message = f"{entry.code} is not in the 2022 occupational classification"
        else:
            message = (
                f"{entry.code} is a {LEVEL_NAMES.get(level, str(level))} (level {level}) of the "
                "classification, not an occupation (细类, level 4)"
            )
        errors.append(FieldError("code", "unknown_code", message, row=entry.row, column=column))
    return errors


def sort_errors(errors: Iterable[FieldError]) -> list[FieldError]:
    return sorted(errors, key=lambda error: (error.row if error.row is not None else -1, error.field))


# --- division names as people write them ---------------------------------------------------

DIVISION_PREFIXES = ("河南省", "洛阳市")
"""Written before a division's name on registers and forms (河南省洛阳市偃师市)."""
_DIVISION_SUFFIXES = ("区", "县", "市")


def division_key(text: str) -> str:
    """A division's name or code as a lookup key: NFKC, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def division_index(lookup: Mapping[str, str]) -> dict[str, str]:
    """``registry.reference.queries.division_lookup``'s names, codes and aliases as lookup keys."""
    return {division_key(key): code for key, code in lookup.items()}


def resolve_division(text: str, index: Mapping[str, str]) -> str | None:
    """Today's code for a division as written (涧西区, 410305, 偃师市, 410381, 瀍河, 嵩,
    河南省洛阳市孟津县), or None. ``index`` is :func:`division_index` of the lookup. A short
    name without its 区/县/市 is accepted only when exactly one division fits."""
    key = division_key(text)
    for prefix in DIVISION_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix) :]
    code = index.get(key)
    if code is not None:
        return code
    candidates = {index[key + suffix] for suffix in _DIVISION_SUFFIXES if key + suffix in index}
    return candidates.pop() if len(candidates) == 1 else None
