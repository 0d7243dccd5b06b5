"""``registry bench import``: the city year's enrolments through the roster import service.

1. Reference data (the shipped catalogue), institutions and cohorts (open, with room).
2. ``--rows`` synthetic valid people (``make_number`` with Luoyang address codes), written
   as one CSV roster per cohort, in memory, before the clock starts.
3. Timed: every file through :func:`registry.training.roster.service.import_roster` (parse,
   validate, encrypt, blind-index, set-based writes, batch row, audit event) in
   ``--processes`` child processes (:mod:`cli.bench.import_worker`, each its own event loop
   and connection pool, as the API's workers), ``--concurrency`` files at a time each -> rows/s.
4. Timed, same run: a raw asyncpg COPY of the same number of rows into scratch tables
   shaped like ``trainee`` and ``enrolment`` (values prepared beforehand), three times
   around the import, the median -> the ratio.
5. A ``--xlsx-rows`` XLSX roster imported by a child process (:mod:`cli.bench.memory_probe`)
   whose peak RSS (``ru_maxrss``) is the memory figure.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import datetime as dt
import io
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.bench import Figure
from registry.core.clock import business_today

IMPORT_BUDGET_ROWS_PER_S = 5_000
"""DESIGN.md section 10: the city year at >= 5,000 rows/s ..."""
IMPORT_BUDGET_RATIO_TO_COPY = 10
"""... and at most 10x the time of a raw asyncpg COPY of the same rows in the same run."""
MEMORY_BUDGET_MB = 300

# Luoyang address codes as they appear in ID numbers, retired ones included (410381 偃师市,
# 410322 孟津县 and 410306 吉利区 stay valid for life).
ADDRESS_CODES = (
    "410302", "410303", "410304", "410305", "410306", "410307", "410308", "410311",
    "410322", "410323", "410324", "410325", "410326", "410327", "410328", "410329", "410381",
)  # fmt: skip
HOUSEHOLD = (
    "涧西区",
    "老城区",
    "西工区",
    "洛龙区",
    "偃师区",
    "孟津区",
    "新安县",
    "宜阳县",
    "嵩县",
    "410329",
    "",
)
GROUPS = ("", "", "", "农民工", "高校毕业生", "退役军人", "农村劳动力", "就业困难人员、残疾人")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩鹏飞凯欣怡佳琪子涵梓轩俊博晨阳雪梅春"
HEADER = ["序号", "姓名", "身份证号", "手机号", "户籍县区", "重点群体", "学时"]


def person_rows(count: int, *, offset: int = 0, seed: int = 2025) -> Iterator[list[Any]]:
    """``count`` synthetic roster rows with distinct valid ID numbers (``offset`` skips the first)."""
    from registry.people.rules.idnumber import make_number

    rng = random.Random(seed + offset)
    base = dt.date(1966, 1, 1)
    codes = len(ADDRESS_CODES)
    for i in range(offset, offset + count):
        slot, code_index = divmod(i, codes)
        day, sequence = divmod(slot, 1000)
        number = make_number(ADDRESS_CODES[code_index], base + dt.timedelta(days=day), sequence)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        yield [
            i - offset + 1,
            name,
            number,
            f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
            rng.choice(HOUSEHOLD),
            rng.choice(GROUPS),
            rng.choice((0, 16, 40, 80)),
        ]


def csv_roster(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for number, row in enumerate(rows, start=1):
        writer.writerow([number, *row[1:]])
    return out.getvalue().encode()


def write_xlsx_roster(path: Path, rows: Iterator[list[Any]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append(["2025年洛阳市职业技能培训花名册"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


@dataclass
class Scratch:
    admin_url: str
    database: str
    url: str


async def _setup_institutions(count: int) -> list[uuid.UUID]:
    from registry.accounts.institutions import InstitutionInput, create_institution
    from registry.accounts.rules import uscc_with_check
    from registry.core.principal import system

    ids = []
    for n in range(count):
        body = f"91410305{uuid.uuid4().int % 10**9:09d}"
        institution = await create_institution(
            system("bench"),
            InstitutionInput(
                uscc=uscc_with_check(body),
                name=f"基准测试培训学校{n + 1}",
                division_code="410305",
                kinds=["training"],
                approved_years=[2025],
            ),
        )
        ids.append(institution.id)
    return ids


async def _create_cohorts(
    institution_ids: list[uuid.UUID], sizes: list[int], occupation: str | None, prefix: str = "BENCH"
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Running cohorts (started ten days ago: the rosters carry attended hours), one COPY;
    returns (cohort id, institution id)."""
    from tortoise import connections

    now = dt.datetime.now(dt.UTC)
    start = business_today() - dt.timedelta(days=10)
    records = []
    out = []
    for n, size in enumerate(sizes):
        cohort_id = uuid.uuid4()
        institution_id = institution_ids[n % len(institution_ids)]
        out.append((cohort_id, institution_id))
        records.append(
            (
                cohort_id, institution_id, f"{prefix}-{n:05d}", f"基准班{n + 1}", "vocational", occupation,
                "skill_level" if occupation else None, 5 if occupation else None, None, "general",
                "in_person", "410305", 80, start, start + dt.timedelta(days=60), size, "running", now, now,
            )
        )  # fmt: skip
    columns = [
        "id", "institution_id", "reference", "name", "kind", "occupation_id", "certificate_kind",
        "certificate_level", "startup_course", "training_mode", "delivery", "division_id", "planned_hours",
        "start_date", "end_date", "capacity", "status", "created_at", "updated_at",
    ]  # fmt: skip
    client: Any = connections.get("default")
    async with client.acquire_connection() as raw:
        await raw.copy_records_to_table("cohort", records=records, columns=columns)
    return out


