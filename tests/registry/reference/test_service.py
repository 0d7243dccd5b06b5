"""Reference data against a real PostgreSQL.

The database is shared by the whole suite and never cleaned: every test here works with
its own far-future effective dates (2090 and later) and compares with what it created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from tortoise import connections

from registry.core.errors import ValidationFailed
from registry.core.principal import system
from registry.enums import DivisionKind
from registry.models.reference import Division, Occupation, PriorityList, PriorityListEntry
from registry.reference.catalogue import REFERENCE_LIST_EFFECTIVE_FROM, read_occupations
from registry.reference.queries import (
    division_lookup,
    list_divisions,
    list_occupations,
    list_priority_trades,
    priority_list_in_force,
)
from registry.reference.service import import_priority_list, load_reference

PRINCIPAL = system("test")
DISTRICTS = {"老城区", "西工区", "瀍河回族区", "涧西区", "偃师区", "孟津区", "洛龙区"}
COUNTIES = {"新安县", "栾川县", "嵩县", "汝阳县", "宜阳县", "洛宁县", "伊川县"}


async def audit_count(action: str) -> int:
    _, rows = await connections.get("default").execute_query(
        "SELECT count(*) AS n FROM audit_event WHERE action = $1", [action]
    )
    return int(rows[0]["n"])


async def audit_count_for(entity_id: object) -> int:
    _, rows = await connections.get("default").execute_query(
        "SELECT count(*) AS n FROM audit_event WHERE entity_type = 'priority_list' AND entity_id = $1",
        [str(entity_id)],
    )
    return int(rows[0]["n"])


@pytest.fixture(scope="session")
async def reference(database: None) -> None:
    await load_reference(PRINCIPAL)


def csv_bytes(*table: Sequence[Any], encoding: str = "utf-8") -> bytes:
    lines = [",".join("" if cell is None else str(cell) for cell in row) for row in table]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_file(path: Path, *table: Sequence[Any]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in table:
        sheet.append(list(row))
    workbook.save(path)
    return path


async def codes_of(list_id: object) -> dict[str, str]:
    entries = await PriorityListEntry.filter(priority_list_id=list_id).values("occupation_id", "sector")
    return {str(e["occupation_id"]): str(e["sector"]) for e in entries}


# --- load_reference ---------------------------------------------------------------------


async def test_load_reference_is_idempotent(database: None) -> None:
    await load_reference(PRINCIPAL)  # the first load of the session, or a no-op
    events = await audit_count("reference.load")
    occupations = await Occupation.all().count()
    divisions = await Division.all().count()
    lists = await PriorityList.all().count()

    second = await load_reference(PRINCIPAL)

    assert not second.changed
    assert (second.occupations_inserted, second.occupations_updated) == (0, 0)
    assert (second.divisions_inserted, second.divisions_updated) == (0, 0)
    assert not second.priority_list_created
    assert second.priority_trades == 0
    assert "nothing changed" in second.summary
    assert await audit_count("reference.load") == events
    assert await Occupation.all().count() == occupations
    assert await Division.all().count() == divisions
    assert await PriorityList.all().count() == lists


async def test_load_reference_restores_a_changed_row_and_records_it(reference: None) -> None:
    await Occupation.filter(code="6-31-01-03").update(name="电工（改）")
    events = await audit_count("reference.load")
    report = await load_reference(PRINCIPAL)
    assert report.changed
    assert (report.occupations_inserted, report.occupations_updated) == (0, 1)
    assert (await Occupation.get(code="6-31-01-03")).name == "电工"
    assert await audit_count("reference.load") == events + 1
    _, rows = await connections.get("default").execute_query(
        "SELECT after->>'occupations_updated' AS updated, actor FROM audit_event "
        "WHERE action = 'reference.load' ORDER BY id DESC LIMIT 1"
    )
    assert dict(rows[0]) == {"updated": "1", "actor": "system:test"}


async def test_classification_counts_and_parents(reference: None) -> None:
    assert await Occupation.filter(level=4).count() == 1632
    assert await Occupation.all().count() == len(read_occupations()) == 2047
    electrician = await Occupation.get(code="6-31-01-03")
    assert (electrician.name, electrician.level, electrician.parent_code) == ("电工", 4, "6-31-01-00")
    assert (await Occupation.get(code="6-31-01-00")).parent_code == "6-31-00-00"
    assert (await Occupation.get(code="6-31-00-00")).parent_code == "6-00-00-00"
    assert (await Occupation.get(code="6-00-00-00")).parent_code is None
    # A 细类 coded -00 whose 小类 shares the code: the occupation is kept.
    soil = await Occupation.get(code="2-03-01-00")
    assert (soil.level, soil.parent_code) == (4, "2-03-00-00")
    assert soil.definition
    assert (await Occupation.get(code="4-04-05-05")).is_digital  # 人工智能训练师 (S)
    assert (await Occupation.get(code="6-24-02-04")).is_green  # 光伏组件制造工 (L)
    # Every parent exists.
    _, rows = await connections.get("default").execute_query(
        "SELECT count(*) AS n FROM occupation o WHERE parent_code IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM occupation p WHERE p.code = o.parent_code AND p.level < o.level)"
    )
    assert rows[0]["n"] == 0


async def test_division_kinds(reference: None) -> None:
    divisions = await list_divisions()
    by_name = {d.name: d for d in divisions}
    assert {d.name for d in divisions if d.kind is DivisionKind.DISTRICT} == DISTRICTS
    assert {d.name for d in divisions if d.kind is DivisionKind.COUNTY} == COUNTIES
    zone = [d for d in divisions if d.code == "410371"]
    assert len(zone) == 1
    assert zone[0].kind is DivisionKind.STATISTICS and not zone[0].is_administrative
    assert all(d.is_administrative for d in divisions if d.code != "410371")
    assert by_name["偃师区"].code == "410307" and by_name["孟津区"].code == "410308"
    assert divisions[-1].code == "410371"  # administrative ones first


async def test_division_lookup_maps_retired_and_short_names_and_codes_to_todays_division(
    reference: None,
) -> None:
    lookup = await division_lookup()
    assert {
        text: lookup.get(text) for text in ("偃师市", "410381", "孟津县", "410322", "吉利区", "410306")
    } == {
        "偃师市": "410307",
        "410381": "410307",
        "孟津县": "410308",
        "410322": "410308",
        "吉利区": "410308",
        "410306": "410308",
    }
    assert (lookup.get("瀍河"), lookup.get("瀍河区"), lookup.get("高新区")) == ("410304", "410304", "410371")
    assert lookup["涧西区"] == lookup["410305"] == "410305"
    # Every alias names a division of the catalogue, and no alias is a division's own name.
    divisions = {d.code: d.name for d in await list_divisions()}
    assert set(lookup.values()) <= set(divisions)
    assert all(lookup[name] == code for code, name in divisions.items())


async def test_reference_priority_list_in_force(reference: None) -> None:
    in_force = await priority_list_in_force(REFERENCE_LIST_EFFECTIVE_FROM)
    assert in_force is not None
    assert in_force.effective_from == REFERENCE_LIST_EFFECTIVE_FROM
    assert in_force.is_reference_selection
    assert "参考" in in_force.name
    page = await list_priority_trades(REFERENCE_LIST_EFFECTIVE_FROM, limit=500, offset=0)
    trades, total = page.items, page.total
    assert total == 158 == len(trades) == len({t.code for t in trades})
    assert all(t.list_id == in_force.id and t.is_reference_selection and t.sector for t in trades)
    by_code = {t.code: t for t in trades}
    assert by_code["4-02-04-06"].name == "无人机驾驶员"
    assert by_code["6-31-07-03"].sector == "智能装备/工业机器人/先进制造"
    assert await Occupation.filter(code__in=list(by_code), level=4).count() == 158
    earlier = await priority_list_in_force(dt.date(2024, 12, 31))
    assert earlier is None or earlier.id != in_force.id


# --- reads --------------------------------------------------------------------------------


async def test_list_occupations_filters_and_pages(reference: None) -> None:
    page = await list_occupations(level=4, limit=10, offset=0)
    items, total = page.items, page.total
    assert total == 1632 and len(items) == 10
    assert [i.code for i in items] == sorted(i.code for i in items)
    page = await list_occupations(level=4, limit=10, offset=10)
    page2, total2 = page.items, page.total
    assert total2 == 1632 and page2[0].code > items[-1].code
    page = await list_occupations(level=4, limit=10, offset=5000)
    past, total_past = page.items, page.total
    assert past == [] and total_past == 1632

    page = await list_occupations(q="无人机", limit=50, offset=0)

    by_name, n = page.items, page.total
    assert {i.code for i in by_name} >= {"4-02-04-06", "6-23-03-15", "4-08-03-07"} and n == len(by_name)
    page = await list_occupations(q="6-31-01", level=4, limit=50, offset=0)
    by_prefix, n = page.items, page.total
    assert n == len(by_prefix) and all(i.code.startswith("6-31-01") for i in by_prefix)
    assert "6-31-01-03" in {i.code for i in by_prefix}
    page = await list_occupations(q="%", limit=5, offset=0)
    wildcard, n = page.items, page.total
    assert n == 0 and wildcard == []

    page = await list_occupations(priority_on=REFERENCE_LIST_EFFECTIVE_FROM, limit=500, offset=0)

    on_list, n = page.items, page.total
    assert n == 158 and all(i.priority_sector for i in on_list)
    page = await list_occupations(priority_on=REFERENCE_LIST_EFFECTIVE_FROM, q="焊", limit=50, offset=0)
    on_list_q, n = page.items, page.total
    assert "6-18-02-04" in {i.code for i in on_list_q}
    page = await list_occupations(priority_on=dt.date(1990, 1, 1), limit=50, offset=0)
    none_in_force, n = page.items, page.total
    assert (none_in_force, n) == ([], 0)
    page = await list_occupations(q="6-31-01-03", limit=1, offset=0)
    plain, _ = page.items, page.total
    assert plain[0].priority_sector is None


async def test_read_helpers_refuse_bad_pages(reference: None) -> None:
    for limit, offset in ((0, 0), (501, 0), (10, -1)):
        with pytest.raises(ValidationFailed):
            await list_occupations(limit=limit, offset=offset)
        with pytest.raises(ValidationFailed):
            await list_priority_trades(dt.date(2025, 1, 1), limit=limit, offset=offset)
    with pytest.raises(ValidationFailed):
        await list_occupations(level=5, limit=10, offset=0)


# --- import_priority_list -----------------------------------------------------------------


async def test_import_csv_then_versioning(reference: None) -> None:
    first = await import_priority_list(
        PRINCIPAL,
        csv_bytes(["code", "name", "sector"], ["6-31-01-03", "电工", "制造"], ["6-18-02-04", "焊工", "制造"]),
        "list-2090.csv",
        name="测试目录 2090",
        effective_from=dt.date(2090, 1, 1),
        source_note="test",
    )
    assert (first.entries, first.replaced, first.unchanged) == (2, False, False)
    second = await import_priority_list(
        PRINCIPAL,
        csv_bytes(["工种代码"], ["4-10-01-05"], ["4-10-01-06"], ["4-04-05-05"]),
        "list-2090-07.csv",
        name="测试目录 2090 下半年",
        effective_from=dt.date(2090, 7, 1),
    )
    assert second.entries == 3

    before_both = await priority_list_in_force(dt.date(2089, 12, 31))
    assert before_both is None or before_both.id not in (first.list_id, second.list_id)
    assert (await priority_list_in_force(dt.date(2090, 1, 1))).id == first.list_id  # type: ignore[union-attr]
    assert (await priority_list_in_force(dt.date(2090, 6, 30))).id == first.list_id  # type: ignore[union-attr]
    assert (await priority_list_in_force(dt.date(2090, 7, 1))).id == second.list_id  # type: ignore[union-attr]
    assert (await priority_list_in_force(dt.date(2090, 12, 31))).id == second.list_id  # type: ignore[union-attr]

    page = await list_priority_trades(dt.date(2090, 3, 1), limit=50, offset=0)

    trades, total = page.items, page.total
    assert total == 2
    assert {(t.code, t.sector, t.list_name) for t in trades} == {
        ("6-18-02-04", "制造", "测试目录 2090"),
        ("6-31-01-03", "制造", "测试目录 2090"),
    }
    assert all(not t.is_reference_selection and t.effective_from == dt.date(2090, 1, 1) for t in trades)
    page = await list_priority_trades(dt.date(2090, 8, 1), limit=2, offset=0)
    trades, total = page.items, page.total
    assert total == 3 and len(trades) == 2
    assert await audit_count_for(first.list_id) == 1
    assert await audit_count_for(second.list_id) == 1


async def test_import_xlsx_with_title_rows_and_blank_rows(reference: None, tmp_path: Path) -> None:
    path = xlsx_file(
        tmp_path / "目录.xlsx",
        ["洛阳市2091年度重点工种目录"],
        [],
        ["序号", "职业（工种）名称", "职业（工种）代码", "所属领域"],
        [1, "无人机驾驶员", "4-02-04-06", "低空经济"],
        [None, None, None, None],
        [2, "养老护理员", "4-10-01-05", "养老"],
        [3, "快递员", "4-02-07-08", None],
    )
    report = await import_priority_list(
        PRINCIPAL, path, path.name, name="测试 XLSX", effective_from=dt.date(2091, 1, 1)
    )
    assert report.entries == 3
    assert await codes_of(report.list_id) == {
        "4-02-04-06": "低空经济",
        "4-10-01-05": "养老",
        "4-02-07-08": "",
    }
    # Bytes work as well as a path.
    again = await import_priority_list(
        PRINCIPAL, path.read_bytes(), "again.xlsx", name="测试 XLSX", effective_from=dt.date(2091, 1, 1)
    )
    assert again.unchanged and again.list_id == report.list_id


async def test_import_gbk_csv(reference: None) -> None:
    data = csv_bytes(["职业编码", "名称"], ["6-31-01-03", "电工"], encoding="gb18030")
    report = await import_priority_list(
        PRINCIPAL, data, "gbk.csv", name="GBK 目录", effective_from=dt.date(2091, 6, 1)
    )
    assert await codes_of(report.list_id) == {"6-31-01-03": ""}


async def test_same_date_replaces_the_version(reference: None) -> None:
    day = dt.date(2092, 1, 1)
    first = await import_priority_list(
        PRINCIPAL,
        csv_bytes(["code"], ["6-31-01-03"], ["6-18-02-04"]),
        "a.csv",
        name="初版",
        effective_from=day,
    )
    events = await audit_count_for(first.list_id)

    same = await import_priority_list(
        PRINCIPAL,
        csv_bytes(["code"], ["6-18-02-04"], ["6-31-01-03"]),
        "a.csv",
        name="初版",
        effective_from=day,
    )
    assert same.unchanged and same.list_id == first.list_id
    assert await audit_count_for(first.list_id) == events

    replaced = await import_priority_list(
        PRINCIPAL,
        csv_bytes(["code", "sector"], ["4-10-01-05", "养老"]),
        "b.csv",
        name="修订版",
        effective_from=day,
        source_note="人社局 2092 年 1 号",
    )
    assert replaced.replaced and not replaced.unchanged and replaced.list_id == first.list_id
    assert await codes_of(first.list_id) == {"4-10-01-05": "养老"}
    stored = await PriorityList.get(id=first.list_id)
    assert (stored.name, stored.source_note, stored.is_reference_selection) == (
        "修订版",
        "人社局 2092 年 1 号",
        False,
    )
    assert await PriorityList.filter(effective_from=day).count() == 1
    assert await audit_count_for(first.list_id) == events + 1
    _, rows = await connections.get("default").execute_query(
        "SELECT action, before->>'name' AS before_name, after->>'name' AS after_name FROM audit_event "
        "WHERE entity_type = 'priority_list' AND entity_id = $1 ORDER BY id DESC LIMIT 1",
        [str(first.list_id)],
    )
    assert dict(rows[0]) == {"action": "priority_list.replace", "before_name": "初版", "after_name": "修订版"}


async def test_bad_rows_are_all_reported_and_nothing_is_written(reference: None) -> None:
    day = dt.date(2093, 1, 1)
    data = csv_bytes(
        ["目录"],  # a title row
        ["序号", "工种代码", "名称"],
        [1, "6-31-01-03", "电工"],
        [2, "9-99-99-99", "不存在"],
        [3, "6-31-01-03", "重复"],
        [4, "6-31-1-03", "格式错"],
        [5, "6-31-01-00", "小类"],
        [None, None, None],
        [6, "4-10-01-05", "养老护理员"],
    )
    with pytest.raises(ValidationFailed) as caught:
        await import_priority_list(PRINCIPAL, data, "bad.csv", name="坏目录", effective_from=day)
    errors = caught.value.errors
    assert [(e.row, e.field, e.code, e.column) for e in errors] == [
        (4, "code", "unknown_code", "工种代码"),
        (5, "code", "duplicate_code", "工种代码"),
        (6, "code", "malformed_code", "工种代码"),
        (7, "code", "unknown_code", "工种代码"),
    ]
    assert "4 row(s)" in caught.value.message
    assert await PriorityList.filter(effective_from=day).count() == 0


async def test_a_bad_replacement_leaves_the_version_intact(reference: None) -> None:
    day = dt.date(2093, 6, 1)
    good = await import_priority_list(
        PRINCIPAL, csv_bytes(["code"], ["6-31-01-03"]), "good.csv", name="好目录", effective_from=day
    )
    events = await audit_count_for(good.list_id)
    with pytest.raises(ValidationFailed):
        await import_priority_list(
            PRINCIPAL,
            csv_bytes(["code"], ["4-10-01-05"], ["1-2-3"]),
            "bad.csv",
            name="坏",
            effective_from=day,
        )
    assert await codes_of(good.list_id) == {"6-31-01-03": ""}
    assert (await PriorityList.get(id=good.list_id)).name == "好目录"
    assert await audit_count_for(good.list_id) == events


@pytest.mark.parametrize(
    ("data", "file_name", "code"),
    [
        (csv_bytes(["名称"], ["电工"]), "nohead.csv", "missing_code_column"),
        (csv_bytes(["code"], [None], [""]), "empty.csv", "empty_list"),
        (b"code\n6-31-01-03\n", "list.pdf", "unsupported_file_type"),
        (b"not a workbook", "list.xlsx", "bad_xlsx"),
    ],
)
async def test_unreadable_files_are_refused(reference: None, data: bytes, file_name: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await import_priority_list(PRINCIPAL, data, file_name, name="x", effective_from=dt.date(2094, 1, 1))
    assert caught.value.code == code
    assert await PriorityList.filter(effective_from=dt.date(2094, 1, 1)).count() == 0


async def test_a_name_is_required(reference: None) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await import_priority_list(
            PRINCIPAL,
            csv_bytes(["code"], ["6-31-01-03"]),
            "a.csv",
            name="  ",
            effective_from=dt.date(2094, 2, 1),
        )
    assert caught.value.errors[0].field == "name"
