from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from registry.core.errors import FieldError, ValidationFailed
from registry.core.tabular import iter_table
from registry.enums import EnrolmentOutcome, PriorityGroup
from registry.people.rules.idnumber import check_digit, make_number
from registry.training.roster.rules import RosterParse, RosterParser, RosterRow, parse_roster

TODAY = date(2025, 6, 1)
DIVISIONS = {
    "老城区": "410302",
    "西工区": "410303",
    "瀍河回族区": "410304",
    "涧西区": "410305",
    "偃师区": "410307",
    "孟津区": "410308",
    "洛龙区": "410311",
    "新安县": "410323",
    "嵩县": "410325",
    **{code: code for code in ("410302", "410303", "410304", "410305", "410307", "410308", "410311")},
}

ZHANG = make_number("410302", date(1990, 1, 1), 123)  # male
LI = make_number("410381", date(1985, 7, 20), 246)  # female, retired 偃师市 code
WANG = make_number("410306", date(2001, 12, 31), 11)  # retired 吉利区 code
ZHAO = make_number("810000", date(1995, 5, 5), 1)  # Hong Kong residence permit


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parse(table: Iterable[tuple[int, list[Any]]], **kwargs: Any) -> RosterParse:
    return parse_roster(table, divisions=DIVISIONS, today=TODAY, **kwargs)


def rows(*lines: list[Any]) -> list[tuple[int, list[Any]]]:
    return [(number, list(cells)) for number, cells in enumerate(lines, start=1)]


def only(errors: list[FieldError], row: int) -> list[FieldError]:
    return [error for error in errors if error.row == row]


def assert_no_id_in(result: RosterParse, *numbers: str) -> None:
    for error in result.errors:
        for number in numbers:
            assert number not in error.message
            assert number[:17] not in error.message


# --- a messy real-world XLSX ----------------------------------------------------------------


def test_messy_xlsx_with_title_rows_odd_header_order_and_blank_rows() -> None:
    data = xlsx(
        [
            ["2025年洛阳市职业技能培训花名册"],
            ["培训机构：洛阳某某职业培训学校", None, None, "班次：2025-001"],
            [],
            [
                "序号",
                "身份证号码",
                "联系电话",
                "姓名",
                "人员类别",
                "户籍所在地",
                "已参训学时",
                "培训结果",
                "备注",
            ],
            [1, ZHANG, "138 1234 5678", "张  三", "农民工、退役军人", "涧西区", 40, "合格", "班长"],
            [2, LI.lower(), 13912345678, "李四", "高校毕业生,脱贫人口", "410307", 38.5, "结业", None],
            [3, None, None, None, None, None, None, None, None],
            [],
            [4, WANG, None, "王五", None, None, None, None, None],
            [5, ZHAO, "+86 137-0000-1111", "赵·六", "graduate；veteran", "偃师区", "32学时", "在训", None],
            [6, None, None, None, None, None, None, None, None],
            ["合计：4人"],
            ["填表人：", None, None, "审核人："],
        ]
    )
    result = parse(iter_table(data, "花名册.xlsx"))
    assert result.errors == []
    assert result.rows_read == 4
    assert any("备注" in note for note in result.notes)
    assert any("footer" in note for note in result.notes)
    assert [row.row_number for row in result.rows] == [5, 6, 9, 10]

    zhang, li, wang, zhao = result.rows
    assert zhang == RosterRow(
        row_number=5,
        name="张三",
        id=zhang.id,
        phone="13812345678",
        household_division="410305",
        groups=(PriorityGroup.MIGRANT_WORKER, PriorityGroup.VETERAN),
        attended_hours=Decimal(40),
        outcome=EnrolmentOutcome.COMPLETED,
        household_as_written="涧西区",
    )
    assert zhang.id.number == ZHANG and zhang.id.sex == "M" and zhang.id.birth_date == date(1990, 1, 1)
    assert li.id.number == LI and li.id.sex == "F" and li.id.address_code == "410381"
    assert li.phone == "13912345678"
    assert li.household_division == "410307"
    assert li.groups == (PriorityGroup.GRADUATE, PriorityGroup.POVERTY_ALLEVIATED)
    assert li.attended_hours == Decimal("38.5")
    assert wang.phone is None and wang.household_division is None and wang.groups == ()
    assert wang.attended_hours is None and wang.outcome is None
    assert zhao.name == "赵·六"
    assert zhao.groups == (PriorityGroup.GRADUATE, PriorityGroup.VETERAN)
    assert zhao.attended_hours == Decimal(32)
    assert zhao.outcome == EnrolmentOutcome.IN_PROGRESS
    assert zhao.household_division == "410307"


