"""The refused rows of a ``valid_rows`` import: their original cells sealed with the vault
(they hold ID numbers and names), and given back as XLSX with an error column."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

from registry.core.crypto import Vault
from registry.core.spreadsheet import text_cell
from registry.core.tabular import iter_table

REFUSED_ROWS_CONTEXT = "roster_refused_rows"
ERROR_COLUMN = "错误 (error)"


def cells_of(data: bytes, file_name: str, wanted: set[int]) -> dict[int, list[Any]]:
    """A second pass over the file for the cells of a few rows (only when rows are refused
    after parsing, in ``valid_rows`` mode)."""
    found: dict[int, list[Any]] = {}
    if not wanted:
        return found
    for row_number, cells in iter_table(data, file_name):
        if row_number in wanted:
            found[row_number] = cells
            if len(found) == len(wanted):
                break
    return found


def _json_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def seal_cells(vault: Vault, header: list[Any], rows: dict[int, list[Any]]) -> bytes:
    payload = json.dumps(
        {
            "header": [_json_cell(c) for c in header],
            "rows": [[number, [_json_cell(c) for c in cells]] for number, cells in sorted(rows.items())],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return vault.encrypt(payload, context=REFUSED_ROWS_CONTEXT)


def open_cells(vault: Vault, sealed: bytes) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """The header and the ``(row number, cells)`` of sealed refused rows."""
    payload = json.loads(vault.decrypt(sealed, context=REFUSED_ROWS_CONTEXT))
    return payload["header"], [(int(n), c) for n, c in payload["rows"]]


def messages_by_row(errors: list[dict[str, Any]], skip_code: str) -> dict[int, list[str]]:
    """``column: message`` for each refused row, from the stored errors."""
    by_row: dict[int, list[str]] = {}
    for error in errors:
        if error.get("row") is None or error.get("code") == skip_code:
            continue
        where = f"{error['column']}: " if error.get("column") else ""
        by_row.setdefault(int(error["row"]), []).append(where + str(error["message"]))
    return by_row


def build_refused_xlsx(
    header: list[Any], rows: list[tuple[int, list[Any]]], messages: dict[int, list[str]]
) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("refused")
    width = max([len(header), *(len(cells) for _, cells in rows)], default=0)

    def cell(value: Any) -> Any:
        """The file's own cells given back as text (never a formula; ID numbers stay text)."""
        return text_cell(sheet, value)

    sheet.append(
        [
            cell("原行号 (row)"),
            *(cell(h) for h in header),
            *([None] * (width - len(header))),
            cell(ERROR_COLUMN),
        ]
    )
    for number, cells in rows:
        padded = list(cells) + [None] * (width - len(cells))
        sheet.append([cell(number), *(cell(c) for c in padded), cell("; ".join(messages.get(number, [])))])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
