"""``registry bench api``: the API's reads at 50 concurrent clients, against the API served
as in production, beside a Litestar hello-world on the same server (DESIGN.md section 10).

1. A scratch database with demo-like data: the reference catalogue and the shipped
   subsidy policies, a city year of closed cohorts with their people, enrolments and
   certificates (written by COPY, :func:`cli.bench.claims._write_city_year`), then
   ``VACUUM ANALYZE``; one institution user and one administrator, each with a bearer token
   (its user re-checked in the database as in production); ``--api-claims``
   training claims of the institution's cohorts filed and computed in this process (the
   real use cases, :func:`registry.subsidy.claims.file_claim` and
   :func:`~registry.subsidy.claims.compute_claim`); the plan's targets and the nightly
   rollup as of today (:func:`registry.progress.service.rollup`), so ``GET /progress`` and
   the dashboard's data read real snapshots; a dashboard session of the administrator in
   Redis (``REDIS_URL``, or an embedded Redis started for the run).
2. Two servers, the same command: ``uvicorn cli.asgi:app --no-proxy-headers --workers N``
   (the production entry; N = ``--api-workers``, default a worker per core) and ``uvicorn
   cli.bench.hello:app --no-proxy-headers --workers N`` (:mod:`cli.bench.hello`).
3. The load generator, a separate process: ``wrk`` (Debian's package) with one thread
   and ``--api-connections`` (50) connections, a Lua script giving each request its path
   (cycling through the endpoint's paths) and bearer token, for ``--api-seconds`` per
   endpoint after a warm-up of a quarter of that; p50 and p99 from wrk's latency
   histogram, requests/s, and wrk's CPU share of one core (it is not the bottleneck while
   well under 100%). The hello-world is measured first and last; its baseline is the
   mean of the two runs. A non-2xx answer or a socket error fails the benchmark.

Budgets per endpoint: p99 <= 50 ms and >= 30% of the hello-world's requests/s.

The API is served as in production, with what a worker keeps between requests
(``REGISTRY_SIGNED_IN_RECHECK_SECONDS``, ``REGISTRY_FIGURES_CACHE_SECONDS``: their defaults).
``--api-uncached`` (the default; ``--no-api-uncached`` skips it) measures the reads that use
them once more on a second server with both at 0 (every request re-checks its user and
computes its figures), reported as information beside the budgeted figures.

:data:`ENDPOINTS` is the one list of what is measured: one line per endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cli.bench import Figure
from cli.bench.roster import Scratch, _close_tortoise, scratch_trail
from registry.core.clock import business_today

P99_BUDGET_MS = 50
"""DESIGN.md section 10: each read's p99 at 50 concurrent clients <= 50 ms ..."""
THROUGHPUT_BUDGET_SHARE = 0.30
"""... and at least 30% of the hello-world's requests/s on the same server."""
UVICORN_FLAGS = ["--no-proxy-headers"]
"""As docker-compose.yml and ``registry up`` run it."""


@dataclass(frozen=True)
class Data:
    """What the scratch database holds for the endpoints' paths."""

    cohorts: list[uuid.UUID]
    """The institution user's cohorts."""
    claims: list[uuid.UUID]
    """The institution user's computed training claims."""


@dataclass(frozen=True)
class Endpoint:
    label: str
    user: str
    """Whose credentials: ``institution`` (a bearer token; owns the cohorts and claims),
    ``admin`` (a bearer token) or ``admin-session`` (the dashboard's session cookie)."""
    paths: Callable[[Data], list[str]]
    """The paths requested, in turn."""
    budgeted: bool = True
    """One of DESIGN.md section 10's reads (the others are measured for information)."""
    kept: bool = False
    """Uses what a worker keeps (figures, sign-in checks): measured uncached too."""


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET /api/v1/cohorts/{id}", "institution", lambda d: [f"/api/v1/cohorts/{c}" for c in d.cohorts]
    ),
    Endpoint(
        "GET /api/v1/progress?year=",
        "admin",
        lambda d: [f"/api/v1/progress?year={business_today().year}"],
        kept=True,
    ),
    Endpoint("GET /dashboard/data (session)", "admin-session", lambda d: ["/dashboard/data"], kept=True),
    Endpoint("GET /api/v1/cohorts?limit=50", "admin", lambda d: ["/api/v1/cohorts?limit=50"], budgeted=False),
    Endpoint(
        "GET /api/v1/claims/{id}",
        "institution",
        lambda d: [f"/api/v1/claims/{c}" for c in d.claims],
        budgeted=False,
    ),
)
"""What ``registry bench api`` measures; a new read is one more line here."""

