"""``registry import-roster`` and ``registry bench import`` as an operator runs them: a
subprocess of the installed ``registry`` script against the suite's database server."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path

from registry.accounts.users import UserInput, create_user
from registry.core.principal import system
from registry.enums import CohortKind, CohortStatus, Role
from registry.models.reference import Division
from registry.models.training import Cohort, Enrolment
from registry.people.rules.idnumber import make_number
from tests.cli.commands import registry
from tests.factories import new_institution


def new_number() -> str:
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=random.randrange(15000))
    return make_number("410303", birth, random.randrange(1000))


async def test_import_roster_command(test_env: dict[str, str], database: None, tmp_path: Path) -> None:
    await Division.get_or_create(code="410305", defaults={"name": "涧西区", "kind": "district"})
    institution = await new_institution(kinds=["training"])
    cohort = await Cohort.create(
        institution=institution,
        reference=f"CLI-{uuid.uuid4().hex[:8]}",
        kind=CohortKind.VOCATIONAL,
        division_id="410305",
        planned_hours=40,
        start_date=dt.date(2025, 9, 1),
        end_date=dt.date(2025, 10, 31),
        capacity=10,
        status=CohortStatus.OPEN,
    )
    username = f"inst-{uuid.uuid4().hex[:8]}"
    await create_user(
        system("test"),
        UserInput(
            username=username,
            password="correct horse battery",
            role=Role.INSTITUTION.value,
            institution_id=institution.id,
        ),
    )
    bad = new_number()
    bad = bad[:17] + ("1" if bad[17] != "1" else "2")
    roster = tmp_path / "花名册.csv"
    roster.write_bytes(f"姓名,身份证号\n张三,{new_number()}\n李四,{bad}\n".encode("gbk"))

    refused = registry(test_env, "import-roster", str(cohort.id), str(roster), "--as-username", username)
    assert refused.returncode == 1, refused.stderr
    assert "refused" in refused.stdout and "row 3, column 身份证号" in refused.stdout
    assert bad not in refused.stdout + refused.stderr

    out = tmp_path / "refused.xlsx"
    partial = registry(
        test_env, "import-roster", str(cohort.id), str(roster), "--mode", "valid_rows",
        "--as-username", username, "--refused-out", str(out),
    )  # fmt: skip
    assert partial.returncode == 0, partial.stderr
    assert "1 of 2 rows imported, 1 refused" in partial.stdout
    assert out.exists() and out.stat().st_size > 0
    assert await Enrolment.filter(cohort_id=cohort.id).count() == 1

    again = registry(test_env, "import-roster", str(cohort.id), str(roster), "--mode", "valid_rows")
    assert again.returncode == 0 and "nothing changed" in again.stdout

    stranger = registry(test_env, "import-roster", str(uuid.uuid4()), str(roster))
    assert stranger.returncode == 2 and "no such cohort" in stranger.stderr


async def test_bench_smoke(test_env: dict[str, str], database: None) -> None:
    """A tiny run so the benchmark cannot rot; no timing is asserted."""
    result = registry(
        test_env, "bench", "import", "--rows", "2000", "--cohorts", "20", "--institutions", "3",
        "--xlsx-rows", "2000", "--report-only", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "roster import, 2,000 rows in 20 files, rows/s" in out
    assert "roster import, time against raw COPY" in out
    assert "raw asyncpg COPY of the same rows, seconds (median of 3)" in out
    assert "peak RSS, importing a 2,000-row XLSX" in out
    assert "baseline (same run)" in out
    assert ">= 5,000 rows/s" in out and "<= 10 x" in out


async def test_bench_http_smoke(test_env: dict[str, str], database: None) -> None:
    """The HTTP upload benchmark at a tiny scale: uvicorn, the load generator, the figures."""
    result = registry(
        test_env, "bench", "http", "--http-uploads", "6", "--http-clients", "2", "--http-workers", "1",
        "--report-only", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "roster upload over HTTP, 60 rows, p95 (n=6, 2 clients, 1 workers)" in out
    assert "<= 150 ms" in out and "the service call alone" in out
    assert "upload over HTTP, p50" in out and "upload over HTTP, p99" in out
    assert "load generator's CPU" in out