async def _raw_copy(rows: int, vault: Any) -> float:
    """Seconds for a raw asyncpg COPY of ``rows`` trainee rows and ``rows`` enrolment rows
    (values prepared before the clock starts) into scratch tables shaped like the real ones."""
    from tortoise import connections

    now = dt.datetime.now(dt.UTC)
    sample_cipher = vault.encrypt("410305199001011234", context="id_number")
    trainee_records = []
    enrolment_records = []
    cohort_id = uuid.uuid4()
    for i in range(rows):
        trainee_id = uuid.uuid4()
        trainee_records.append(
            (
                trainee_id, f"{i:064x}", sample_cipher, "410305********1234", "张三", "M", dt.date(1990, 1, 1),
                f"{i:064x}", sample_cipher, "138****5678", "410305", '["migrant_worker"]', now, now,
            )
        )  # fmt: skip
        enrolment_records.append(
            (uuid.uuid4(), cohort_id, trainee_id, 40, "in_progress", "[]", None, now, now)
        )
    client: Any = connections.get("default")
    async with client.acquire_connection() as raw:
        await raw.execute("DROP TABLE IF EXISTS bench_trainee, bench_enrolment")
        await raw.execute("CREATE TABLE bench_trainee (LIKE trainee INCLUDING ALL)")
        await raw.execute("CREATE TABLE bench_enrolment (LIKE enrolment INCLUDING ALL)")
        started = time.perf_counter()
        async with raw.transaction():
            await raw.copy_records_to_table(
                "bench_trainee",
                records=trainee_records,
                columns=[
                    "id", "id_index", "id_cipher", "id_masked", "name", "sex", "birth_date", "phone_index",
                    "phone_cipher", "phone_masked", "household_division_id", "groups", "created_at", "updated_at",
                ],
            )  # fmt: skip
            await raw.copy_records_to_table(
                "bench_enrolment",
                records=enrolment_records,
                columns=[
                    "id", "cohort_id", "trainee_id", "attended_hours", "outcome", "groups", "import_batch_id",
                    "created_at", "updated_at",
                ],
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        await raw.execute("DROP TABLE bench_trainee, bench_enrolment")
    return elapsed


def _import_in_processes(
    url: str,
    keys: dict[str, str],
    shares: list[list[tuple[uuid.UUID, uuid.UUID | None, bytes, str]]],
    concurrency: int,
) -> tuple[list[dict[str, Any]], float]:
    """Start one :mod:`cli.bench.import_worker` per share, wait until every one is connected,
    start them together and return their reports and the seconds until the last finished."""
    env = {**os.environ, **keys, "DATABASE_URL": url}
    children: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        try:
            for n, share in enumerate(shares):
                spec = Path(tmp) / f"share-{n}.pickle"
                spec.write_bytes(pickle.dumps({"concurrency": concurrency, "files": share}))
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "cli.bench.import_worker", str(spec)],
                        env=env,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            for child in children:
                assert child.stdout is not None
                if child.stdout.readline().strip() != "ready":
                    raise RuntimeError("an import process did not start (see its output above)")
            started = time.perf_counter()
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            outputs = [child.communicate(timeout=3600)[0] for child in children]
            seconds = time.perf_counter() - started
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
    if any(child.returncode != 0 for child in children):
        raise RuntimeError("an import process failed (see its output above)")
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs], seconds


