"""``registry calendar load`` / ``show`` and the seed in ``registry load-reference``, as an
operator runs them. The years loaded here (2098, 2099) are far from any other test's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cli.commands.calendar import spans
from registry.enums import CalendarOrigin
from registry.models.calendar import CalendarDay, CalendarYear
from tests.cli.commands import registry

SOURCE = "国务院办公厅关于2099年部分节假日安排的通知(测试)"


def test_spans() -> None:
    assert spans([2026, 2004, 2005, 2099]) == "2004-2005, 2026, 2099"
    assert spans([]) == ""


@pytest.mark.usefixtures("working_day_calendar")
async def test_load_a_year_from_csv(test_env: dict[str, str], database: None, tmp_path: Path) -> None:
    good = tmp_path / "2099.csv"
    good.write_text(
        "date,kind,source,name\n"
        f"2099-01-01,holiday,{SOURCE},元旦\n"
        f"2099-01-02,holiday,{SOURCE},元旦\n"
        f"2099-01-04,makeup_workday,{SOURCE},元旦\n",
        encoding="utf-8",
    )
    first = registry(test_env, "calendar", "load", str(good))
    assert first.returncode == 0, first.stderr
    assert f"calendar 2099: loaded; 2 holidays, 1 make-up working days; source {SOURCE}" in first.stdout
    again = registry(test_env, "calendar", "load", str(good))
    assert again.returncode == 0 and "calendar 2099: unchanged" in again.stdout
    year = await CalendarYear.get(year=2099)
    assert (year.origin, year.file_name) == (CalendarOrigin.BUREAU, "2099.csv")
    assert await CalendarDay.filter(date=dt.date(2099, 1, 4), kind="makeup_workday").exists()

    shown = registry(test_env, "calendar", "show", "2099")
    assert shown.returncode == 0, shown.stderr
    assert "2099-01-04 Sun  makeup_workday" in shown.stdout
    years = registry(test_env, "calendar", "show")
    assert "2099  bureau" in years.stdout and "2025  package" in years.stdout
    assert "the calendar covers 2004-2026, 2099:" in years.stdout


async def test_a_bad_file_names_every_row_and_column_and_loads_nothing(
    test_env: dict[str, str], database: None, tmp_path: Path
) -> None:
    bad = tmp_path / "2098.csv"
    bad.write_text(
        "date,kind,source\n"
        "2098-01-01,holiday,s\n"
        "2098-01-02,vacation,s\n"
        "2097-12-31,holiday,s\n"
        "2098-01-01,holiday,s\n",
        encoding="utf-8",
    )
    refused = registry(test_env, "calendar", "load", str(bad))
    assert refused.returncode == 2
    assert "nothing loaded" in refused.stderr
    assert (
        "row 3, column kind, kind: 'vacation' is not a kind: holiday or makeup_workday [unknown_kind]"
        in refused.stderr
    )
    assert (
        "row 4, column date, date: 2097-12-31 is not in 2098, the file's year [outside_year]"
        in refused.stderr
    )
    assert (
        "row 5, column date, date: 2098-01-01 is listed twice (already on line 2) [duplicate_date]"
        in refused.stderr
    )
    assert not await CalendarYear.filter(year=2098).exists()

    yaml_bad = tmp_path / "2098.yaml"
    yaml_bad.write_text("year: 2098\ndays:\n  - {date: 2098-01-01, kind: off}\n", encoding="utf-8")
    refused = registry(test_env, "calendar", "load", str(yaml_bad))
    assert refused.returncode == 2
    assert "source: the file needs its source (the notice) [missing_source]" in refused.stderr
    assert "row 3, days[0].kind:" in refused.stderr
    assert not await CalendarYear.filter(year=2098).exists()

    missing = registry(test_env, "calendar", "load", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    uncovered = registry(test_env, "calendar", "show", "2098")
    assert "does not cover 2098" in uncovered.stdout


async def test_load_reference_seeds_the_calendar(test_env: dict[str, str], database: None) -> None:
    first = registry(test_env, "load-reference")
    assert first.returncode == 0, first.stderr
    assert "working-day calendar (chinese-calendar 1.11" in first.stdout
    again = registry(test_env, "load-reference")
    assert "working-day calendar" in again.stdout and "seeded none" in again.stdout
    assert await CalendarYear.filter(year=2004, origin=CalendarOrigin.PACKAGE).exists()
    assert await CalendarYear.filter(year=2026, origin=CalendarOrigin.PACKAGE).exists()
    assert not await CalendarYear.filter(year=2027).exists()
