"""``registry load-reference`` and ``registry import-priority-list`` as an operator runs them:
a subprocess of the installed ``registry`` script against the suite's database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