def test_numeric_id_cells_from_a_spreadsheet_are_refused_with_a_text_format_hint() -> None:
    data = xlsx(
        [
            ["姓名", "身份证号", "手机号"],
            ["张三", float(ZHANG[:15] + "000"), "13812345678"],
            ["李四", int(LI[:15] + "000"), None],
            ["王五", 410302900101123, None],
            ["赵六", ZHAO, None],
        ]
    )
    result = parse(iter_table(data, "a.xlsx"))
    assert [row.row_number for row in result.rows] == [5]
    assert [(e.row, e.field, e.code, e.column) for e in result.errors] == [
        (2, "id_number", "id_stored_as_number", "身份证号"),
        (3, "id_number", "id_stored_as_number", "身份证号"),
        (4, "id_number", "id_stored_as_number", "身份证号"),
    ]
    assert all("设置为文本格式" in e.message and "身份证号" in e.message for e in result.errors)
    assert result.rows_read == 4


def test_scientific_notation_text_in_a_csv_is_refused_like_a_number() -> None:
    data = f"姓名,身份证号\n张三,4.10302E+17\n李四,{LI}\n".encode("gbk")
    result = parse(iter_table(data, "a.csv"))
    assert [(e.row, e.code, e.column) for e in result.errors] == [(2, "id_stored_as_number", "身份证号")]
    assert [row.id.number for row in result.rows] == [LI]


def test_rounded_18_digit_text_gets_the_checksum_error_with_a_hint() -> None:
    rounded = ZHANG[:15] + "000"
    assert rounded != ZHANG
    result = parse(rows(["姓名", "身份证号"], ["张三", rounded]))
    if result.errors:  # 1 in 11 rounded numbers happen to pass the checksum
        (error,) = result.errors
        assert error.code == "id_checksum"
        assert "文本" in error.message
        assert rounded not in error.message


# --- GBK CSV, English headers -----------------------------------------------------------------


def test_gbk_csv_with_english_headers() -> None:
    text = (
        "No.,id_number,name,phone,household_division,groups,attended_hours,outcome\r\n"
        f"1,{ZHANG},张三,13812345678,410305,migrant_worker,40,completed\r\n"
        f"2,{LI},李四,,洛阳市嵩县,农民工/残疾人,0,withdrawn\r\n"
        f"3,{WANG},王五,,,16-24岁登记失业青年,,failed\r\n"
    )
    result = parse(iter_table(text.encode("gbk"), "roster.csv"))
    assert result.errors == []
    assert result.notes == []
    assert [(r.name, r.household_division, r.groups, r.outcome) for r in result.rows] == [
        ("张三", "410305", (PriorityGroup.MIGRANT_WORKER,), EnrolmentOutcome.COMPLETED),
        (
            "李四",
            "410325",
            (PriorityGroup.MIGRANT_WORKER, PriorityGroup.DISABLED),
            EnrolmentOutcome.WITHDRAWN,
        ),
        ("王五", None, (PriorityGroup.UNEMPLOYED_YOUTH,), EnrolmentOutcome.FAILED),
    ]
    assert result.rows[1].attended_hours == Decimal(0)


def test_headers_with_notes_and_required_marks_are_recognised() -> None:
    result = parse(
        rows(
            ["*姓名", "身份证号(18位)", "手机号码（必填）", "户籍县（区）"],
            ["张三", ZHANG, "13812345678", "涧西"],
        )
    )
    assert result.errors == []
    assert result.rows[0].household_division == "410305"
    assert result.rows[0].phone == "13812345678"


# --- row errors --------------------------------------------------------------------------------


