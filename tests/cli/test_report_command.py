"""``registry report quarterly``, as an operator runs it: the file is written and its
numbers are the database's; a bad quarter is refused, naming it. The year (2048) is no
other test's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook

from tests.cli.commands import registry
from tests.factories import ended_cohort, enrolment_row, ensure_catalogue, new_institution, person_row


async def test_report_quarterly_writes_the_workbook(
    test_env: dict[str, str], divisions: None, tmp_path: Path
) -> None:
    await ensure_catalogue()
    cohort = await ended_cohort(await new_institution("410302"), dt.date(2048, 2, 10), division="410302")
    for _ in range(3):
        await enrolment_row(cohort, await person_row())
    out = tmp_path / "q1.xlsx"
    done = registry(test_env, "report", "quarterly", "--year", "2048", "--quarter", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "quarterly report 2048 Q1" in done.stdout and "2048-03-31" in done.stdout
    book = load_workbook(out)
    sheet = book["职业技能培训"]
    headers = [c.value for c in sheet[2]]
    rows = {
        r[0]: dict(zip(headers, r, strict=True)) for r in sheet.iter_rows(min_row=3, values_only=True) if r[1]
    }
    assert rows["410302"]["培训人数"] == 3 and rows["410302"]["培训人次"] == 3
    assert rows["410300"]["培训人数"] == 3 and rows["410305"]["培训人数"] == 0

    bad = registry(test_env, "report", "quarterly", "--year", "2048", "--quarter", "5", "--out", str(out))
    assert bad.returncode == 2 and "quarter" in bad.stderr
