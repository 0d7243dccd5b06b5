"""Reading the table files people send: CSV (UTF-8, GBK or UTF-16) and XLSX, row by row.

Rows come back as ``(row_number, cells)`` where ``row_number`` is the row as the
spreadsheet shows it (1-based) and every cell is the raw value (``str``, ``int``,
``float``, ``datetime``/``date``, ``bool`` or ``None``; an empty cell is ``None``), so a
caller can tell a number that a spreadsheet made out of an ID from real text. Column
positions are kept: cell ``i`` is column ``i`` of the sheet (A = 0), even when the
first columns are empty. Rows may have different lengths.

XLSX: python-calamine (Rust) reads a worksheet about 15x faster than openpyxl, but it
holds the whole sheet in memory (about 1.7 bytes of RSS per byte of uncompressed sheet
XML). A workbook whose sheet data is larger than ``CALAMINE_MAX_XML_BYTES`` uncompressed is
read by openpyxl in read-only (streaming) mode instead, whose memory does not grow with
the file. Measured on a 2-core machine, 100,000 rows x 9 columns: calamine 1.0 s and
100 MB peak RSS, openpyxl 17 s and 37 MB.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry.core.errors import ValidationFailed

Cell = Any
Row = tuple[int, list[Cell]]

CALAMINE_MAX_XML_BYTES = 100 * 1024 * 1024
"""Uncompressed worksheet + shared-string XML above which XLSX files are streamed by openpyxl."""

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary .xls (and other OLE documents)


def file_kind(file_name: str) -> str:
    """``"csv"`` or ``"xlsx"`` from the file name's extension; anything else is refused."""
    lower = file_name.lower().strip()
    if lower.endswith(".csv") or lower.endswith(".txt"):
        return "csv"
    if lower.endswith(".xlsx") or lower.endswith(".xlsm"):
        return "xlsx"
    if lower.endswith(".xls") or lower.endswith(".et") or lower.endswith(".wps"):
        raise ValidationFailed(
            f"{file_name}: old Excel/WPS workbooks are not supported; save the file as .xlsx "
            "(Excel 2007 or later) or as CSV",
            code="unsupported_file_type",
        )
    raise ValidationFailed(
        f"{file_name}: unsupported file type; send a .csv or .xlsx file", code="unsupported_file_type"
    )


def decode_csv(data: bytes) -> str:
    """Text of a CSV file.

    UTF-16 when the file starts with its byte-order mark (Excel's "Unicode text"), then UTF-8
    (with or without BOM), then GB18030 (a superset of GBK, the encoding Excel and WPS use on
    Chinese Windows).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("the CSV file is neither UTF-8 nor GBK text", code="bad_encoding")


def _delimiter(text: str) -> str:
    """Comma, unless the first line is clearly tab- or semicolon-separated."""
    first_line = text.split("\n", 1)[0]
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def iter_csv(data: bytes) -> Iterator[Row]:
    if data.startswith(_ZIP_MAGIC):
        raise ValidationFailed(
            "this file is an Excel workbook, not CSV text; send it with the .xlsx extension", code="bad_csv"
        )
    if data.startswith(_OLE_MAGIC):
        raise ValidationFailed(
            "this file is an old Excel workbook, not CSV text; save it as .xlsx or CSV", code="bad_csv"
        )
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    number = 0  # the record number, which is the row number a spreadsheet shows
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [cell if cell != "" else None for cell in cells]
    except csv.Error as exc:
        raise ValidationFailed(
            f"the CSV file cannot be read at row {number + 1}: {exc}", code="bad_csv"
        ) from exc


def _xml_size(handle: Any) -> int | None:
    """Uncompressed size of the worksheets and shared strings, or None if not a zip."""
    try:
        with zipfile.ZipFile(handle) as archive:
            return sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml"
            )
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        if hasattr(handle, "seek"):
            handle.seek(0)


def _bad_xlsx() -> ValidationFailed:
    return ValidationFailed("the file is not a readable XLSX workbook", code="bad_xlsx")


def _calamine_rows(handle: Any) -> Iterator[Row]:
    from python_calamine import CalamineWorkbook

    try:
        if isinstance(handle, Path):
            workbook = CalamineWorkbook.from_path(str(handle))
        else:
            workbook = CalamineWorkbook.from_filelike(handle)
        if not workbook.sheet_names:
            return
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own kinds for a broken workbook
        raise _bad_xlsx() from exc
    try:
        first_row, first_column = sheet.start or (0, 0)
        last_column = (sheet.end or (0, 0))[1]
        # python-calamine yields the empty rows above the data but not always the empty
        # columns left of it (this has changed between versions): tell from what comes.
        row_offset: int | None = None
        for offset, values in enumerate(sheet.iter_rows()):
            if row_offset is None:
                padded = first_row > 0 and all(value == "" for value in values)
                row_offset = 0 if padded or first_row == 0 else first_row
            needs_padding = first_column > 0 and len(values) <= last_column - first_column + 1
            cells: list[Cell] = [None] * first_column if needs_padding else []
            for value in values:
                if value == "":
                    cells.append(None)
                elif type(value) is float and value.is_integer() and abs(value) < 2**53:
                    cells.append(int(value))  # as openpyxl does: 40 not 40.0
                else:
                    cells.append(value)
            yield row_offset + offset + 1, cells
    finally:
        workbook.close()


def _openpyxl_rows(handle: Any) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise _bad_xlsx() from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # Some generators write a wrong <dimension>; without this openpyxl would cut rows short.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [None if value == "" else value for value in values]
    finally:
        workbook.close()


def iter_xlsx(source: Path | bytes, *, streaming: bool | None = None) -> Iterator[Row]:
    """Rows of the first worksheet. ``streaming`` forces (True) or forbids (False) openpyxl's
    read-only mode; by default it is chosen by the workbook's uncompressed size."""
    if isinstance(source, bytes):
        if source.startswith(_OLE_MAGIC):
            raise ValidationFailed(
                "this is an old Excel (.xls) workbook; save it as .xlsx or CSV", code="unsupported_file_type"
            )
        handle: Any = io.BytesIO(source)
    else:
        handle = source
    if streaming is None:
        size = _xml_size(handle)
        if size is None:
            raise _bad_xlsx()
        streaming = size > CALAMINE_MAX_XML_BYTES
    if streaming:
        yield from _openpyxl_rows(handle)
    else:
        yield from _calamine_rows(handle)


def iter_table(source: Path | bytes, file_name: str) -> Iterator[Row]:
    """Rows of a CSV or XLSX file, chosen by the file name's extension."""
    kind = file_kind(file_name)
    if kind == "csv":
        data = source.read_bytes() if isinstance(source, Path) else source
        return iter_csv(data)
    return iter_xlsx(source)


def is_blank(cells: list[Cell]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)
