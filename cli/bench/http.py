"""``registry bench http``: an institution's roster upload over HTTP, the API served as in
production.

1. In the scratch database (migrated and given the reference catalogue when the import
   benchmark has not run before it): institutions, one institution user each (signed in
   with a bearer token, checked against the database on every request as in production),
   and one running cohort per upload, so that every upload really imports.
2. ``--http-rows`` (60) new people per upload, as CSV, prepared before the clock.
3. Baseline, same run: the same-shaped upload through
   :func:`registry.training.roster.service.import_roster` in this process (no HTTP).
4. The API: ``uvicorn cli.asgi:app --workers N`` (the production entry) started against
   the scratch database; a separate load-generating process (:mod:`cli.bench.http_client`)
   posts the files (multipart) from ``--http-clients`` connections; p50/p95/p99 and n of
   the upload latencies, the client's CPU share (it is not the bottleneck when it used
   well under one core) and a ``GET /healthz`` floor.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.bench import Figure
from cli.bench.roster import (
    Scratch,
    _close_tortoise,
    _create_cohorts,
    _setup_institutions,
    csv_roster,
    person_rows,
)

UPLOAD_BUDGET_P95_MS = 150
"""DESIGN.md section 10: a 60-row roster upload over HTTP at p95 <= 150 ms."""
PEOPLE_OFFSET = 5_000_000
"""The HTTP benchmark's people come after every other benchmark's."""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(base_url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the API server exited while starting (see its log)")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as answer:  # noqa: S310 (our server)
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API server did not answer /healthz in time")


def _serve_and_load(
    url: str,
    keys: dict[str, str],
    workers: int,
    clients: int,
    warm: list[tuple[str, str, bytes, str]],
    timed: list[tuple[str, str, bytes, str]],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Start the API (uvicorn, the production entry) on the scratch database, warm it up,
    run the load generator against it and stop it; returns the generator's report."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="registry-bench-http-") as tmp:
        env = {
            **os.environ,
            **keys,
            "DATABASE_URL": url,
            # The upload queues no job; the API's Redis client connects lazily.
            "REDIS_URL": os.environ.get("REDIS_URL") or f"unix://{tmp}/no-redis.sock",
            "REGISTRY_HOME": tmp,
        }

        def spec(batch: list[tuple[str, str, bytes, str]], name: str, probes: int) -> Path:
            path = Path(tmp) / f"{name}.pickle"
            path.write_bytes(
                pickle.dumps({"base_url": base_url, "clients": clients, "probes": probes, "uploads": batch})
            )
            return path

        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "cli.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        say(f"starting the API: uvicorn cli.asgi:app --workers {workers} on {base_url} ...")
        with (Path(tmp) / "api.log").open("wb") as log:
            server = subprocess.Popen(
                [*command, "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                _wait_ready(base_url, server)
                say(f"warming up the API with {len(warm)} uploads ...")
                _run_client(spec(warm, "warm", 20))
                say(f"{len(timed):,} uploads from {clients} concurrent clients in a separate process ...")
                return _run_client(spec(timed, "timed", 200))
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def _run_client(spec_path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "cli.bench.http_client", str(spec_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{result.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if out["failed"]:
        raise RuntimeError(f"{out['failed']} uploads were not imported: {out['failures']}")
    return out


async def run_http_bench(
    scratch: Scratch,
    *,
    migrate: bool,
    uploads: int,
    rows: int,
    clients: int,
    workers: int,
    institutions: int,
    say: Callable[[str], None],
) -> list[Figure]:
    from tortoise import connections

    from registry.accounts.security import issue_token
    from registry.accounts.users import UserInput, create_user, principal_of
    from registry.core import db
    from registry.core.crypto import Vault
    from registry.core.principal import Principal, system
    from registry.reference.service import load_reference
    from registry.training.roster.service import import_roster

    keys = {
        name: base64.b64encode(os.urandom(32)).decode()
        # REGISTRY_AUDIT_KEY: the API's settings ask for it once the audit chain is keyed.
        for name in ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY", "REGISTRY_TOKEN_KEY", "REGISTRY_AUDIT_KEY")
    }
    vault = Vault(
        data_key=base64.b64decode(keys["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(keys["REGISTRY_INDEX_KEY"]),
    )
    if migrate:  # not when the import benchmark ran before, in this database and process
        await db.migrate(scratch.url)
    await db.init_db(scratch.url, pool_max_size=4)
    try:
        _, count = await connections.get("default").execute_query("SELECT count(*) AS n FROM division")
        if not count[0]["n"]:
            say("loading the reference catalogue ...")
            await load_reference(system("bench"))
        _, occ = await connections.get("default").execute_query(
            "SELECT code FROM occupation WHERE level = 4 ORDER BY code LIMIT 1"
        )
        occupation = occ[0]["code"] if occ else None
        say(f"preparing {uploads:,} uploads of {rows} rows (one new cohort each) and their users ...")
        institution_ids = await _setup_institutions(max(1, institutions))
        tokens: dict[uuid.UUID, str] = {}
        users: dict[uuid.UUID, Principal] = {}
        for n, institution_id in enumerate(institution_ids):
            user = await create_user(
                system("bench"),
                UserInput(
                    username=f"bench-http-{uuid.uuid4().hex[:8]}-{n}",
                    password=base64.b64encode(os.urandom(18)).decode(),
                    role="institution",
                    institution_id=institution_id,
                ),
            )
            users[institution_id] = principal_of(user)
            tokens[institution_id] = issue_token(
                base64.b64decode(keys["REGISTRY_TOKEN_KEY"]), users[institution_id], 3600
            ).token
        warmups = max(4, 2 * workers * clients)
        baseline_n = max(10, min(50, uploads // 4))
        total = warmups + baseline_n + uploads
        cohorts = await _create_cohorts(institution_ids, [rows] * total, occupation, prefix="HTTP")
        people = person_rows(total * rows, offset=PEOPLE_OFFSET)
        files = [
            (cohort_id, institution_id, csv_roster([next(people) for _ in range(rows)]))
            for cohort_id, institution_id in cohorts
        ]
        warm, base, timed = (
            files[:warmups],
            files[warmups : warmups + baseline_n],
            files[warmups + baseline_n :],
        )

        say(f"baseline: {baseline_n} of the same uploads through the import service in this process ...")
        service_ms = []
        for cohort_id, institution_id, data in base:
            started = time.perf_counter()
            report = await import_roster(users[institution_id], vault, cohort_id, data, "roster.csv")
            service_ms.append((time.perf_counter() - started) * 1000)
            if report.status != "imported":
                raise RuntimeError(f"a baseline upload was not imported: {report.errors[:3]}")
    finally:
        await _close_tortoise()

    uploads_of = [(f"/api/v1/cohorts/{c}/roster", tokens[i], data, f"{c}.csv") for c, i, data in warm + timed]
    out = await asyncio.to_thread(
        _serve_and_load, scratch.url, keys, workers, clients, uploads_of[:warmups], uploads_of[warmups:], say
    )

    latencies: list[float] = out["latencies_ms"]
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    base_p95 = percentile(service_ms, 95)
    client_share = out["cpu_seconds"] / out["seconds"]
    say(
        f"  n={len(latencies)} p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; "
        f"{len(latencies) / out['seconds']:.1f} uploads/s; the client used {client_share:.0%} of one core"
    )
    return [
        Figure(
            f"roster upload over HTTP, {rows} rows, p95 (n={len(latencies)}, {clients} clients, {workers} workers)",
            p95,
            "ms",
            UPLOAD_BUDGET_P95_MS,
            False,
            compared_with="the service call alone",
            ratio=p95 / base_p95,
            baseline=f"p95 {base_p95:.1f} ms (n={len(service_ms)})",
        ),
        Figure("  upload over HTTP, p50", p50, "ms", None, False),
        Figure("  upload over HTTP, p99", p99, "ms", None, False),
        Figure("  uploads per second", len(latencies) / out["seconds"], "/s", None, True),
        Figure(
            "  load generator's CPU (not the bottleneck when well under 100%)",
            100 * client_share,
            "% of a core",
            None,
            False,
        ),
        Figure(
            "  GET /healthz from the same client, p50", percentile(out["probes_ms"], 50), "ms", None, False
        ),
    ]
