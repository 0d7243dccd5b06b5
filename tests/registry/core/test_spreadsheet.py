"""``registry.core.spreadsheet``: every workbook the registry writes stores the text people
wrote as text, never as a formula (issue 15, item 15). Each writer's file is read back with
openpyxl (the cell's type and value) and its sheet XML is searched for a formula element."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from registry.core.spreadsheet import FORMULA_STARTS, put, text_cell
from registry.notices.export import claim_workbook, notice_workbook
from registry.reports.workbook import TEXT, YUAN, Column, Sheet, workbook
from registry.training.roster.refused import build_refused_xlsx

HOSTILE = [
    '=HYPERLINK("http://evil.example/x","审核通过")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "#N/A",  # an error code openpyxl would write as an error cell
]


def cells(data: bytes) -> list[Any]:
    """Every non-empty cell of every sheet, read back."""
    book = load_workbook(io.BytesIO(data))
    return [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def no_formula_in_xml(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode()
                assert not re.search(r"<f[ >]", xml), (name, xml[:2000])


def read_back(text: str) -> str:
    """``text`` as an XML reader gives it back: a carriage return is a line feed (XML 1.0
    section 2.11), as in any workbook openpyxl writes."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def assert_text(data: bytes, texts: list[str]) -> None:
    """Each of ``texts`` is in the workbook, unchanged, as a text cell (not a formula or an
    error), and no sheet holds a formula element at all."""
    no_formula_in_xml(data)
    found = {cell.value: cell for cell in cells(data)}
    for text in texts:
        assert read_back(text) in found, (text, list(found))
        cell = found[read_back(text)]
        assert cell.data_type == "s", (text, cell.data_type)
        assert cell.data_type != "f"
        assert cell.quotePrefix == text.startswith(FORMULA_STARTS), text


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_of_either_kind_of_sheet_is_text(text: str) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    sheet.append([text_cell(sheet, text), text_cell(sheet, 12), text_cell(sheet, None)])
    out = io.BytesIO()
    book.save(out)
    assert_text(out.getvalue(), [text])
    assert [c.value for c in cells(out.getvalue())] == [read_back(text), 12]

    plain = Workbook()
    ws = plain.active
    assert ws is not None
    put(ws, 1, 1, text)
    put(ws, 1, 2, Decimal("1.50"))
    out = io.BytesIO()
    plain.save(out)
    assert_text(out.getvalue(), [text])
    assert cells(out.getvalue())[1].data_type == "n"


def test_characters_xml_cannot_hold_are_dropped_not_a_500() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    sheet.append([text_cell(sheet, "审核\x01通过\x1b"), text_cell(sheet, "two\nlines\tand a tab")])
    out = io.BytesIO()
    book.save(out)
    assert [c.value for c in cells(out.getvalue())] == ["审核通过", "two\nlines\tand a tab"]


def test_numbers_and_dates_keep_their_types() -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    sheet.append([text_cell(sheet, v) for v in (3, 2.5, Decimal("10.00"), dt.date(2025, 6, 1), True)])
    out = io.BytesIO()
    book.save(out)
    assert [c.data_type for c in cells(out.getvalue())] == ["n", "n", "n", "d", "b"]


def line(reason: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "seq": 1,
        "name": "张三",
        "id_masked": "410305********1234",
        "subject": "无人机驾驶员",
        "level": 5,
        "certificate_number": "=CERT()",
        "base_fen": 104000,
        "uplift_fen": 0,
        "total_fen": 104000,
        "flags": [],
        "decision": "rejected",
        "reason": reason,
    }
    data.update(overrides)
    return data


def test_the_claim_export() -> None:
    heading = ['补贴申请 =HYPERLINK("http://x") 第一期', "@机构 · 状态 decided · 政策 henan-2022"]
    data = claim_workbook(heading, [line(text, seq=i) for i, text in enumerate(HOSTILE, start=1)])
    assert_text(data, [*HOSTILE, "=CERT()", "@机构 · 状态 decided · 政策 henan-2022"])
    money = [c for c in cells(data) if c.value == 1040]
    assert money and all(c.data_type == "n" for c in money)


def test_the_public_notice() -> None:
    person = SimpleNamespace(
        seq=1,
        name="张*",
        id_number="410305********1234",
        subject="-无人机驾驶员",
        level=5,
        certificate_number="+CERT1",
        total_fen=104000,
    )
    data = notice_workbook(["职业技能培训补贴公示", "=机构 · =班级 · 涧西区"], [person])
    assert_text(data, ["-无人机驾驶员", "+CERT1", "=机构 · =班级 · 涧西区"])


def test_the_quarterly_report() -> None:
    sheet = Sheet(
        title="培训",
        heading="=标题",
        columns=[Column("县区", TEXT), Column("名称", TEXT), Column("金额", YUAN)],
        rows=[["410305", text, 12345] for text in HOSTILE],
        notes=["@说明"],
    )
    data = workbook([sheet])
    assert_text(data, [*HOSTILE, "=标题", "@说明"])
    yuan = [c for c in cells(data) if c.value == 123.45]
    assert len(yuan) == len(HOSTILE) and all(c.data_type == "n" for c in yuan)


def test_the_refused_rows_of_a_roster() -> None:
    header = ["姓名", "身份证号", "=备注"]
    rows = [(3, ["=cmd|' /C calc'!A0", "410305199001011234", text]) for text in HOSTILE[:1]]
    rows += [(4 + i, ["李四", "-1", text]) for i, text in enumerate(HOSTILE[1:])]
    data = build_refused_xlsx(header, rows, {3: ["=错误"]})
    assert_text(data, [*HOSTILE, "=cmd|' /C calc'!A0", "410305199001011234", "=备注", "=错误", "-1"])