async def _close_tortoise() -> None:
    """Close the pool and forget Tortoise's global context, so that the next benchmark
    (another ``asyncio.run``) can initialise it again."""
    from tortoise import Tortoise

    await Tortoise.close_connections()


def _memory_probe(url: str, keys: dict[str, str], cohort_id: uuid.UUID, path: Path) -> dict[str, Any]:
    env = {**os.environ, **keys, "DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "cli.bench.memory_probe", str(cohort_id), str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the memory probe failed:\n{result.stderr[-3000:]}")
    probe: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return probe


async def run_import_bench(
    scratch: Scratch,
    *,
    rows: int,
    cohorts: int,
    institutions: int,
    xlsx_rows: int,
    processes: int,
    concurrency: int,
    say: Callable[[str], None],
) -> list[Figure]:
    from registry.core import db
    from registry.core.crypto import Vault
    from registry.core.principal import Principal, system
    from registry.enums import Role
    from registry.reference.service import load_reference
    from registry.training.roster.service import MAX_ROWS, import_roster

    keys = {
        name: base64.b64encode(os.urandom(32)).decode()
        for name in ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY")
    }
    vault = Vault(
        data_key=base64.b64decode(keys["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(keys["REGISTRY_INDEX_KEY"]),
    )
    say(f"migrating the scratch database {scratch.database} ...")
    scratch_trail()
    await db.migrate(scratch.url)
    await db.init_db(scratch.url, pool_max_size=max(4, concurrency + 1))
    try:
        say("loading the reference catalogue, institutions and cohorts ...")
        await load_reference(system("bench"))
        cohorts = max(1, min(cohorts, rows))
        institution_ids = await _setup_institutions(max(1, min(institutions, cohorts)))
        sizes = [rows // cohorts + (1 if n < rows % cohorts else 0) for n in range(cohorts)]
        from tortoise import connections

        _, occ = await connections.get("default").execute_query(
            "SELECT code FROM occupation WHERE level = 4 ORDER BY code LIMIT 1"
        )
        occupation = occ[0]["code"] if occ else None
        cohort_rows = await _create_cohorts(institution_ids, sizes, occupation)

        say(f"generating {rows:,} people as {cohorts:,} CSV rosters in memory ...")
        warmup_size = max(100, rows // 50)
        warmup = list(person_rows(warmup_size, offset=rows + max(xlsx_rows, 0)))
        warmup_cohorts = await _create_cohorts(
            institution_ids, [1000] * ((warmup_size + 999) // 1000), occupation, prefix="WARM"
        )
        warmup_files = []
        for n, (cohort_id, institution_id) in enumerate(warmup_cohorts):
            principal = Principal(
                kind="user", id=uuid.uuid4(), role=Role.INSTITUTION, institution_id=institution_id
            )
            warmup_files.append(
                (cohort_id, principal, csv_roster(warmup[n * 1000 : (n + 1) * 1000]), "warm.csv")
            )
        people = person_rows(rows)
        files: list[tuple[uuid.UUID, Principal, bytes, str]] = []
        for (cohort_id, institution_id), size in zip(cohort_rows, sizes, strict=True):
            chunk = [next(people) for _ in range(size)]
            principal = Principal(
                kind="user", id=uuid.uuid4(), role=Role.INSTITUTION, institution_id=institution_id
            )
            files.append((cohort_id, principal, csv_roster(chunk), f"{cohort_id}.csv"))

        # A live registry holds earlier years and autovacuum keeps its statistics; a fresh
        # scratch database has neither, and the plans cached while its tables were empty
        # (foreign-key checks among them) would scan the tables whole. Warm it up.
        say(f"warming up: {len(warmup):,} rows in {len(warmup_files)} files, then ANALYZE ...")
        for cohort_id, principal, data, name in warmup_files:
            await import_roster(principal, vault, cohort_id, data, name)
        await connections.get("default").execute_script("ANALYZE")
        await db.close_db()  # fresh connections: no plan cached before the ANALYZE
        await db.init_db(scratch.url, pool_max_size=max(4, concurrency + 1))

        # The baseline is timed three times, once before and twice after the import, and its
        # median is used: a shared machine's load changes over a minute, a 3-second COPY
        # alone would catch a quiet or a busy moment.
        say(f"raw asyncpg COPY of {rows:,} trainee + enrolment rows (the baseline, 1 of 3) ...")
        copy_runs = [await _raw_copy(rows, vault)]
        say(
            f"importing {rows:,} rows through the import service: {processes} processes, "
            f"{concurrency} files at a time each ..."
        )
        share = [
            [
                (cohort_id, principal.institution_id, data, name)
                for cohort_id, principal, data, name in files[n::processes]
            ]
            for n in range(processes)
        ]
        results, service_seconds = await asyncio.to_thread(
            _import_in_processes, scratch.url, keys, share, concurrency
        )
        accepted = sum(r["accepted"] for r in results)
        if accepted != rows:
            raise RuntimeError(f"{accepted} rows imported, expected {rows}")
        service_rate = rows / service_seconds
        worker_cpu = sum(r["cpu_seconds"] for r in results)
        say(f"  {rows:,} rows in {service_seconds:.2f} s ({worker_cpu:.1f} s CPU in the import processes)")

        say("raw asyncpg COPY again (2 and 3 of 3) ...")
        copy_runs += [await _raw_copy(rows, vault) for _ in range(2)]
        copy_seconds = sorted(copy_runs)[1]
        copy_rate = rows / copy_seconds
        say(f"  {rows:,} rows in {', '.join(f'{s:.2f}' for s in copy_runs)} s: median {copy_seconds:.2f} s")

        slower = copy_rate / service_rate
        figures = [
            Figure(
                f"roster import, {rows:,} rows in {cohorts:,} files, rows/s",
                service_rate,
                "rows/s",
                IMPORT_BUDGET_ROWS_PER_S,
                True,
                compared_with="raw COPY's time",
                ratio=slower,
                baseline=f"{copy_rate:,.0f} rows/s",
            ),
            Figure(
                "roster import, time against raw COPY",
                slower,
                "x",
                IMPORT_BUDGET_RATIO_TO_COPY,
                False,
                compared_with="raw COPY's time",
                ratio=slower,
                baseline=f"{copy_seconds:.2f} s",
            ),
            Figure("  roster import, seconds", service_seconds, "s", None, False),
            Figure(
                f"  CPU of the {processes} import processes a file (PostgreSQL's not included)",
                1000 * worker_cpu / cohorts,
                "ms",
                None,
                False,
            ),
            Figure(
                "  raw asyncpg COPY of the same rows, seconds (median of 3)", copy_seconds, "s", None, False
            ),
        ]

        if xlsx_rows > 0:
            with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
                path = Path(tmp) / "roster-100k.xlsx"
                say(f"writing a {xlsx_rows:,}-row XLSX roster ...")
                write_xlsx_roster(path, person_rows(xlsx_rows, offset=rows))
                size_mb = path.stat().st_size / 1e6
                principal_institution = institution_ids[0]
                (big_cohort, _), *_ = await _create_cohorts(
                    [principal_institution], [max(xlsx_rows, 1)], occupation, prefix="XLSX"
                )
                say(f"importing it ({size_mb:.1f} MB) in a child process, measuring its peak RSS ...")
                probe = await asyncio.to_thread(_memory_probe, scratch.url, keys, big_cohort, path)
                if probe["accepted"] != xlsx_rows:
                    raise RuntimeError(f"the XLSX import accepted {probe['accepted']} of {xlsx_rows} rows")
                if xlsx_rows > MAX_ROWS:
                    say(f"note: {xlsx_rows:,} rows is above the import limit of {MAX_ROWS:,}")
            figures += [
                Figure(
                    f"peak RSS, importing a {xlsx_rows:,}-row XLSX",
                    probe["peak_rss_mb"],
                    "MB",
                    MEMORY_BUDGET_MB,
                    False,
                    compared_with="of the RSS before the import",
                    ratio=probe["peak_rss_mb"] / probe["start_rss_mb"],
                    baseline=f"{probe['start_rss_mb']:.1f} MB before the import",
                ),
                Figure(f"  XLSX import time ({size_mb:.1f} MB file)", probe["seconds"], "s", None, False),
            ]
        return figures
    finally:
        await _close_tortoise()


def scratch_trail() -> None:
    """A throwaway audit key and checkpoint file: the scratch database's chain is never verified."""
    import tempfile

    from registry.audit.rules import AuditKeyring
    from registry.audit.service import configure_trail

    folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    configure_trail(AuditKeyring(os.urandom(32)), folder / "audit-checkpoints.log")