def test_every_row_error_has_row_column_and_code() -> None:
    result = parse(
        rows(
            ["花名册"],
            ["手机", "重点群体", "姓名", "公民身份号码", "户籍县区", "学时", "结果"],
            ["12345", "农民工", "张三", ZHANG, "涧西区", "40", "合格"],  # bad phone
            ["13812345678", "农民工、宇航员", "李四", LI, "涧西区", None, None],  # unknown group
            ["13812345678", None, "王五", WANG, "郑州市金水区", None, None],  # unknown division
            ["13812345678", None, "赵六", ZHAO, None, "-3", None],  # negative hours
            ["13812345678", None, "钱七", make_number("410302", date(1980, 1, 1), 7), None, "很多", None],
            ["13812345678", None, "孙八", make_number("410302", date(1980, 1, 1), 9), None, None, "优秀"],
            ["13812345678", None, "周9", make_number("410302", date(1980, 1, 1), 11), None, None, None],
            ["13812345678", None, None, make_number("410302", date(1980, 1, 1), 13), None, None, None],
            ["13812345678", None, "吴十", None, None, None, None],
            ["13812345678", None, "郑十一", "410302900101123", None, None, None],
            [
                "13812345678",
                None,
                "冯十二",
                ZHANG[:17] + ("1" if ZHANG[17] != "1" else "2"),
                None,
                None,
                None,
            ],
            ["13812345678", None, "陈十三", "41030219900230123X", None, None, None],
            [
                "0379-6123456",
                None,
                "褚十四",
                make_number("410302", date(1980, 1, 1), 15),
                None,
                "100001",
                None,
            ],
        )
    )
    assert result.rows == []
    assert result.rows_read == 13
    got = [(e.row, e.field, e.code, e.column) for e in result.errors]
    assert got == [
        (3, "phone", "phone_format", "手机"),
        (4, "groups", "unknown_group", "重点群体"),
        (5, "household_division", "unknown_division", "户籍县区"),
        (6, "attended_hours", "hours_negative", "学时"),
        (7, "attended_hours", "hours_format", "学时"),
        (8, "outcome", "unknown_outcome", "结果"),
        (9, "name", "name_digits", "姓名"),
        (10, "name", "name_required", "姓名"),
        (11, "id_number", "id_required", "公民身份号码"),
        (12, "id_number", "id_first_generation", "公民身份号码"),
        (13, "id_number", "id_checksum", "公民身份号码"),
        # 41030219900230123X: wrong check character and an impossible date; the checksum comes first.
        (14, "id_number", "id_checksum", "公民身份号码"),
        (15, "phone", "phone_not_mobile", "手机"),
        (15, "attended_hours", "hours_range", "学时"),
    ]
    assert "宇航员" in only(result.errors, 4)[0].message
    assert all(e.message for e in result.errors)
    assert_no_id_in(result, ZHANG, LI, WANG, ZHAO)
    assert result.refused_rows == 13


def test_an_impossible_birth_date_with_a_right_check_digit() -> None:
    first17 = "41030219900230123"
    number = first17 + check_digit(first17)
    result = parse(rows(["姓名", "身份证号"], ["张三", number]))
    assert [(e.row, e.code) for e in result.errors] == [(2, "id_birth_date")]
    assert number not in result.errors[0].message


def test_a_row_with_several_problems_gets_all_of_them() -> None:
    result = parse(rows(["姓名", "身份证号", "手机号", "户籍县区"], ["张3", "123", "1", "火星"]))
    assert [(e.field, e.code) for e in result.errors] == [
        ("name", "name_digits"),
        ("id_number", "id_length"),
        ("phone", "phone_format"),
        ("household_division", "unknown_division"),
    ]
    assert {e.row for e in result.errors} == {2}


def test_duplicates_are_refused_from_the_second_occurrence_naming_the_first_row() -> None:
    result = parse(
        rows(
            ["姓名", "身份证号"],
            ["张三", ZHANG],
            ["李四", LI],
            ["张三", ZHANG.lower()],
            [None, None],
            ["张三", " " + ZHANG[:6] + " " + ZHANG[6:]],
        )
    )
    judged = _judged(result)
    assert [row.row_number for row in judged.to_import] == [2, 3]
    assert [(e.row, e.code, e.column) for e in judged.errors] == [
        (4, "duplicate_in_file", "身份证号"),
        (6, "duplicate_in_file", "身份证号"),
    ]
    assert all("row 2" in e.message for e in judged.errors)
    assert all(ZHANG not in e.message for e in judged.errors)


def test_unknown_groups_none_words_and_duplicates_in_groups() -> None:
    result = parse(
        rows(
            ["姓名", "身份证号", "重点群体"],
            ["张三", ZHANG, "无"],
            ["李四", LI, "农民工、农民工 ; migrant_worker"],
            ["王五", WANG, "  "],
        )
    )
    assert result.errors == []
    assert [row.groups for row in result.rows] == [(), (PriorityGroup.MIGRANT_WORKER,), ()]


def test_rows_with_only_a_serial_number_are_blank() -> None:
    result = parse(rows(["序号", "姓名", "身份证号"], [1, "张三", ZHANG], [2, None, None], [3, "", " "]))
    assert result.rows_read == 1
    assert result.errors == []


def test_unknown_columns_are_one_note_not_errors() -> None:
    result = parse(
        rows(["姓名", "性别", "身份证号", "民族"], ["张三", "男", ZHANG, "汉"], ["李四", "女", LI, "回"])
    )
    assert result.errors == []
    assert result.notes == ["columns ignored: 性别, 民族"]


def test_short_rows_are_padded() -> None:
    result = parse(rows(["姓名", "身份证号", "手机号", "学时"], ["张三", ZHANG]))
    assert result.errors == []
    assert result.rows[0].phone is None


# --- file-level errors -----------------------------------------------------------------------


def test_no_header_names_the_required_columns() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(rows(["花名册"], ["张三", ZHANG], ["名字", "号码"]))
    assert info.value.code == "no_header"
    assert "姓名" in info.value.message and "身份证号" in info.value.message
    assert ZHANG not in info.value.message