_LUA = """
local paths = {PATHS}
local headers = {HEADERS}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"p50_us\\":%d,\\"p99_us\\":%d,\\"requests\\":%d,\\"duration_us\\":%d," ..
    "\\"status_errors\\":%d,\\"socket_errors\\":%d}\\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string with ASCII escapes is a valid Lua string literal


def wrk_script(paths: list[str], headers: dict[str, str]) -> str:
    return _LUA.replace("{PATHS}", "{" + ", ".join(_lua_string(p) for p in paths) + "}").replace(
        "{HEADERS}",
        "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}",
    )


@dataclass(frozen=True)
class Run:
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    client_cpu_share: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def find_wrk() -> str | None:
    """wrk's path, or None; under ``CI=true`` a missing wrk is an error (never a slow client)."""
    path = shutil.which("wrk")
    if path is None and os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise RuntimeError("registry bench api needs wrk (apt-get install wrk); CI=true: failing")
    return path


def run_wrk(
    wrk: str, base_url: str, paths: list[str], headers: dict[str, str], *, connections: int, seconds: float
) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-api-", delete=False) as script:
        script.write(wrk_script(paths, headers))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                script.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(script.name)
    lines = [line for line in result.stdout.splitlines() if line.startswith("WRKJSON ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    out = json.loads(lines[-1].removeprefix("WRKJSON "))
    if out["status_errors"] or out["socket_errors"]:
        raise RuntimeError(
            f"{out['status_errors']} non-2xx answers and {out['socket_errors']} socket errors "
            f"on {paths[0]} (of {len(paths)} paths)"
        )
    wall = out["duration_us"] / 1e6
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        requests=int(out["requests"]),
        seconds=wall,
        client_cpu_share=cpu / wall if wall else 0.0,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited while starting (see its log)")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (our server)
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in time")


@contextlib.contextmanager
def serving(app: str, workers: int, env: dict[str, str], log_path: Path, ready_path: str) -> Iterator[str]:
    """``uvicorn APP --no-proxy-headers --workers N`` on a free port; yields its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*command, *UVICORN_FLAGS, "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(base_url + ready_path, server)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def prepare(
    scratch: Scratch,
    keys: dict[str, str],
    *,
    redis_url: str,
    lines: int,
    claims: int,
    say: Callable[[str], None],
) -> tuple[Data, dict[str, dict[str, str]]]:
    """Fill the scratch database; returns the data and the request headers per user kind
    (:attr:`Endpoint.user`)."""
    from redis.asyncio import Redis
    from tortoise import connections

    from api.dashboard import session
    from cli.bench.claims import _file_claims, _write_city_year
    from registry.accounts.security import issue_token
    from registry.accounts.users import UserInput, create_user, principal_of
    from registry.core import db
    from registry.core.crypto import Vault
    from registry.core.principal import system
    from registry.core.settings import redis_client_url
    from registry.progress.service import rollup
    from registry.progress.targets import load_catalogue_targets
    from registry.reference.service import load_reference
    from registry.subsidy.claims import compute_claim
    from registry.subsidy.service import load_shipped_policies

    vault = Vault(
        data_key=base64.b64decode(keys["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(keys["REGISTRY_INDEX_KEY"]),
    )
    say(f"migrating the scratch database {scratch.database} ...")
    scratch_trail()
    await db.migrate(scratch.url)
    await db.init_db(scratch.url, pool_max_size=4)
    try:
        say("loading the reference catalogue and the subsidy policies ...")
        await load_reference(system("bench"))
        await load_shipped_policies(system("bench"))
        say(f"writing a city year by COPY: {lines:,} enrolments in cohorts of 37 ...")
        year = await _write_city_year(vault, lines=lines, cohort_size=37)
        institution_id = year.cohorts[0][1]
        own = [c for c, i in year.cohorts if i == institution_id]
        say(f"filing and computing {min(claims, len(own))} training claims of one institution ...")
        claim_ids = await _file_claims([(c, institution_id) for c in own[:claims]])
        for claim_id in claim_ids:
            report = await compute_claim(claim_id, vault=vault)
            if report is None or report.status != "computed":
                raise RuntimeError(f"a claim was not computed: {report}")
        say("loading the plan's targets and rolling the year up as of today ...")
        await load_catalogue_targets(system("bench"))
        await rollup(system("bench"), business_today())
        # A live registry's tables are analysed and vacuumed (autovacuum): statistics for the
        # plans, the visibility map for index-only counts; and no autovacuum of the fresh
        # COPY running under the first measurements.
        await connections.get("default").execute_script("VACUUM ANALYZE")
        headers: dict[str, dict[str, str]] = {}
        for kind, institution in (("institution", institution_id), ("admin", None)):
            user = await create_user(
                system("bench"),
                UserInput(
                    username=f"bench-api-{kind}-{uuid.uuid4().hex[:8]}",
                    password=base64.b64encode(os.urandom(18)).decode(),
                    role=kind,
                    institution_id=institution,
                ),
            )
            token = issue_token(base64.b64decode(keys["REGISTRY_TOKEN_KEY"]), principal_of(user), 3600).token
            headers[kind] = {"Authorization": f"Bearer {token}"}
            if kind == "admin":  # the dashboard's session, as signing in through the browser starts it
                redis = Redis.from_url(redis_client_url(redis_url))
                try:
                    started = await session.start(redis, principal_of(user))
                finally:
                    await redis.aclose()
                headers["admin-session"] = {"Cookie": f"{session.SESSION_COOKIE}={started.session_id}"}
    finally:
        await _close_tortoise()
    return Data(cohorts=own, claims=claim_ids), headers


UNCACHED_ENV = {"REGISTRY_SIGNED_IN_RECHECK_SECONDS": "0", "REGISTRY_FIGURES_CACHE_SECONDS": "0"}
"""The second server of ``--api-uncached``: nothing kept between requests."""


@dataclass(frozen=True)
class Measured:
    hello: list[Run]
    """The baseline, first and last."""
    healthz: Run
    runs: list[tuple[Endpoint, Run]]
    uncached: list[tuple[Endpoint, Run]]
    """The :attr:`Endpoint.kept` reads again with :data:`UNCACHED_ENV` (``--api-uncached``)."""


def _measure(
    wrk: str,
    url: str,
    redis_url: str,
    keys: dict[str, str],
    data: Data,
    headers: dict[str, dict[str, str]],
    *,
    workers: int,
    connections: int,
    seconds: float,
    uncached: bool,
    say: Callable[[str], None],
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="registry-bench-api-") as tmp:
        env = served_env(url, redis_url, keys, tmp)

        def load(base: str, label: str, paths: list[str], sent: dict[str, str]) -> Run:
            run_wrk(wrk, base, paths, sent, connections=connections, seconds=max(1.0, seconds / 4))
            run = run_wrk(wrk, base, paths, sent, connections=connections, seconds=seconds)
            say(
                f"  {label}: p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, {run.per_second:,.0f} req/s "
                f"(wrk used {run.client_cpu_share:.0%} of a core)"
            )
            return run

        say(f"starting uvicorn cli.asgi:app and cli.bench.hello:app, --workers {workers} each ...")
        with serving("cli.bench.hello:app", workers, env, Path(tmp) / "hello.log", "/") as hello_url:
            say(f"wrk, 1 thread, {connections} connections, {seconds:.0f} s per endpoint (after a warm-up):")
            hello = [load(hello_url, "hello-world GET / (first)", ["/"], {})]
            with serving("cli.asgi:app", workers, env, Path(tmp) / "api.log", "/healthz") as api_url:
                healthz = load(api_url, "GET /healthz", ["/healthz"], {})
                runs = [(e, load(api_url, e.label, e.paths(data), headers[e.user])) for e in ENDPOINTS]
            again: list[tuple[Endpoint, Run]] = []
            if uncached:
                say(
                    "the same API with nothing kept between requests ("
                    + ", ".join(f"{k}={v}" for k, v in UNCACHED_ENV.items())
                    + "):"
                )
                with serving(
                    "cli.asgi:app",
                    workers,
                    {**env, **UNCACHED_ENV},
                    Path(tmp) / "api-uncached.log",
                    "/healthz",
                ) as api_url:
                    again = [
                        (e, load(api_url, f"{e.label}, uncached", e.paths(data), headers[e.user]))
                        for e in ENDPOINTS
                        if e.kept
                    ]
            hello.append(load(hello_url, "hello-world GET / (last)", ["/"], {}))
    return Measured(hello, healthz, runs, again)


def served_env(url: str, redis_url: str, keys: dict[str, str], home: str) -> dict[str, str]:
    """The environment of the app a bench serves: the scratch database, the run's Redis and
    keys, a home of its own, the production defaults of what a worker keeps."""
    env = {
        **os.environ,
        **keys,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "REGISTRY_HOME": home,
        "REGISTRY_AUDIT_CHECKPOINTS": str(Path(home) / "audit-checkpoints.log"),
    }
    for name in (
        "DATABASE_OWNER_URL",
        "REGISTRY_DATA_KEY_PREVIOUS",
        "REGISTRY_AUDIT_KEY_PREVIOUS",
        *UNCACHED_ENV,
    ):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def keys_and_redis(name: str, say: Callable[[str], None]) -> Iterator[tuple[dict[str, str], str]]:
    """What a served bench needs beside its scratch database: fresh keys for the app, and a
    Redis (``REDIS_URL``, or an embedded one for the run, stopped after it)."""
    keys = {
        key: base64.b64encode(os.urandom(32)).decode()
        for key in ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY", "REGISTRY_TOKEN_KEY", "REGISTRY_AUDIT_KEY")
    }
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        yield keys, redis_url
        return
    from cli.embedded import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix=f"registry-bench-{name}-redis-") as folder:
        say("REDIS_URL is not set: starting an embedded Redis for the run ...")
        redis = EmbeddedRedis(Path(folder) / "redis")
        url = redis.start()
        try:
            yield keys, url
        finally:
            redis.stop()


async def run_api_bench(
    scratch: Scratch,
    *,
    seconds: float,
    connections: int,
    workers: int,
    lines: int,
    claims: int,
    uncached: bool = True,
    say: Callable[[str], None],
) -> list[Figure]:
    wrk = find_wrk()
    if wrk is None:
        say("registry bench api: wrk is not installed (apt-get install wrk): SKIPPED, nothing measured")
        return []
    with keys_and_redis("api", say) as (keys, redis_url):
        data, headers = await prepare(scratch, keys, redis_url=redis_url, lines=lines, claims=claims, say=say)
        measured = await asyncio.to_thread(
            _measure,
            wrk,
            scratch.url,
            redis_url,
            keys,
            data,
            headers,
            workers=workers,
            connections=connections,
            seconds=seconds,
            uncached=uncached,
            say=say,
        )
    return figures_of(measured, connections=connections, workers=workers)


def figures_of(measured: Measured, *, connections: int, workers: int) -> list[Figure]:
    hello = measured.hello
    baseline = sum(r.per_second for r in hello) / len(hello)
    baseline_text = (
        f"hello-world {baseline:,.0f} req/s (mean of {' and '.join(f'{r.per_second:,.0f}' for r in hello)}), "
        f"p99 {max(r.p99_ms for r in hello):.1f} ms"
    )
    conditions = f"{connections} connections, {workers} workers"
    figures = []
    for endpoint, run, note in [
        *((e, r, "") for e, r in measured.runs),
        *((e, r, ", uncached") for e, r in measured.uncached),
    ]:
        budgeted = endpoint.budgeted and not note
        figures += [
            Figure(
                f"{endpoint.label}{note}, p99 ({conditions})",
                run.p99_ms,
                "ms",
                P99_BUDGET_MS if budgeted else None,
                False,
            ),
            Figure(
                f"  {endpoint.label}{note}, throughput (p50 {run.p50_ms:.1f} ms)",
                run.per_second,
                "req/s",
                THROUGHPUT_BUDGET_SHARE * baseline if budgeted else None,
                True,
                compared_with="hello-world",
                ratio=run.per_second / baseline,
                baseline=baseline_text,
            ),
        ]
    healthz = measured.healthz
    every = [*hello, healthz, *(r for _, r in measured.runs), *(r for _, r in measured.uncached)]
    figures += [
        Figure(
            f"GET /healthz (p50 {healthz.p50_ms:.1f} ms, p99 {healthz.p99_ms:.1f} ms)",
            healthz.per_second,
            "req/s",
            None,
            True,
            compared_with="hello-world",
            ratio=healthz.per_second / baseline,
        ),
        Figure(
            "  wrk's CPU, the most of any run (not the bottleneck when well under 100%)",
            100 * max(r.client_cpu_share for r in every),
            "% of a core",
            None,
            False,
        ),
    ]
    return figures
