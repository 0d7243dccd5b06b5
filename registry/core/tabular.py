"""Reading the table files people send: CSV (UTF-8, GBK or UTF-16) and XLSX, row by row.

Rows come back as ``(row_number, cells)`` where ``row_number`` is the row as the
spreadsheet shows it (1-based) and every cell is the raw value (``str``, ``int``,
``float``, ``datetime``/``date``, ``bool`` or ``None``; an empty cell is ``None``), so a
caller can tell a number that a spreadsheet made out of an ID from real text. Column
positions are kept: cell ``i`` is column ``i`` of the sheet (A = 0), even when the
first columns are empty. Rows may have different lengths.

Bounds, checked before anything is parsed (an upload must not be able to exhaust the
server): an XLSX archive's members are measured first (each member's and the total
uncompressed size, each large member's compression ratio: a "zip bomb" is refused without
being inflated), then the worksheets are inflated once through Python's zipfile, which
stops at the declared size and checks the CRC, so a member whose header lies is refused
too; every text cell is at most ``MAX_CELL_CHARS`` long (row and column named); a table
yields at most ``MAX_TABLE_ROWS`` rows.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from registry.core.errors import FieldError, ValidationFailed

Cell = Any
Row = tuple[int, list[Cell]]

CALAMINE_MAX_XML_BYTES = 100 * 1024 * 1024
"""Uncompressed worksheet + shared-string XML above which XLSX files are streamed by openpyxl."""

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
"""Largest total uncompressed size of an XLSX archive's members (a 200,000-row roster is ~70 MB)."""
MAX_COMPRESSION_RATIO = 100
"""Largest uncompressed/compressed ratio of a member over ``RATIO_FLOOR_BYTES`` (sheets compress 5-20x)."""
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_MEMBERS = 10_000
MAX_CELL_CHARS = 2_000
"""Longest text in one cell (a name, an address or a note is far shorter)."""
MAX_TABLE_ROWS = 1_000_000
"""Most rows of any kind a table may have (blank rows included); callers bound data rows lower."""

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


def _too_big(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="file_too_large")


def check_archive(handle: Any) -> int:
    """Refuse an XLSX archive that would inflate beyond the bounds; returns the uncompressed
    size of its worksheets and shared strings. ``bad_xlsx`` for what is not a zip archive,
    ``file_too_large`` (naming the limit) for one too large once inflated."""
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise _too_big(f"the workbook holds {len(members):,} parts; at most {MAX_MEMBERS:,}")
            total = sum(info.file_size for info in members)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise _too_big(
                    f"the workbook is {total:,} bytes once uncompressed; the limit is "
                    f"{MAX_UNCOMPRESSED_BYTES:,} ({MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB): split it"
                )
            for info in members:
                if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1
                ):
                    raise _too_big(
                        f"a part of the workbook ({info.filename}) is compressed "
                        f"{info.file_size // max(info.compress_size, 1):,} to 1; at most "
                        f"{MAX_COMPRESSION_RATIO} to 1 is accepted (the file may be a zip bomb)"
                    )
            sheets = [
                info
                for info in members
                if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml"
            ]
            for info in sheets:
                # Inflate once: zipfile stops at the declared size and checks the CRC, so a
                # header that understates a member's size is refused here, not by the reader.
                with archive.open(info) as member:
                    while member.read(1024 * 1024):
                        pass
            return sum(info.file_size for info in sheets)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
    ) as exc:
        raise _bad_xlsx() from exc
    finally:
        if hasattr(handle, "seek"):
            handle.seek(0)


def _bounded(rows: Iterator[Row]) -> Iterator[Row]:
    """The table's rows, refusing a text cell over ``MAX_CELL_CHARS`` (row and column named)
    and a table of more than ``MAX_TABLE_ROWS`` rows."""
    for count, (number, cells) in enumerate(rows, start=1):
        if count > MAX_TABLE_ROWS:
            raise ValidationFailed(
                f"the file has more than {MAX_TABLE_ROWS:,} rows; split it into smaller files",
                code="too_many_rows",
            )
        for index, cell in enumerate(cells):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                column = column_letter(index)
                raise ValidationFailed(
                    f"row {number}, column {column}: a cell holds {len(cell):,} characters; at most "
                    f"{MAX_CELL_CHARS:,}",
                    code="cell_too_long",
                    errors=[
                        FieldError(
                            "file",
                            "cell_too_long",
                            f"at most {MAX_CELL_CHARS:,} characters in a cell",
                            row=number,
                            column=column,
                        )
                    ],
                )
        yield number, cells


def column_letter(index: int) -> str:
    """A spreadsheet's column name for a 0-based index (0 -> A, 26 -> AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


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
    size = check_archive(handle)
    if streaming is None:
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
        return _bounded(iter_csv(data))
    return _bounded(iter_xlsx(source))


def is_blank(cells: Sequence[Cell]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)