def test_empty_file_has_no_header() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse([])
    assert info.value.code == "no_header"


def test_header_search_stops_early_on_a_large_file_without_header() -> None:
    def endless() -> Iterable[tuple[int, list[Any]]]:
        number = 0
        while True:
            number += 1
            yield number, ["x", "y"]

    with pytest.raises(ValidationFailed) as info:
        parse(endless())
    assert info.value.code == "no_header"


def test_a_header_with_only_the_name_is_not_a_header() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(rows(["姓名", "手机号"], ["张三", "13812345678"]))
    assert info.value.code == "no_header"


def test_two_id_columns_are_a_file_error() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(rows(["姓名", "身份证号", "公民身份号码"], ["张三", ZHANG, ZHANG]))
    assert info.value.code == "duplicate_column"


def test_too_many_rows_is_raised_as_soon_as_the_limit_is_passed() -> None:
    consumed: list[int] = []

    def table() -> Iterable[tuple[int, list[Any]]]:
        yield 1, ["姓名", "身份证号"]
        for index in range(2, 10_000):
            consumed.append(index)
            yield index, ["张三", make_number("410302", date(1990, 1, 1), index % 1000)]

    with pytest.raises(ValidationFailed) as info:
        parse(table(), max_rows=3)
    assert info.value.code == "too_many_rows"
    assert consumed[-1] == 5


def test_max_rows_does_not_count_blank_rows() -> None:
    result = parse(rows(["姓名", "身份证号"], [None, None], ["张三", ZHANG], [], ["李四", LI]), max_rows=2)
    assert result.rows_read == 2


def test_streaming_parser_feed_returns_rows_errors_or_none() -> None:
    parser = RosterParser(DIVISIONS, today=TODAY)
    assert parser.feed(1, ["标题"]) is None
    assert parser.feed(2, ["姓名", "身份证号"]) is None
    row = parser.feed(3, ["张三", ZHANG])
    assert isinstance(row, RosterRow)
    errors = parser.feed(4, ["李四", "bad"])
    assert isinstance(errors, list) and errors[0].code == "id_length"
    assert parser.feed(5, [None, None]) is None
    parser.finish()
    assert parser.rows_read == 2


@pytest.mark.parametrize("name", ["roster-example.csv", "roster-example.xlsx"])
def test_the_example_files_in_docs_parse_cleanly(name: str) -> None:
    path = Path(__file__).resolve().parents[4] / "docs" / name
    result = parse(iter_table(path, name))
    assert result.errors == []
    assert result.notes == []
    assert result.rows_read == len(result.rows) == 4


# --- details: floats written as text, duplicates among valid rows, 〇 and × -----------------


def test_an_id_written_as_a_float_in_text_gets_the_text_format_hint() -> None:
    data = f"姓名,身份证号\n张三,{ZHANG[:15]}000.0\n李四,{LI}\n".encode()
    result = parse(iter_table(data, "a.csv"))
    assert [(e.row, e.code, e.column) for e in result.errors] == [(2, "id_stored_as_number", "身份证号")]
    assert "设置为文本格式" in result.errors[0].message
    assert [row.id.number for row in result.rows] == [LI]


def _judged(result: RosterParse, planned_hours: int = 80) -> Any:
    from registry.enums import CohortStatus
    from registry.training.roster.rules import judge_rows

    return judge_rows(
        result, [None] * len(result.rows), status=CohortStatus.RUNNING, planned_hours=planned_hours
    )


def test_a_duplicate_is_judged_among_the_otherwise_valid_rows() -> None:
    result = parse(
        rows(
            ["姓名", "身份证号", "手机号", "学时"],
            ["张三", ZHANG, "1", None],  # refused: the phone
            ["张三", ZHANG, "13812345678", None],  # the first valid copy: imported
            ["张三", ZHANG, "13812345678", None],  # a duplicate of row 3
            ["李四", LI, None, "500"],  # refused: more hours than the cohort allows
            ["李四", LI, None, "40"],  # the first valid copy: imported
        )
    )
    judged = _judged(result)
    assert [row.row_number for row in judged.to_import] == [3, 6]
    assert [(e.row, e.code) for e in judged.errors] == [
        (2, "phone_format"),
        (4, "duplicate_in_file"),
        (5, "out_of_range"),
    ]
    assert "row 3" in judged.errors[1].message


@pytest.mark.parametrize("name", ["李〇", "王〇明"])
def test_the_ideographic_zero_in_a_name_and_the_multiplication_sign_as_x(name: str) -> None:
    number = next(
        n for seq in range(1000) if (n := make_number("410302", date(1991, 2, 3), seq)).endswith("X")
    )
    result = parse(rows(["姓名", "身份证号"], [name, number[:17] + "×"]))
    assert result.errors == []
    assert [(row.name, row.id.number) for row in result.rows] == [(name, number)]
