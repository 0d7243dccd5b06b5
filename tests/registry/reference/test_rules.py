from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any

import pytest

from registry.catalogue import OCCUPATIONS_FILE, PRIORITY_TRADES_REFERENCE_FILE
from registry.core.tabular import iter_table
from registry.reference.rules import (
    column_letter,
    normalise_code,
    normalise_header,
    parse_priority_rows,
    sort_errors,
    unknown_code_errors,
)


def rows(*table: Sequence[Any]) -> list[tuple[int, list[Any]]]:
    return [(number, list(cells)) for number, cells in enumerate(table, start=1)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6-31-01-03", "6-31-01-03"),
        ("  6-31-01-03 ", "6-31-01-03"),
        ("6－31－01－03", "6-31-01-03"),
        ("6–31—01-03", "6-31-01-03"),
        ("6 -31-01-03", "6-31-01-03"),
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("63101003", None),
        ("6-31-01", None),
        ("6-31-01-3", None),
        ("X-31-01-03", None),
        ("6-31-01-03-01", None),
        (6310103, None),
        (6.31, None),
    ],
)
def test_normalise_code(raw: Any, expected: str | None) -> None:
    assert normalise_code(raw) == expected


def test_normalise_header_and_letters() -> None:
    assert normalise_header(" 职业（工种）代码 ") == "职业工种代码"
    assert normalise_header("Code") == "code"
    assert normalise_header(None) == ""
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_header_below_title_rows_blank_rows_skipped_sector_read() -> None:
    parsed = parse_priority_rows(
        rows(
            ["洛阳市重点工种目录（含工种代码）", None, None],
            [None, None, None],
            ["序号", "职业（工种）代码", "所属领域"],
            [1, "6-31-01-03", "先进制造"],
            [None, "", None],
            [2, " 4-10-01-05 ", "养老"],
            [3, "4-02-04-06"],
        )
    )
    assert parsed.header is not None
    assert parsed.header.row == 3
    assert parsed.header.code_label == "职业（工种）代码"
    assert parsed.errors == []
    assert [(e.row, e.code, e.sector) for e in parsed.entries] == [
        (4, "6-31-01-03", "先进制造"),
        (6, "4-10-01-05", "养老"),
        (7, "4-02-04-06", ""),
    ]


def test_no_header_found() -> None:
    parsed = parse_priority_rows(rows(["名称", "领域"], ["电工", "制造"]))
    assert parsed.header is None
    assert parsed.entries == []


def test_every_bad_row_is_reported() -> None:
    parsed = parse_priority_rows(
        rows(
            ["code", "name"],
            ["6-31-01-03", "电工"],
            ["6-31-01-3", "typo"],
            ["6-31-01-03", "again"],
            [None, "no code"],
            [6310103, "a number"],
            ["6－31－01－03", "again, full-width"],
        )
    )
    got = [(e.row, e.code, e.column) for e in parsed.errors]
    assert got == [
        (3, "malformed_code", "code"),
        (4, "duplicate_code", "code"),
        (5, "missing_code", "code"),
        (6, "malformed_code", "code"),
        (7, "duplicate_code", "code"),
    ]
    assert "row 2" in parsed.errors[1].message
    assert [e.code for e in parsed.entries] == ["6-31-01-03"]


def test_sector_too_long() -> None:
    parsed = parse_priority_rows(rows(["code", "sector"], ["6-31-01-03", "x" * 101]))
    assert [(e.row, e.field, e.code) for e in parsed.errors] == [(2, "sector", "sector_too_long")]


def test_unknown_codes() -> None:
    parsed = parse_priority_rows(rows(["代码"], ["6-31-01-03"], ["6-31-01-00"], ["9-99-99-99"]))
    errors = unknown_code_errors(parsed.entries, {"6-31-01-03": 4, "6-31-01-00": 3}, column="代码")
    assert [(e.row, e.code, e.column) for e in errors] == [
        (3, "unknown_code", "代码"),
        (4, "unknown_code", "代码"),
    ]
    assert "小类" in errors[0].message
    assert "not in the 2022" in errors[1].message
    merged = sort_errors([*errors, *parse_priority_rows(rows(["代码"], ["bad"])).errors])
    assert [e.row for e in merged] == [2, 3, 4]


def test_shipped_reference_selection_is_158_level_4_occupations() -> None:
    """The shipped list: exactly 158 distinct 细类 codes of the 2022 classification, with sectors."""
    with OCCUPATIONS_FILE.open(encoding="utf-8") as handle:
        levels: dict[str, int] = {}
        for row in csv.DictReader(handle):
            levels[row["code"]] = max(levels.get(row["code"], 0), int(row["level"]))
    parsed = parse_priority_rows(
        iter_table(PRIORITY_TRADES_REFERENCE_FILE, PRIORITY_TRADES_REFERENCE_FILE.name)
    )
    assert parsed.errors == []
    assert len(parsed.entries) == 158
    assert len(set(parsed.codes)) == 158
    assert unknown_code_errors(parsed.entries, levels, column="code") == []
    assert all(entry.sector for entry in parsed.entries)
    assert len({entry.sector for entry in parsed.entries}) == 11
    # The names in the file are the classification's names.
    with OCCUPATIONS_FILE.open(encoding="utf-8") as handle:
        names = {row["code"]: row["name"] for row in csv.DictReader(handle) if row["level"] == "4"}
    with PRIORITY_TRADES_REFERENCE_FILE.open(encoding="utf-8") as handle:
        assert all(names[row["code"]] == row["name"] for row in csv.DictReader(handle))
