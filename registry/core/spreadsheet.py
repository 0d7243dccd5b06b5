"""Writing cells of the workbooks the registry produces: text stays text (issue 15, item 15).

openpyxl guesses a cell's type from its value: a string starting with ``=`` becomes a
formula (``<f>`` in the sheet's XML, so ``=HYPERLINK("http://…","审核通过")`` in a decision
reason would be a live link in the auditors' export), and one equal to an error code
(``#N/A``) becomes an error cell. A leading apostrophe is not how XLSX marks text: it would
be part of the value. Here every string is written as a string (``data_type = "s"``: openpyxl
writes ``t="inlineStr"``, the text unchanged), and one that a spreadsheet would take for a
formula when someone edits the cell (starting with ``= + - @``, their full-width forms, a tab
or a carriage return: OWASP's list) also gets the ``quotePrefix`` style, which is what Excel
stores when a user types ``'=...``: the cell shows and keeps the text on editing.

Characters XML cannot hold (control characters other than tab, newline and carriage return)
are dropped: openpyxl would refuse the whole workbook for one of them.

Every workbook writer (the claim export and the public notice, the quarterly report, the
refused rows of a roster import) writes its cells through :func:`text_cell` or
:func:`put`, headers and headings included.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""First characters that make a spreadsheet read typed-in text as a formula."""


def cell_value(value: Any) -> Any:
    """``value`` as a cell can hold it: a string without the characters XML refuses."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def keep_text(cell: Any) -> Any:
    """Make a cell holding a string a text cell (never a formula or an error); the cell."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell


def text_cell(sheet: Any, value: Any) -> Any:
    """A cell of a write-only ``sheet`` (``sheet.append([...])``) holding ``value``: a string
    as text, anything else (a number, a date) as it is; ``None`` (an empty cell) stays None."""
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    return keep_text(WriteOnlyCell(sheet, value=cell_value(value)))


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write ``value`` into a cell of an ordinary worksheet (a string as text); the cell."""
    cell = sheet.cell(row=row, column=column)
    cell.value = cell_value(value)
    return keep_text(cell)
