from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from registry.core.errors import ValidationFailed
from registry.core.tabular import decode_csv, file_kind, is_blank, iter_csv, iter_table, iter_xlsx


def _xlsx(rows: list[list[object]], *, start: str | None = None, second_sheet: bool = False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if start is not None:  # move everything so the first rows/columns are empty
        sheet.move_range(f"A1:{chr(64 + max(len(r) for r in rows))}{len(rows)}", rows=2, cols=1)
    if second_sheet:
        workbook.create_sheet("other").append(["not read"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.csv", "csv"), ("A.CSV", "csv"), ("a.txt", "csv"), ("花名册.xlsx", "xlsx"), ("a.XLSM", "xlsx")],
)
def test_file_kind(name: str, kind: str) -> None:
    assert file_kind(name) == kind


@pytest.mark.parametrize("name", ["a.xls", "a.et", "a.pdf", "a", "a.docx"])
def test_file_kind_refuses(name: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        file_kind(name)
    assert info.value.code == "unsupported_file_type"


def test_old_xls_gets_a_save_as_hint() -> None:
    with pytest.raises(ValidationFailed, match="xlsx"):
        file_kind("花名册.xls")


def test_decode_csv_encodings() -> None:
    text = "姓名,身份证号\n张三,410302\n"
    assert decode_csv(text.encode("utf-8")) == text
    assert decode_csv(text.encode("utf-8-sig")) == text
    assert decode_csv(text.encode("gbk")) == text
    assert decode_csv(text.encode("gb18030")) == text
    assert decode_csv(text.encode("utf-16")) == text


def test_decode_csv_refuses_binary() -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_csv(b"\xff\xff\xff\x80\x81")
    assert info.value.code == "bad_encoding"


def test_gbk_csv_rows() -> None:
    data = (
        '姓名,身份证号,户籍县区\r\n张三,41030219900101123X,涧西区\r\n,,\r\n李四,"4103 02",偃师区\r\n'.encode(
            "gbk"
        )
    )
    rows = list(iter_csv(data))
    assert rows == [
        (1, ["姓名", "身份证号", "户籍县区"]),
        (2, ["张三", "41030219900101123X", "涧西区"]),
        (3, [None, None, None]),
        (4, ["李四", "4103 02", "偃师区"]),
    ]


def test_csv_tab_separated_utf16_from_excel_unicode_text() -> None:
    data = "姓名\t身份证号\r\n张三\t410302\r\n".encode("utf-16")
    assert list(iter_csv(data)) == [(1, ["姓名", "身份证号"]), (2, ["张三", "410302"])]


def test_csv_multiline_cell_counts_as_one_row_as_in_a_spreadsheet() -> None:
    data = b'a,b\n"x\ny",z\nlast,row\n'
    assert list(iter_csv(data)) == [(1, ["a", "b"]), (2, ["x\ny", "z"]), (3, ["last", "row"])]


def test_csv_cells_stay_text() -> None:
    data = b"id\n4.10302E+17\n410302199001011000\n"
    assert [cells for _, cells in iter_csv(data)] == [["id"], ["4.10302E+17"], ["410302199001011000"]]


def test_xlsx_sent_as_csv_is_refused_clearly() -> None:
    with pytest.raises(ValidationFailed) as info:
        list(iter_table(_xlsx([["a"]]), "roster.csv"))
    assert info.value.code == "bad_csv"


def test_csv_with_a_huge_cell_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as info:
        list(iter_csv(b'a,b\n"' + b"x" * 200_000 + b'",z\n'))
    assert info.value.code == "bad_csv"


@pytest.mark.parametrize("streaming", [False, True])
def test_xlsx_types_are_kept(streaming: bool) -> None:
    data = _xlsx(
        [
            ["2025年洛阳市职业技能培训花名册"],
            [],
            ["姓名", "身份证号", "学时", "日期", "手机"],
            ["张三", 4.10302199001011e17, 40, datetime(2025, 3, 1), 13812345678],
            ["李四", "41030219900101123X", 40.5, None, "13812345678"],
        ]
    )
    rows = list(iter_xlsx(data, streaming=streaming))
    numbers = [number for number, _ in rows]
    assert numbers[0] == 1 and numbers[-2:] == [4, 5]
    by_number = dict(rows)
    assert by_number[1][0] == "2025年洛阳市职业技能培训花名册"
    assert by_number[3][:5] == ["姓名", "身份证号", "学时", "日期", "手机"]
    zhang = by_number[4]
    assert zhang[0] == "张三"
    assert isinstance(zhang[1], float | int) and not isinstance(zhang[1], bool)
    assert zhang[2] == 40 and isinstance(zhang[2], int)
    assert zhang[3] in (datetime(2025, 3, 1), date(2025, 3, 1))
    assert zhang[4] == 13812345678
    li = by_number[5]
    assert li[1] == "41030219900101123X"
    assert li[2] == 40.5
    assert li[3] is None


@pytest.mark.parametrize("streaming", [False, True])
def test_xlsx_keeps_column_positions_and_row_numbers_when_the_sheet_starts_late(streaming: bool) -> None:
    data = _xlsx([["姓名", "身份证号"], ["张三", "x"]], start="B3", second_sheet=True)
    rows = [(number, cells) for number, cells in iter_xlsx(data, streaming=streaming) if not is_blank(cells)]
    assert rows == [(3, [None, "姓名", "身份证号"]), (4, [None, "张三", "x"])]


def test_iter_table_reads_xlsx_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_bytes(_xlsx([["姓名"], ["张三"]]))
    assert list(iter_table(path, path.name)) == [(1, ["姓名"]), (2, ["张三"])]


def test_iter_table_reads_csv_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("姓名\n张三\n".encode("gbk"))
    assert list(iter_table(path, path.name)) == [(1, ["姓名"]), (2, ["张三"])]


@pytest.mark.parametrize(
    "data", [b"not a workbook", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xx"]
)
def test_unreadable_xlsx_is_a_validation_error(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as info:
        list(iter_table(data, "roster.xlsx"))
    assert info.value.code in {"bad_xlsx", "unsupported_file_type"}


def test_is_blank() -> None:
    assert is_blank([])
    assert is_blank([None, "", "  ", "\u3000"])
    assert not is_blank([None, 0])
    assert not is_blank(["x"])
