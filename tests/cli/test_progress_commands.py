"""``registry rollup`` and ``registry load-targets``, as an operator runs them. The years
here (2044 for targets, 2011 for the rollup's own day) are no other test's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from registry.models.progress import Target
from tests.cli.commands import registry
from tests.factories import (
    ended_cohort,
    enrolment_row,
    ensure_catalogue,
    new_institution,
    person_row,
    snapshot_rows,
)


async def test_rollup_twice_gives_the_same_rows(test_env: dict[str, str], divisions: None) -> None:
    await ensure_catalogue()
    cohort = await ended_cohort(await new_institution("410302"), dt.date(2011, 4, 2), division="410302")
    await enrolment_row(cohort, await person_row())
    first = registry(test_env, "rollup", "--as-of", "2011-04-30")
    assert first.returncode == 0, first.stderr
    assert "rollup of 2011 as of 2011-04-30:" in first.stdout and "rows written" in first.stdout
    rows = await snapshot_rows(2011, dt.date(2011, 4, 30))
    second = registry(test_env, "rollup", "--as-of", "2011-04-30")
    assert second.returncode == 0, second.stderr
    assert f"replacing {len(rows):,} of an earlier run of that day" in second.stdout
    assert await snapshot_rows(2011, dt.date(2011, 4, 30)) == rows
    bad = registry(test_env, "rollup", "--as-of", "2011-13-01")
    assert bad.returncode != 0 and "is not a date" in bad.stderr


async def test_load_targets_reports_every_bad_row(
    test_env: dict[str, str], divisions: None, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "县区,指标,目标\n涧西区,trainees_trained,100\n火星区,trainees_trained,5\n涧西区,trainees_trained,-3\n",
        encoding="utf-8",
    )
    refused = registry(test_env, "load-targets", str(bad), "--year", "2044")
    assert refused.returncode != 0
    assert "row 3" in refused.stderr and "unknown_division" in refused.stderr
    assert "row 4" in refused.stderr and (
        "negative_value" in refused.stderr or "duplicate_row" in refused.stderr
    )
    assert await Target.filter(year=2044).count() == 0

    good = tmp_path / "good.csv"
    good.write_text(
        "县区,指标,目标\n涧西区,trainees_trained,100\n新安县,veterans_trained,5\n", encoding="utf-8"
    )
    loaded = registry(
        test_env, "load-targets", str(good), "--year", "2044", "--source-note", "洛人社〔2044〕1号"
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "targets of 2044 from good.csv: 2 loaded (2 new, 0 changed, 0 removed" in loaded.stdout
    assert {t.source for t in await Target.filter(year=2044)} == {"洛人社〔2044〕1号"}
