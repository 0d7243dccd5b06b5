"""The quarterly report's workbook: plain sheets in, XLSX bytes out (no database).

Each data sheet has a title line (row 1), a header row of Chinese headers (row 2, bold,
wrapped), the data from row 3, panes frozen below the header and right of the name
columns, and column widths from the widest text (a CJK character counts two). Numbers are
numbers, never text: people, person-times and sessions ``#,##0``; money is fen in the
registry and yuan here (``#,##0.00``); completion rates a fraction shown ``0.00%``.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from registry.core.spreadsheet import put

TEXT, COUNT, YUAN, RATE = "text", "count", "yuan", "rate"
FORMATS = {COUNT: "#,##0", YUAN: "#,##0.00", RATE: "0.00%"}
HEADER_ROW = 2
"""The row of the headers; the data start on the next one."""
MIN_WIDTH, MAX_WIDTH = 8, 48


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = COUNT
    """text, count (people, person-times, sessions), yuan (the value is fen) or rate."""


@dataclass(frozen=True)
class Sheet:
    title: str
    heading: str
    """The line above the headers (what the sheet is, the period, the scope)."""
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    frozen_columns: int = 2
    """Columns kept in view when scrolling right (the code and the name)."""
    notes: Sequence[str] = field(default=())
    """Lines under the data (how the figures are counted)."""


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def rate(value: int, target: int | None) -> float | None:
    """The completion rate (0.5 = 50%); None without a target (or a zero one)."""
    if not target:
        return None
    return value / target


def text_width(value: object) -> int:
    """How many columns of a sheet ``value`` needs (East Asian wide characters count two)."""
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == YUAN:
        return f"{yuan(int(value)):,}"
    if kind == RATE:
        return f"{float(value):.2%}"
    if kind == COUNT:
        return f"{int(value):,}"
    return str(value)


def column_widths(sheet: Sheet) -> list[int]:
    widths = []
    for index, column in enumerate(sheet.columns):
        texts = [column.header, *(_shown(row[index], column.kind) for row in sheet.rows)]
        widest = max(text_width(t) for t in texts)
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, widest + 2)))
    return widths


def workbook(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for spec in sheets:
        ws = book.create_sheet(title=spec.title)
        put(ws, 1, 1, spec.heading).font = Font(bold=True, size=13)
        for index, column in enumerate(spec.columns, start=1):
            cell = put(ws, HEADER_ROW, index, column.header)
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r, row in enumerate(spec.rows, start=HEADER_ROW + 1):
            for index, (column, value) in enumerate(zip(spec.columns, row, strict=True), start=1):
                if value is None:
                    continue
                if column.kind == YUAN:
                    value = yuan(int(value))
                cell = put(ws, r, index, value)
                if column.kind in FORMATS:
                    cell.number_format = FORMATS[column.kind]
        after = HEADER_ROW + len(spec.rows) + 2
        for offset, note in enumerate(spec.notes):
            put(ws, after + offset, 1, note)
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=spec.frozen_columns + 1)
        for index, width in enumerate(column_widths(spec), start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.row_dimensions[HEADER_ROW].height = 32
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
