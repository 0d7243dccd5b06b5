"""Uploads cannot take the server down: archive bounds checked before reading, long cells
and endless rows refused, and parsing off the event loop (issue 7, section 1)."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile

import pytest

from registry.core import tabular
from registry.core.errors import ValidationFailed
from registry.core.offload import run_off_loop
from registry.training.roster.service import parse_file
from tests.factories import SHEET, small_workbook, with_sheet


def refused(data: bytes, name: str = "r.xlsx") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        list(tabular.iter_table(data, name))
    return caught.value


def test_a_sheet_that_inflates_beyond_the_limit_is_refused_naming_it() -> None:
    bomb = with_sheet(repeat=40_000_000)  # 240 MB of <row/> in about 250 KB
    assert len(bomb) < 2 * 1024 * 1024
    error = refused(bomb)
    assert error.code == "file_too_large"
    assert "200 MB" in error.message and "uncompressed" in error.message


def test_a_member_compressed_too_well_is_refused_as_a_zip_bomb() -> None:
    bomb = with_sheet(repeat=2_000_000)  # 12 MB of <row/>: under the size limit, but 1000:1
    error = refused(bomb)
    assert error.code == "file_too_large" and "zip bomb" in error.message and SHEET in error.message


def test_a_member_whose_header_understates_its_size_is_refused() -> None:
    source = zipfile.ZipFile(io.BytesIO(small_workbook()))
    out = io.BytesIO()
    sheet = b'<?xml version="1.0"?><worksheet><sheetData>' + b"<row/>" * 50_000 + b"</sheetData></worksheet>"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, sheet if info.filename == SHEET else source.read(info))
    data = bytearray(out.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET)
    # The sizes as a lying archive would declare them, in the local header and the directory.
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    name = SHEET.encode()
    central = next(
        i
        for i in range(len(data))
        if data[i : i + 4] == b"PK\x01\x02" and data[i + 46 : i + 46 + len(name)] == name
    )
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET).file_size == 100
    error = refused(bytes(data))
    assert error.code == "bad_xlsx"


def test_a_cell_longer_than_the_limit_is_refused_naming_row_and_column() -> None:
    csv = ("姓名,身份证号\r\n张三," + "1" * (tabular.MAX_CELL_CHARS + 1) + "\r\n").encode()
    error = refused(csv, "r.csv")
    assert error.code == "cell_too_long"
    assert [(e.row, e.column) for e in error.errors] == [(2, "B")]


def test_a_normal_workbook_still_reads() -> None:
    assert list(tabular.iter_table(small_workbook(), "r.xlsx")) == [(1, ["姓名", "身份证号"])]


async def test_parsing_a_large_file_does_not_hold_up_the_event_loop() -> None:
    """A 300,000-row CSV (refused: too many rows) parsed while a ticker runs on the loop: the
    ticker is never held up for long (parsed on the loop, it stalled for seconds)."""
    rows = "".join(f"张三,41030219900101{i % 1000:03d}X\r\n" for i in range(300_000))
    data = ("姓名,身份证号\r\n" + rows).encode()
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        with pytest.raises(ValidationFailed) as caught:
            await run_off_loop(len(data), parse_file, data, "big.csv", {}, max_rows=200_000)
    finally:
        done.set()
        await tick
    # The error came back from the parsing process whole: its code and message.
    assert caught.value.code == "too_many_rows" and "200000" in caught.value.message.replace(",", "")
    assert max(gaps) < 1.0, f"the event loop was held up for {max(gaps):.2f} s"
