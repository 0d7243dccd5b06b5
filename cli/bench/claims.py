"""``registry bench claims``: a city year's training claims computed by the real workers.

1. Reference data (the shipped catalogue, its priority list and the shipped subsidy
   policies, as ``registry load-reference`` loads them), then a city year written
   set-based by COPY (a benchmark, not the services): approved institutions, a few
   assessment bodies, ``--lines / --cohort-size`` CLOSED vocational cohorts over several
   occupations (some on the priority list in force, so the uplift applies), one trainee a
   enrolment (encrypted, blind-indexed ID numbers from ``make_number``; a few invalid ones,
   a few over 59), phones on the enrolments (a few shared by 5+ people across
   institutions), a few people enrolled in an overlapping cohort of another institution,
   and certificates for most people (some missing, some revoked; some low attendance,
   some withdrawn or failed): every outcome occurs.
2. ``--workers`` real Celery worker processes (``celery -A workers.celery_app:app worker
   --pool=prefork``, as in production and in the worker tests) on the benchmark's own
   queue, started, and their start-up relay done, before any claim is filed.
3. One training claim a cohort through :func:`registry.subsidy.claims.file_claim` (the real
   use case: the claim row, its audit event and its outbox row), with the job sender
   unplugged, so nothing is sent yet; then ``ANALYZE``.
4. Timed: the outbox relay (:func:`registry.core.outbox.relay`, a
   :class:`workers.sender.CelerySender` plugged in) sends every claim's job and the
   workers compute them; the clock runs from the first send until the database shows
   every claim ``computed`` (polled) -> lines/s.
5. Baseline, same run: every computed claim's stored snapshot read back and decoded
   (outside the clock), then :func:`registry.subsidy.snapshot.items` +
   :func:`registry.subsidy.rules.evaluate_batch` for all of them in this one process
   (three times, the median) -> the pure rule's lines/s and the ratio of the workers'
   wall time to it. The pure recomputation must give every claim's stored line count and
   total (the claim row's and the sum of its stored lines), or the benchmark fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from cli.bench import Figure
from cli.bench.roster import ADDRESS_CODES, GIVEN, SURNAMES, Scratch, _close_tortoise, scratch_trail

CLAIMS_BUDGET_LINES_PER_S = 10_000
"""DESIGN.md section 10: claim computation, 147,000 lines by the workers, >= 10,000 lines/s ..."""
CLAIMS_BUDGET_RATIO_TO_PURE = 3
"""... and at most 3x the time of the pure rule function alone over the same inputs."""

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 90.0
POLL_EVERY_S = 0.2
PLANNED_HOURS = 80
LEVELS = (5, 5, 4, 4, 3)
SHARED_PHONE_EVERY = 700
"""Every 700th enrolment gives one of a few shared phones, each for ~7 people of different
cohorts (SHARED_PHONE fires at 5): 30 such phones in a city year."""


@dataclasses.dataclass(frozen=True)
class CityYear:
    cohorts: list[tuple[uuid.UUID, uuid.UUID]]
    """(cohort id, institution id)."""
    lines: int
    priority_cohorts: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _number(g: int) -> tuple[str, dt.date]:
    """The ``g``-th person's valid ID number and birth date: distinct for every ``g``, born
    1970-2004, but every 1,500th born in 1962 (over 59: AGE_RANGE)."""
    from registry.people.rules.idnumber import make_number

    code_index, rest = g % len(ADDRESS_CODES), g // len(ADDRESS_CODES)
    sequence, k = rest % 1000, rest // 1000
    if g % 1500 == 7:
        birth = dt.date(1962, 1, 1) + dt.timedelta(days=k)
    else:
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=(k * 1409 + sequence * 37) % 12_775)
    return make_number(ADDRESS_CODES[code_index], birth, sequence), birth


def _bad_check_digit(number: str) -> str:
    """The same number with a wrong check digit (ID_INVALID)."""
    last = number[-1]
    return number[:17] + ("0" if last != "0" else "1")


async def _occupations() -> tuple[list[str], list[str]]:
    """Detailed occupations on the priority list in force today, and some that are not."""
    from tortoise import connections

    from registry.core.clock import business_today
    from registry.reference.queries import IN_FORCE

    conn = connections.get("default")
    _, on = await conn.execute_query(
        "SELECT o.code FROM occupation AS o JOIN priority_list_entry AS p ON p.occupation_id = o.code "
        f"WHERE o.level = 4 AND p.priority_list_id = {IN_FORCE.format(p='$1')} ORDER BY o.code LIMIT 3",
        [business_today() - dt.timedelta(days=400)],
    )
    _, off = await conn.execute_query(
        "SELECT o.code FROM occupation AS o WHERE o.level = 4 AND NOT EXISTS "
        "(SELECT 1 FROM priority_list_entry AS p WHERE p.occupation_id = o.code) ORDER BY o.code LIMIT 4"
    )
    return [r["code"] for r in on], [r["code"] for r in off]


async def _write_city_year(vault: Any, *, lines: int, cohort_size: int, seed: int = 2026) -> CityYear:
    """The city year, by COPY (see the module's docstring)."""
    from tortoise import connections

    from registry.accounts.rules import uscc_with_check
    from registry.core.clock import business_today
    from registry.people.queries import ID_CONTEXT, PHONE_CONTEXT
    from registry.people.rules.idnumber import mask
    from registry.people.rules.personal import mask_phone

    rng = random.Random(seed)
    now = _now()
    today = business_today()
    priority, plain = await _occupations()
    occupations = [*priority, *plain]
    if not occupations:
        raise RuntimeError("the reference catalogue has no detailed occupation")
    n_cohorts = max(1, -(-lines // cohort_size))
    sizes = [lines // n_cohorts + (1 if n < lines % n_cohorts else 0) for n in range(n_cohorts)]
    n_institutions = max(2, n_cohorts // 20)
    shared_phones = max(1, lines // SHARED_PHONE_EVERY // 7)
    years = sorted({(today - dt.timedelta(days=d)).year for d in range(0, 400)})

    def institution(n: int, kinds: list[str], approved: list[int]) -> tuple[Any, ...]:
        body = f"9141030{5 if kinds == ['training'] else 6}{n:09d}"
        return (
            uuid.uuid4(), uscc_with_check(body), f"基准理赔机构{n + 1}", json.dumps(kinds),
            json.dumps(approved), "active", now, now, "410305",
        )  # fmt: skip

    institutions = [institution(n, ["training"], years) for n in range(n_institutions)]
    assessors = [institution(n_institutions + n, ["assessment"], years) for n in range(3)]
    # One more institution, not on the approved list for these years, runs every 200th
    # cohort (INSTITUTION_NOT_APPROVED on their lines).
    unapproved = institution(n_institutions + 3, ["training"], [2019])

    cohorts: list[tuple[Any, ...]] = []
    out: list[tuple[uuid.UUID, uuid.UUID]] = []
    priority_cohorts = 0
    for i in range(n_cohorts):
        cohort_id = uuid.uuid4()
        institution_id = (unapproved if i % 200 == 199 else institutions[i % n_institutions])[0]
        occupation = occupations[i % len(occupations)]
        priority_cohorts += occupation in priority
        end = today - dt.timedelta(days=20 + (i * 300) // n_cohorts)
        start = end - dt.timedelta(days=40)
        cohorts.append(
            (
                cohort_id, institution_id, f"CLAIM-{i:05d}", f"理赔基准班{i + 1}", "vocational", occupation,
                "skill_level", LEVELS[i % len(LEVELS)], None, "general", "in_person", "410305",
                PLANNED_HOURS, start, end, sizes[i], "closed", now, now, now,
            )
        )  # fmt: skip
        out.append((cohort_id, institution_id))

    trainees: list[tuple[Any, ...]] = []
    enrolments: list[tuple[Any, ...]] = []
    certificates: list[tuple[Any, ...]] = []
    g = 0
    first_trainee: dict[int, uuid.UUID] = {}
    for i, size in enumerate(sizes):
        cohort = cohorts[i]
        cohort_id, occupation, level, end = cohort[0], cohort[5], cohort[7], cohort[14]
        for slot in range(size):
            g += 1
            # Every 40th cohort's first person is also enrolled in the next cohort (another
            # institution, the same weeks): OVERLAP on both lines.
            borrowed = i % 40 == 1 and slot == 0 and (i - 1) in first_trainee
            if borrowed:
                trainee_id = first_trainee[i - 1]
            else:
                trainee_id = uuid.uuid4()
                number, birth = _number(g)
                if g % 2000 == 11:
                    number = _bad_check_digit(number)
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                trainees.append(
                    (
                        trainee_id, vault.blind_index(number, context=ID_CONTEXT),
                        vault.encrypt(number, context=ID_CONTEXT), mask(number), name,
                        "M" if int(number[16]) % 2 else "F", birth, None, None, None, "410305", "[]", now, now,
                    )
                )  # fmt: skip
                if slot == 0:
                    first_trainee[i] = trainee_id
            phone = (
                f"1880000{(g // SHARED_PHONE_EVERY) % shared_phones:04d}"
                if g % SHARED_PHONE_EVERY == 3
                else f"13{g % 10**9:09d}"
            )
            outcome = "withdrawn" if g % 29 == 3 else "failed" if g % 53 == 4 else "completed"
            hours = Decimal(50) if g % 37 == 5 else Decimal(PLANNED_HOURS)
            enrolments.append(
                (
                    uuid.uuid4(), cohort_id, trainee_id, hours, outcome, "[]", "410305", None,
                    vault.encrypt(phone, context=PHONE_CONTEXT), vault.blind_index(phone, context=PHONE_CONTEXT),
                    mask_phone(phone), "[]", now, now,
                )
            )  # fmt: skip
            if outcome == "completed" and g % 25 != 9:
                certificates.append(
                    (
                        uuid.uuid4(), f"BENCH{g:012d}", "skill_level", level, False, g % 61 == 2,
                        end + dt.timedelta(days=7), "revoked" if g % 331 == 8 else "valid", "", now, now,
                        cohort_id, assessors[g % len(assessors)][0], occupation, trainee_id, "",
                    )
                )  # fmt: skip

    client: Any = connections.get("default")
    async with client.acquire_connection() as raw, raw.transaction():
        await raw.copy_records_to_table(
            "institution",
            records=[*institutions, *assessors, unapproved],
            columns=[
                "id", "uscc", "name", "kinds", "approved_years", "status", "created_at", "updated_at",
                "division_id",
            ],
        )  # fmt: skip
        await raw.copy_records_to_table(
            "cohort",
            records=cohorts,
            columns=[
                "id", "institution_id", "reference", "name", "kind", "occupation_id", "certificate_kind",
                "certificate_level", "startup_course", "training_mode", "delivery", "division_id",
                "planned_hours", "start_date", "end_date", "capacity", "status", "created_at", "updated_at",
                "closed_at",
            ],
        )  # fmt: skip
        await raw.copy_records_to_table(
            "trainee",
            records=trainees,
            columns=[
                "id", "id_index", "id_cipher", "id_masked", "name", "sex", "birth_date", "phone_index",
                "phone_cipher", "phone_masked", "household_division_id", "groups", "created_at", "updated_at",
            ],
        )  # fmt: skip
        await raw.copy_records_to_table(
            "enrolment",
            records=enrolments,
            columns=[
                "id", "cohort_id", "trainee_id", "attended_hours", "outcome", "groups", "household_division_id",
                "name_as_given", "phone_cipher", "phone_index", "phone_masked", "review_flags", "created_at",
                "updated_at",
            ],
        )  # fmt: skip
        await raw.copy_records_to_table(
            "certificate",
            records=certificates,
            columns=[
                "id", "number", "kind", "level", "is_renewal", "direct_recognition", "issue_date", "status",
                "status_reason", "created_at", "updated_at", "cohort_id", "issuer_id", "occupation_id",
                "trainee_id", "status_changed_by_role",
            ],
        )  # fmt: skip
    return CityYear(cohorts=out, lines=len(enrolments), priority_cohorts=priority_cohorts)


# ---------------------------------------------------------------------------
# The workers
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Workers:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the Celery worker died ({self.process.returncode}):\n{self.log()[-4000:]}")


@contextlib.contextmanager
def running_workers(env: dict[str, str], folder: Path, queue: str, concurrency: int) -> Iterator[Workers]:
    """``celery worker --pool=prefork --concurrency N`` on ``queue``, ready and its start-up
    relay done; warm shutdown (then the process group killed) on exit."""
    log_path = folder / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "workers.celery_app:app", "worker",
        "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO",
        "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    workers = Workers(process, log_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "registry.core.outbox.relay[" not in workers.log() or " succeeded" not in workers.log():
            workers.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker was not ready in time:\n{workers.log()[-4000:]}")
            time.sleep(0.2)
        yield workers
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait(timeout=10)


def _tree_cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User + system CPU seconds of a process and its children (the worker and its pool)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        if not children:
            raise OSError
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to this database, where the server
    runs on this machine (its processes readable in /proc); empty otherwise."""
    from tortoise import connections

    _, rows = await connections.get("default").execute_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
    )
    return {row["pid"]: _tree_cpu_seconds(row["pid"], children=False) for row in rows}


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every process, other users' too)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class _Held:
    """The job port while claims are filed: every send refused, so each outbox row stays
    unsent for the timed relay."""

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        raise RuntimeError("held back by the benchmark")


async def _file_claims(cohorts: list[tuple[uuid.UUID, uuid.UUID]], concurrency: int = 4) -> list[uuid.UUID]:
    from registry.core import jobs
    from registry.core.principal import Principal
    from registry.enums import Role, SubsidyKind
    from registry.subsidy.claims import file_claim

    gate = asyncio.Semaphore(concurrency)

    async def one(cohort_id: uuid.UUID, institution_id: uuid.UUID) -> uuid.UUID:
        principal = Principal(
            kind="user", id=uuid.uuid4(), role=Role.INSTITUTION, institution_id=institution_id
        )
        async with gate:
            view = await file_claim(principal, cohort_id, SubsidyKind.TRAINING)
        return view.id

    before = jobs.get_job_sender()
    outbox_log = logging.getLogger("registry.core.outbox")
    level = outbox_log.level
    jobs.set_job_sender(_Held())
    outbox_log.setLevel(logging.CRITICAL)
    try:
        return list(await asyncio.gather(*(one(c, i) for c, i in cohorts)))
    finally:
        jobs.set_job_sender(before)
        outbox_log.setLevel(level)


async def _status_counts() -> dict[str, int]:
    from tortoise import connections

    _, rows = await connections.get("default").execute_query(
        "SELECT status, count(*) AS n FROM subsidy_claim GROUP BY status"
    )
    return {r["status"]: int(r["n"]) for r in rows}


@dataclasses.dataclass(frozen=True)
class Timed:
    wall: float
    """Seconds from the first send until every claim was computed."""
    relay: float
    """Seconds the relay took to send every job."""
    sent: int
    after_relay: tuple[float, int]
    """(seconds, claims computed) from the first poll after the relay finished to the end:
    the workers without the relay beside them on the same cores."""


async def _relay_and_wait(
    claims: int, workers: Workers, say: Callable[[str], None], timeout_s: float
) -> Timed:
    """Relay every outbox row and poll until every claim is computed."""
    from registry.core import outbox

    started = time.perf_counter()
    relay = asyncio.create_task(outbox.relay(min_age_seconds=0, limit=claims + 10))
    relay_seconds: float | None = None
    sent = 0
    last_report = started
    mark: tuple[float, int] | None = None
    while True:
        await asyncio.sleep(POLL_EVERY_S)
        if relay_seconds is None and relay.done():
            report = relay.result()
            relay_seconds, sent = time.perf_counter() - started, report.sent
            if report.failed:
                raise RuntimeError("the outbox relay could not send a job (is the broker up?)")
        counts = await _status_counts()
        if relay_seconds is not None and mark is None:
            mark = (time.perf_counter(), counts.get("computed", 0))
        if counts.get("failed"):
            raise RuntimeError(f"{counts['failed']} claim(s) failed to compute:\n{workers.log()[-4000:]}")
        if counts.get("computed", 0) >= claims:
            wall = time.perf_counter() - started
            break
        workers.check_alive()
        now = time.perf_counter()
        if now - last_report > 10:
            say(f"  {counts.get('computed', 0):,} of {claims:,} claims computed after {now - started:.0f} s")
            last_report = now
        if now - started > timeout_s:
            raise RuntimeError(f"not every claim was computed within {timeout_s:.0f} s: {counts}")
    if relay_seconds is None:
        report = await relay
        relay_seconds, sent = time.perf_counter() - started, report.sent
    end = started + wall
    after = (0.0, 0) if mark is None else (end - mark[0], claims - mark[1])
    return Timed(wall=wall, relay=relay_seconds, sent=sent, after_relay=after)


async def _stored() -> list[tuple[uuid.UUID, bytes, int, int, int]]:
    """(claim id, snapshot JSON, line_count, total_fen, the sum of its stored lines' total_fen)."""
    from tortoise import connections

    client: Any = connections.get("default")
    async with client.acquire_connection() as raw:
        rows = await raw.fetch(
            "SELECT s.id, s.snapshot::text AS snapshot, s.line_count, s.total_fen, "
            "(SELECT coalesce(sum(l.total_fen), 0) FROM subsidy_line AS l WHERE l.claim_id = s.id) AS lines_fen, "
            "(SELECT count(*) FROM subsidy_line AS l WHERE l.claim_id = s.id) AS lines "
            "FROM subsidy_claim AS s WHERE s.status = 'computed' ORDER BY s.id"
        )
    out = []
    for r in rows:
        if r["lines"] != r["line_count"]:
            raise RuntimeError(
                f"claim {r['id']}: {r['lines']} stored lines, the claim says {r['line_count']}"
            )
        out.append((r["id"], r["snapshot"].encode(), r["line_count"], r["total_fen"], int(r["lines_fen"])))
    return out


def _pure_pass(snapshots: list[Any], policy: Any) -> tuple[float, list[tuple[int, int]]]:
    """One pass of the pure rule over every claim (``items`` + ``evaluate_batch``, one claim
    after the other, only those two on the clock): (seconds, (lines, total_fen) per claim)."""
    import gc

    from registry.subsidy import snapshot
    from registry.subsidy.claims import claim_line
    from registry.subsidy.rules import evaluate_batch

    gc.collect()
    seconds = 0.0
    totals = []
    clock = time.perf_counter
    for snap in snapshots:
        started = clock()
        evaluations = evaluate_batch(snapshot.items(snap, policy))
        seconds += clock() - started
        found = [line for line in (claim_line(snap, e) for e in evaluations) if line is not None]
        totals.append((len(found), sum(line.total_fen for line in found)))
    return seconds, totals


async def run_claims_bench(
    scratch: Scratch,
    *,
    lines: int,
    cohort_size: int,
    workers: int,
    say: Callable[[str], None],
) -> list[Figure]:
    from registry.core import db, jobs
    from registry.core.crypto import Vault
    from registry.core.principal import system
    from registry.core.settings import load_settings
    from registry.reference.service import load_reference
    from registry.subsidy import queries, snapshot
    from registry.subsidy.service import load_shipped_policies, policy_of
    from workers.celery_app import create_celery
    from workers.sender import CelerySender

    keys = {
        name: base64.b64encode(os.urandom(32)).decode()
        for name in ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY", "REGISTRY_TOKEN_KEY", "REGISTRY_AUDIT_KEY")
    }
    vault = Vault(
        data_key=base64.b64decode(keys["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(keys["REGISTRY_INDEX_KEY"]),
    )
    with tempfile.TemporaryDirectory(prefix="registry-bench-claims-") as tmp:
        folder = Path(tmp)
        redis = None
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            from cli.embedded import EmbeddedRedis

            say("REDIS_URL is not set: starting an embedded Redis for the run ...")
            redis = EmbeddedRedis(folder / "redis")
            redis_url = redis.start()
        queue = f"bench-claims-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            **keys,
            "DATABASE_URL": scratch.url,
            "REDIS_URL": redis_url,
            "REGISTRY_QUEUE": queue,
            "REGISTRY_HOME": str(folder / "home"),
            "REGISTRY_AUDIT_CHECKPOINTS": str(folder / "audit-checkpoints.log"),
        }
        for name in (
            "DATABASE_OWNER_URL",
            "REGISTRY_DATA_KEY_PREVIOUS",
            "REGISTRY_AUDIT_KEY_PREVIOUS",
        ):
            env.pop(name, None)
        # This process's app on the same broker and queue (it also gives this process the
        # workers' audit key, so the chain the filings and the computations write is one).
        app = create_celery(load_settings(env))
        try:
            say(f"migrating the scratch database {scratch.database} ...")
            scratch_trail()
            await db.migrate(scratch.url)
            await db.init_db(scratch.url, pool_max_size=6)
            try:
                say("loading the reference catalogue and the subsidy policies ...")
                await load_reference(system("bench"))
                await load_shipped_policies(system("bench"))
                say(f"writing the city year by COPY: {lines:,} enrolments in cohorts of {cohort_size} ...")
                year = await _write_city_year(vault, lines=lines, cohort_size=max(1, cohort_size))
                n_claims = len(year.cohorts)
                from tortoise import connections

                await connections.get("default").execute_script("ANALYZE")

                say(f"starting {workers} Celery worker process(es) (prefork) on the queue {queue} ...")
                with running_workers(env, folder, queue, max(1, workers)) as running:
                    say(f"filing {n_claims:,} training claims through file_claim (the job sender held) ...")
                    filing_started = time.perf_counter()
                    claim_ids = await _file_claims(year.cohorts)
                    filing_seconds = time.perf_counter() - filing_started
                    say(f"  {len(claim_ids):,} claims filed in {filing_seconds:.1f} s; ANALYZE ...")
                    await connections.get("default").execute_script("ANALYZE")
                    say("timed: the relay sends every job, the workers compute every claim ...")
                    before = jobs.get_job_sender()
                    jobs.set_job_sender(CelerySender(app))
                    logging.getLogger("registry.core.outbox").setLevel(logging.WARNING)
                    backends_before = await _backend_cpu()
                    cpu_before = (
                        _tree_cpu_seconds(running.process.pid),
                        time.process_time(),
                        _machine_busy_seconds(),
                    )
                    try:
                        timed = await _relay_and_wait(
                            n_claims, running, say, timeout_s=max(600.0, lines / 50)
                        )
                    finally:
                        jobs.set_job_sender(before)
                    worker_cpu = _tree_cpu_seconds(running.process.pid) - cpu_before[0]
                    bench_cpu = time.process_time() - cpu_before[1]
                    machine_cpu = _machine_busy_seconds() - cpu_before[2]
                    backends_after = await _backend_cpu()
                    database_cpu = sum(
                        seconds - backends_before.get(pid, 0.0) for pid, seconds in backends_after.items()
                    )
                wall, relay_seconds = timed.wall, timed.relay
                if timed.sent != n_claims:
                    raise RuntimeError(f"the relay sent {timed.sent} jobs for {n_claims} claims")
                say(f"  {n_claims:,} claims computed in {wall:.2f} s (the relay took {relay_seconds:.2f} s)")

                say("baseline: the pure rule over every stored snapshot, in this process (3 passes) ...")
                stored = await _stored()
                total_lines = sum(s[2] for s in stored)
                if len(stored) != n_claims or total_lines != year.lines:
                    raise RuntimeError(
                        f"{len(stored)} computed claims with {total_lines} lines; expected {n_claims} "
                        f"with {year.lines}"
                    )
                codes = {snapshot.decode(s[1]).policy_code for s in stored[:1]}
                row = await queries.policy_by_code(codes.pop())
                assert row is not None
                policy = policy_of(row)
                snapshots = [snapshot.decode(s[1]) for s in stored]
                passes = [_pure_pass(snapshots, policy) for _ in range(3)]
                pure_seconds = statistics.median(p[0] for p in passes)
                for (claim_id, _snap, line_count, total_fen, lines_fen), (n, fen) in zip(
                    stored, passes[0][1], strict=True
                ):
                    if (n, fen) != (line_count, total_fen) or fen != lines_fen:
                        raise RuntimeError(
                            f"claim {claim_id}: the pure rule gives {n} lines, {fen} fen; stored "
                            f"{line_count} lines, {total_fen} fen (lines {lines_fen} fen)"
                        )
                outcomes = await _outcome_mix()
                flags = await _flag_mix()
            finally:
                await _close_tortoise()
        finally:
            app.close()
            if redis is not None:
                redis.stop()

    rate = total_lines / wall
    pure_rate = total_lines / pure_seconds
    ratio = wall / pure_seconds
    say(
        f"  pure rule: {total_lines:,} lines in {', '.join(f'{p[0]:.2f}' for p in passes)} s: median "
        f"{pure_seconds:.2f} s; every claim's lines and total match the stored ones"
    )
    say(f"  outcomes: {outcomes}; flags: {flags}")
    return [
        Figure(
            f"claim computation, {total_lines:,} lines in {n_claims:,} claims, {workers} workers",
            rate,
            "lines/s",
            CLAIMS_BUDGET_LINES_PER_S,
            True,
            compared_with="the pure rule's time",
            ratio=ratio,
            baseline=f"pure rule {pure_rate:,.0f} lines/s",
        ),
        Figure(
            "claim computation, time against the pure rule",
            ratio,
            "x",
            CLAIMS_BUDGET_RATIO_TO_PURE,
            False,
            compared_with="the pure rule's time",
            ratio=ratio,
            baseline=f"{pure_seconds:.2f} s",
        ),
        Figure("  claim computation, wall seconds (first send to last computed)", wall, "s", None, False),
        Figure(
            "  the outbox relay sending every job (in the timed part), seconds",
            relay_seconds,
            "s",
            None,
            False,
        ),
        *(
            [
                Figure(
                    f"  the workers after the relay finished: {timed.after_relay[1]:,} claims, lines/s",
                    timed.after_relay[1] * (total_lines / n_claims) / timed.after_relay[0],
                    "lines/s",
                    None,
                    True,
                )
            ]
            if timed.after_relay[0] > 1 and timed.after_relay[1] > 0
            else []
        ),
        Figure(
            f"  CPU in the timed part: the {workers} workers (with their main process), seconds",
            worker_cpu,
            "s",
            None,
            False,
        ),
        Figure(
            "  CPU in the timed part: PostgreSQL's backends of the scratch database, seconds",
            database_cpu,
            "s",
            None,
            False,
        ),
        Figure(
            "  CPU in the timed part: this process (the relay, polling), seconds", bench_cpu, "s", None, False
        ),
        Figure(
            f"  CPU in the timed part: the whole machine ({os.cpu_count()} CPUs x {wall:.0f} s), seconds",
            machine_cpu,
            "s",
            None,
            False,
        ),
        Figure("  the pure rule, one process, seconds (median of 3)", pure_seconds, "s", None, False),
        Figure("  filing the claims (file_claim, untimed), seconds", filing_seconds, "s", None, False),
    ]


async def _outcome_mix() -> dict[str, int]:
    from tortoise import connections

    _, rows = await connections.get("default").execute_query(
        "SELECT outcome, count(*) AS n FROM subsidy_line GROUP BY outcome "
        "UNION ALL SELECT 'with an uplift', count(*) FROM subsidy_line WHERE uplift_fen > 0 ORDER BY 1"
    )
    return {r["outcome"]: int(r["n"]) for r in rows}


async def _flag_mix() -> dict[str, int]:
    from tortoise import connections

    _, rows = await connections.get("default").execute_query(
        "SELECT f->>'code' AS code, count(*) AS n FROM subsidy_line, json_array_elements(flags) AS f "
        "GROUP BY 1 ORDER BY 2 DESC"
    )
    return {r["code"]: int(r["n"]) for r in rows}
