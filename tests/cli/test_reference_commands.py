"""``registry load-reference``, ``registry priority-list load|confirm`` and ``registry
import-priority-list`` (the older name of ``priority-list load``) as an operator runs them: a
subprocess of the installed ``registry`` script against the suite's database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tortoise import connections

from registry.models.reference import PriorityList, PriorityListEntry
from tests.cli.commands import registry


async def test_load_reference_command(test_env: dict[str, str], database: None) -> None:
    first = registry(test_env, "load-reference")
    assert first.returncode == 0, first.stderr
    assert "occupations: 2047 in the catalogue" in first.stdout
    assert "divisions: 15 in the catalogue" in first.stdout
    assert "targets (targets.yaml): 32 targets" in first.stdout  # the plan's, 2025-2030
    again = registry(test_env, "load-reference")
    assert again.returncode == 0, again.stderr
    assert "0 inserted, 0 updated" in again.stdout
    assert "nothing changed" in again.stdout
    assert "targets (targets.yaml): 32 targets: nothing changed" in again.stdout


async def test_import_priority_list_command(test_env: dict[str, str], database: None, tmp_path: Path) -> None:
    assert registry(test_env, "load-reference").returncode == 0
    good = tmp_path / "重点工种.csv"
    good.write_text(
        "洛阳市重点工种目录\n工种代码,名称,领域\n6-31-01-03,电工,制造\n4-10-01-05,养老护理员,养老\n"
    )
    day = dt.date(2095, 3, 1)

    result = registry(
        test_env,
        "import-priority-list",
        str(good),
        "--name",
        "CLI 测试目录",
        "--effective-from",
        day.isoformat(),
        "--source-note",
        "洛人社 2095 1 号",
    )
    assert result.returncode == 0, result.stderr
    assert "loaded; 2 trades" in result.stdout
    stored = await PriorityList.get(effective_from=day)
    assert (stored.name, stored.source_note, stored.is_reference_selection) == (
        "CLI 测试目录",
        "洛人社 2095 1 号",
        False,
    )
    assert await PriorityListEntry.filter(priority_list_id=stored.id).count() == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n6-31-01-03,电工\n9-99-99-99,x\n6-31-01-03,again\n6-31-1-03,typo\n")
    result = registry(
        test_env, "import-priority-list", str(bad), "--name", "坏目录", "--effective-from", day.isoformat()
    )
    assert result.returncode != 0
    assert "3 row(s) cannot be loaded" in result.stderr
    assert "row 3, column code, code: 9-99-99-99 is not in the 2022" in result.stderr
    assert "row 4, column code, code: 6-31-01-03 is already on row 2 [duplicate_code]" in result.stderr
    assert "row 5, column code, code:" in result.stderr and "[malformed_code]" in result.stderr
    # Nothing changed.
    assert (await PriorityList.get(effective_from=day)).name == "CLI 测试目录"
    assert await PriorityListEntry.filter(priority_list_id=stored.id).count() == 2


async def test_import_priority_list_command_refuses_bad_arguments(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    missing = registry(
        test_env,
        "import-priority-list",
        str(tmp_path / "nope.csv"),
        "--name",
        "x",
        "--effective-from",
        "2096-01-01",
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_date = registry(
        test_env, "import-priority-list", "x.csv", "--name", "x", "--effective-from", "2096-13-01"
    )
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr


async def test_priority_list_load_publishes_the_list(
    test_env: dict[str, str], database: None, tmp_path: Path
) -> None:
    assert registry(test_env, "load-reference").returncode == 0
    good = tmp_path / "目录.csv"
    good.write_text("工种代码\n6-31-01-03\n4-10-01-05\n")
    day = dt.date(2095, 6, 1)
    result = registry(
        test_env,
        "priority-list",
        "load",
        str(good),
        "--name",
        "洛阳市重点工种目录（CLI）",
        "--effective-from",
        day.isoformat(),
        "--code",
        "luoyang-2095",
        "--document",
        "洛人社〔2095〕6号",
    )
    assert result.returncode == 0, result.stderr
    assert "priority list luoyang-2095 " in result.stdout and "loaded; 2 trades" in result.stdout
    assert "published by the bureau, document 洛人社〔2095〕6号" in result.stdout
    stored = await PriorityList.get(effective_from=day)
    assert (stored.code, stored.document, stored.confirmed_by, stored.is_reference_selection) == (
        "luoyang-2095",
        "洛人社〔2095〕6号",
        "system:cli",
        False,
    )
    assert stored.confirmed_at is not None

    taken = registry(
        test_env,
        "priority-list",
        "load",
        str(good),
        "--name",
        "x",
        "--effective-from",
        "2095-07-01",
        "--code",
        "luoyang-2095",
    )
    assert (
        taken.returncode == 2
        and "code: luoyang-2095 already names the list effective 2095-06-01" in taken.stderr
    )
    assert not await PriorityList.filter(effective_from=dt.date(2095, 7, 1)).exists()


async def test_priority_list_confirm(test_env: dict[str, str], database: None) -> None:
    assert registry(test_env, "load-reference").returncode == 0
    day = dt.date(2095, 9, 1)
    # A stand-in for the shipped reference selection (never confirm the suite's real one).
    stand_in = await PriorityList.create(
        code="reference-2095-09-01", name="参考目录（CLI）", effective_from=day, is_reference_selection=True
    )

    unknown = registry(
        test_env, "priority-list", "confirm", "reference-2095-09-02", "--document", "洛人社〔2095〕9号"
    )
    assert unknown.returncode == 2
    assert "error: no priority list has the code 'reference-2095-09-02'" in unknown.stderr
    blank = registry(test_env, "priority-list", "confirm", "reference-2095-09-01", "--document", "  ")
    assert blank.returncode == 2 and "the document number is empty" in blank.stderr
    missing = registry(test_env, "priority-list", "confirm", "reference-2095-09-01")
    assert missing.returncode == 2 and "--document" in missing.stderr
    assert (await PriorityList.get(id=stand_in.id)).confirmed_at is None

    result = registry(
        test_env, "priority-list", "confirm", "reference-2095-09-01", "--document", "洛人社〔2095〕9号"
    )
    assert result.returncode == 0, result.stderr
    assert "priority list reference-2095-09-01 '参考目录（CLI）' effective 2095-09-01" in result.stdout
    assert (
        "(the shipped reference selection): confirmed; document 洛人社〔2095〕9号, by system:cli"
        in result.stdout
    )
    stored = await PriorityList.get(id=stand_in.id)
    assert (stored.document, stored.confirmed_by, stored.confirmed) == (
        "洛人社〔2095〕9号",
        "system:cli",
        True,
    )
    rows = await connections.get("default").execute_query_dict(
        "SELECT action, actor FROM audit_event WHERE entity_type = 'priority_list' AND entity_id = $1",
        [str(stand_in.id)],
    )
    assert rows == [{"action": "priority_list.confirm", "actor": "system:cli"}]

    again = registry(
        test_env, "priority-list", "confirm", "reference-2095-09-01", "--document", "洛人社〔2095〕9号"
    )
    assert again.returncode == 0 and "unchanged (already confirmed under this document)" in again.stdout
