"""``registry bench pages``: the web pages at 10 concurrent browser sessions, each against
its JSON twin (the API's read of the same data for the same user) in the same run
(DESIGN.md section 10, issue 16).

1. A scratch database with the demo data: the year ``registry demo`` loads (its generator
   and its services, :func:`cli.demo.run.run_demo`, ``--pages-scale`` small as ``make up``
   loads it: institutions, cohorts, rosters, certificates, claims in every state, notices,
   payments); plus one cohort of 500 people written by COPY as the claims benchmark writes
   its city year (:func:`cli.bench.claims._write_city_year`) and its training claim filed
   and computed through the services (:func:`registry.subsidy.claims.file_claim`,
   :func:`~registry.subsidy.claims.compute_claim`): the 500-line claim; then ``VACUUM
   ANALYZE``. One city auditor (no county: the whole city, as ``demo-auditor``) with a
   bearer token for the JSON twins and ``--pages-connections`` (10) browser sessions in
   Redis for the pages, started as signing in through the browser starts them
   (:func:`api.dashboard.session.start`; ``REDIS_URL``, or an embedded Redis for the run).
2. The app as in production: ``uvicorn cli.asgi:app --no-proxy-headers --workers N``
   (N = ``--pages-workers``, default a worker per core), the production defaults of what a
   worker keeps.
3. Before any load, every path is fetched once and must answer 200 with what it is (a page
   its Chinese title, a JSON read its claim or its list); what was found is printed.
4. ``wrk`` (Debian's package), a separate process, with **as many threads as connections,
   one connection each, and one session cookie per thread** (``setup()`` hands each thread
   its number; its ``init()`` takes that session's cookie): 10 browsers, each with its own
   session, one request at a time. wrk's Lua has no per-connection hook, so a single thread
   with 10 connections could only rotate cookies per request, and a request would not
   belong to one browser; the threads are idle between answers and cost nothing on 2 cores.
   The JSON twin is measured the same way with the auditor's bearer token, right after its
   page (the machine's load moves between runs: the closer, the fairer). Each answer is
   checked by a ``response()`` hook: status 200 and, in the body, the marker checked in
   step 3; a socket error, another status or a missing marker fails the benchmark. Each run
   is ``--pages-seconds`` (10) after a warm-up of a quarter of that, longer for a slow path
   (until about :data:`MIN_ANSWERS` answers at the warm-up's rate, at most
   :data:`LONGEST_RUN` times as long: the 500-line page); p50/p95/p99 from wrk's
   latency histogram (the time from the request's first byte sent to the answer's last
   byte received, on the loopback: the server's time plus a negligible network),
   requests/s, wrk's CPU share of a core.

Budgets: every workbench page p95 <= 150 ms at 10 sessions, the 500-line claim's page
p95 <= 400 ms, and a page's p95 at most 2x its JSON twin's (the time ratio; the throughput
ratio is printed beside it as information).

:data:`PAGES` is the one list of what is measured: a page, its twin, its marker.
:data:`PORTAL_PAGES` is where the institutions' portal (``/portal``, not built yet) goes.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import resource
import statistics
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli.bench import Figure
from cli.bench.api import find_wrk, keys_and_redis, served_env, serving
from cli.bench.roster import Scratch, _close_tortoise, scratch_trail

PAGE_P95_BUDGET_MS = 150
"""DESIGN.md section 10 / issue 16: every workbench page p95 <= 150 ms at 10 sessions ..."""
BIG_CLAIM_P95_BUDGET_MS = 400
"""... the page of a claim with 500 lines p95 <= 400 ms ..."""
TWIN_BUDGET_RATIO = 2.0
"""... and a page at most 2x the time of its JSON twin."""
MIN_ANSWERS = 100
"""A path's timed run lasts until about this many answers are expected (from the warm-up's
rate), up to :data:`LONGEST_RUN` times ``--pages-seconds``: a p95 of a slow page needs more
than the few answers 10 s gives."""
LONGEST_RUN = 6
WRK_TIMEOUT_S = 60
"""wrk's per-request timeout (a timeout is a socket error, which fails the benchmark)."""
BIG_CLAIM_LINES = 500
"""A cohort holds at most 500 people: the largest claim there is (``--pages-big-lines``
makes it smaller for a quick run; the budget stays the 500-line one's)."""


@dataclass(frozen=True)
class Data:
    """What the scratch database holds for the paths."""

    typical: uuid.UUID
    """The demo's typical claim: of the demo's computed claims, the one with the median
    number of lines."""
    typical_reference: str
    typical_lines: int
    big: uuid.UUID
    """The claim with :data:`BIG_CLAIM_LINES` lines."""
    big_reference: str
    big_lines: int
    claims: int
    """Claims the auditor sees."""
    computed: int
    """... of which ``computed``."""


@dataclass(frozen=True)
class Target:
    name: str
    """What is requested, as printed; ``<lines>`` stands for the big claim's lines."""
    path: Callable[[Data], str]
    marker: Callable[[Data], str]
    """Text every answer must hold (a page its Chinese title, a JSON read its claim)."""

    def label(self, data: Data) -> str:
        return self.name.replace("<lines>", str(data.big_lines))


@dataclass(frozen=True)
class Page:
    """A web page and its JSON twin, read by the same user."""

    page: Target
    twin: Target
    budget_ms: float = PAGE_P95_BUDGET_MS
    user: str = "auditor"
    """Whose session and token: ``auditor`` (a city auditor; the workbench), ``institution``
    (an institution's user; the portal)."""
    note: str = ""
    """What the twin is, where it is not the same read (printed with the figures)."""


def _title(text: str) -> str:
    """A workbench page's ``<title>`` (api/templates/web/base.html)."""
    return f"<title>{text} · 审核工作台 · "


CLAIMS_JSON = Target(
    "GET /api/v1/claims?limit=50", lambda d: "/api/v1/claims?limit=50", lambda d: '"items":['
)

WORKBENCH_PAGES: tuple[Page, ...] = (
    Page(
        Target("GET /workbench", lambda d: "/workbench", lambda d: _title("工作台")),
        CLAIMS_JSON,
        note="the API has no one read of what waits: the twin is the first page of the claims",
    ),
    Page(
        Target("GET /workbench/claims", lambda d: "/workbench/claims", lambda d: _title("补贴申请")),
        CLAIMS_JSON,
    ),
    Page(
        Target(
            "GET /workbench/claims?status=computed&sort=amount",
            lambda d: "/workbench/claims?status=computed&sort=amount",
            lambda d: _title("补贴申请"),
        ),
        Target(
            "GET /api/v1/claims?status=computed&limit=50",
            lambda d: "/api/v1/claims?status=computed&limit=50",
            lambda d: '"items":[',
        ),
        note="the API does not sort by amount: the twin is the same status's page, newest first",
    ),
    Page(
        Target(
            "GET /workbench/claims/{id} (the demo's typical claim)",
            lambda d: f"/workbench/claims/{d.typical}",
            lambda d: _title(f"补贴申请 {d.typical_reference}"),
        ),
        Target(
            "GET /api/v1/claims/{id} (the demo's typical claim)",
            lambda d: f"/api/v1/claims/{d.typical}",
            lambda d: f'"id":"{d.typical}"',
        ),
    ),
    Page(
        Target(
            "GET /workbench/claims/{id} (<lines> lines)",
            lambda d: f"/workbench/claims/{d.big}",
            lambda d: _title(f"补贴申请 {d.big_reference}"),
        ),
        Target(
            "GET /api/v1/claims/{id} (<lines> lines)",
            lambda d: f"/api/v1/claims/{d.big}",
            lambda d: f'"id":"{d.big}"',
        ),
        budget_ms=BIG_CLAIM_P95_BUDGET_MS,
    ),
)
"""The bureau's workbench (issue 16); a new page is one more line here."""

PORTAL_PAGES: tuple[Page, ...] = ()
"""The institutions' portal (``/portal``): not built yet. Its pages go here, each with its
JSON twin and ``user="institution"`` (a session and a token of the user of the institution
that owns the demo's typical claim are then made too), e.g. ``Page(Target("GET /portal",
...), Target("GET /api/v1/cohorts?limit=50", ...), user="institution")``; the budgets are
the workbench's (DESIGN.md section 10: "web pages (workbench, portal)")."""

PAGES: tuple[Page, ...] = (*WORKBENCH_PAGES, *PORTAL_PAGES)

USERS = ("auditor", "institution")

_LUA = """
local paths = {PATHS}
local markers = {MARKERS}
local sessions = {SESSIONS}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
  table.insert(threads, thread)
end

function init(args)
  headers = sessions[(number - 1) % #sessions + 1]
  i = (number - 1) % #paths
  last = 1
  bad_status = 0
  bad_body = 0
  first_bad = ""
end

request = function()
  i = i % #paths + 1
  last = i
  return wrk.format("GET", paths[i], headers)
end

response = function(status, hdrs, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if first_bad == "" then first_bad = status .. " " .. paths[last] end
  elseif not string.find(body, markers[last], 1, true) then
    bad_body = bad_body + 1
    if first_bad == "" then first_bad = "no marker " .. paths[last] end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local statuses, bodies, first = 0, 0, ""
  for _, t in ipairs(threads) do
    statuses = statuses + t:get("bad_status")
    bodies = bodies + t:get("bad_body")
    if first == "" then first = t:get("first_bad") end
  end
  io.write(string.format(
    "WRKJSON {\\"p50_us\\":%d,\\"p95_us\\":%d,\\"p99_us\\":%d,\\"requests\\":%d,\\"duration_us\\":%d," ..
    "\\"threads\\":%d,\\"bad_status\\":%d,\\"bad_body\\":%d,\\"socket_errors\\":%d}\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.duration, #threads, statuses, bodies, e.connect + e.read + e.write + e.timeout))
  io.write("WRKBAD " .. first .. "\\n")
end
"""


def _lua_string(text: str) -> str:
    """A Lua 5.1 string literal of ``text``'s UTF-8 bytes (wrk's LuaJIT has no ``\\u``
    escape: every byte outside printable ASCII, and ``"`` and ``\\``, as ``\\ddd``)."""
    return (
        '"'
        + "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:03d}" for b in text.encode()
        )
        + '"'
    )


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"


def wrk_script(paths: list[str], markers: list[str], sessions: list[dict[str, str]]) -> str:
    """wrk's script: each thread its own headers (``sessions[n]``: thread n's cookie or
    token), cycling through the paths; every answer must be 200 with its path's marker."""
    if len(paths) != len(markers) or not paths or not sessions:
        raise ValueError("a marker for every path, and at least one path and one session")
    return (
        _LUA.replace("{PATHS}", "{" + ", ".join(_lua_string(p) for p in paths) + "}")
        .replace("{MARKERS}", "{" + ", ".join(_lua_string(m) for m in markers) + "}")
        .replace("{SESSIONS}", "{" + ", ".join(_lua_table(s) for s in sessions) + "}")
    )


@dataclass(frozen=True)
class Run:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    seconds: float
    client_cpu_share: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    wrk: str,
    base_url: str,
    target: Target,
    data: Data,
    sessions: list[dict[str, str]],
    *,
    connections: int,
    seconds: float,
    warm_up: bool = False,
) -> Run:
    """``connections`` threads of one connection each, thread n with ``sessions[n]``; a
    warm-up may end without an answer."""
    path, marker = target.path(data), target.marker(data)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-pages-", delete=False) as script:
        script.write(wrk_script([path], [marker], sessions))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [
                wrk,
                f"-t{connections}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                f"{WRK_TIMEOUT_S}s",
                "--latency",
                "-s",
                script.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + WRK_TIMEOUT_S + 60,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(script.name)
    lines = [line for line in result.stdout.splitlines() if line.startswith("WRKJSON ")]
    if result.returncode != 0 or not lines or ".lua:" in result.stderr:  # a script error exits 0
        raise RuntimeError(
            f"wrk failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    out = json.loads(lines[-1].removeprefix("WRKJSON "))
    first_bad = next(
        (line.removeprefix("WRKBAD ") for line in result.stdout.splitlines() if line.startswith("WRKBAD ")),
        "",
    )
    if out["threads"] != connections:
        raise RuntimeError(f"wrk ran {out['threads']} threads, not {connections}")
    if not out["requests"] and not warm_up:
        raise RuntimeError(
            f"{target.label(data)}: no answer in {seconds:.0f} s (try a longer --pages-seconds)"
        )
    if out["bad_status"] or out["bad_body"] or out["socket_errors"]:
        raise RuntimeError(
            f"{target.label(data)}: {out['bad_status']} answers not 200, {out['bad_body']} without "
            f"{marker!r}, {out['socket_errors']} socket errors, of {out['requests']} "
            f"(first: {first_bad})"
        )
    wall = out["duration_us"] / 1e6
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        p50_ms=out["p50_us"] / 1000,
        p95_ms=out["p95_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        requests=int(out["requests"]),
        seconds=wall,
        client_cpu_share=cpu / wall if wall else 0.0,
    )


class _Held:
    """The job port while the data is loaded: nothing is sent (no worker runs; the claims
    the demo leaves ``submitted`` stay so, as the outbox rows stay unsent)."""

    def send(self, name: str, kwargs: dict[str, str]) -> None:
        raise RuntimeError("held back by the benchmark")


@dataclass(frozen=True)
class Credentials:
    tokens: dict[str, dict[str, str]]
    """Per user kind (:attr:`Page.user`): the bearer token's header."""
    sessions: dict[str, list[dict[str, str]]]
    """Per user kind: one cookie header per browser session."""


async def prepare(
    scratch: Scratch,
    keys: dict[str, str],
    *,
    redis_url: str,
    scale: str,
    seed: int,
    sessions: int,
    big_lines: int = BIG_CLAIM_LINES,
    say: Callable[[str], None],
) -> tuple[Data, Credentials]:
    """Fill the scratch database (the module's step 1)."""
    from redis.asyncio import Redis
    from tortoise import connections

    from api.dashboard import session
    from cli.bench.claims import _file_claims, _write_city_year
    from cli.demo.run import default_year, run_demo
    from registry.accounts.security import issue_token
    from registry.accounts.users import UserInput, create_user, principal_of
    from registry.core import db, jobs
    from registry.core.clock import business_today
    from registry.core.crypto import Vault
    from registry.core.principal import system
    from registry.core.settings import redis_client_url
    from registry.enums import ClaimStatus
    from registry.subsidy.claims import compute_claim, list_claims

    vault = Vault(
        data_key=base64.b64decode(keys["REGISTRY_DATA_KEY"]),
        index_key=base64.b64decode(keys["REGISTRY_INDEX_KEY"]),
    )
    say(f"migrating the scratch database {scratch.database} ...")
    scratch_trail()
    await db.migrate(scratch.url)
    await db.init_db(scratch.url, pool_max_size=4)
    held_sender = jobs.get_job_sender()
    outbox_log = logging.getLogger("registry.core.outbox")
    level = outbox_log.level
    jobs.set_job_sender(_Held())
    outbox_log.setLevel(logging.CRITICAL)
    try:
        year = default_year(business_today())
        say(
            f"the demo data: registry demo's year {year} at scale {scale} (seed {seed}), through the services ..."
        )
        demo = await run_demo(vault, year=year, scale=scale, seed=seed, say=lambda m: say(f"  {m}"))
        say(f"  {demo.seconds:.0f} s")
        say(f"a cohort of {big_lines} people by COPY, its training claim filed and computed ...")
        big_year = await _write_city_year(vault, lines=big_lines, cohort_size=big_lines)
        [big_id] = await _file_claims(big_year.cohorts[:1])
        report = await compute_claim(big_id, vault=vault)
        if report is None or report.status != "computed":
            raise RuntimeError(f"the {big_lines}-line claim was not computed: {report}")
        # A live registry's tables are analysed and vacuumed (autovacuum).
        await connections.get("default").execute_script("VACUUM ANALYZE")

        auditor = await create_user(
            system("bench"),
            UserInput(
                username=f"bench-pages-auditor-{uuid.uuid4().hex[:8]}",
                password=base64.b64encode(os.urandom(18)).decode(),
                role="auditor",
                display_name="基准审核员",
            ),
        )
        seen = await list_claims(principal_of(auditor), limit=500, offset=0)
        big = next(c for c in seen.items if c.id == big_id)
        if big.line_count != big_lines:
            raise RuntimeError(f"the big claim has {big.line_count} lines, not {big_lines}")
        demo_claims = sorted(
            (c for c in seen.items if c.id != big_id and c.line_count > 0 and c.computed_at is not None),
            key=lambda c: (c.line_count, str(c.id)),
        )
        if not demo_claims:
            raise RuntimeError("the demo data holds no computed claim")
        typical = demo_claims[(len(demo_claims) - 1) // 2]
        users = {"auditor": auditor}
        if any(p.user == "institution" for p in PAGES):
            users["institution"] = await create_user(
                system("bench"),
                UserInput(
                    username=f"bench-pages-institution-{uuid.uuid4().hex[:8]}",
                    password=base64.b64encode(os.urandom(18)).decode(),
                    role="institution",
                    institution_id=typical.institution_id,
                ),
            )
        tokens: dict[str, dict[str, str]] = {}
        cookies: dict[str, list[dict[str, str]]] = {}
        redis = Redis.from_url(redis_client_url(redis_url))
        try:
            for kind, user in users.items():
                principal = principal_of(user)
                token = issue_token(base64.b64decode(keys["REGISTRY_TOKEN_KEY"]), principal, 3600).token
                tokens[kind] = {"Authorization": f"Bearer {token}"}
                cookies[kind] = []
                for _ in range(sessions):
                    started = await session.start(redis, principal)
                    cookies[kind].append({"Cookie": f"{session.SESSION_COOKIE}={started.session_id}"})
        finally:
            await redis.aclose()
        data = Data(
            typical=typical.id,
            typical_reference=typical.cohort_reference,
            typical_lines=typical.line_count,
            big=big.id,
            big_reference=big.cohort_reference,
            big_lines=big.line_count,
            claims=seen.total,
            computed=sum(1 for c in seen.items if c.status is ClaimStatus.COMPUTED),
        )
        lines = [c.line_count for c in demo_claims]
        say(
            f"the auditor sees {data.claims} claims ({data.computed} computed); the demo's "
            f"{len(demo_claims)} computed claims have {min(lines)}-{max(lines)} lines (median "
            f"{statistics.median(lines):g}): the typical one, {data.typical_reference}, "
            f"{data.typical_lines} lines; the big one, {data.big_reference}, {data.big_lines} lines"
        )
    finally:
        jobs.set_job_sender(held_sender)
        outbox_log.setLevel(level)
        await _close_tortoise()
    return data, Credentials(tokens=tokens, sessions=cookies)


def check_once(base_url: str, target: Target, data: Data, headers: dict[str, str]) -> str:
    """One request before the load: 200 with the marker, or an error naming what came."""
    path, marker = target.path(data), target.marker(data)
    request = urllib.request.Request(base_url + path, headers=headers)  # noqa: S310 (our server)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status, kind, body = answer.status, answer.headers.get("content-type", ""), answer.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{target.label(data)}: {exc.code} {exc.read()[:300]!r}") from exc
    text = body.decode("utf-8", errors="replace")
    if status != 200 or marker not in text:
        raise RuntimeError(f"{target.label(data)}: {status}, {marker!r} not in the answer: {text[:300]!r}")
    return f"{status}, {kind.split(';')[0]}, {len(body):,} bytes, holds {marker.strip()!r}"


@dataclass(frozen=True)
class Measured:
    runs: list[tuple[Page, Run, Run]]
    """Each page, its run and its twin's."""
    data: Data
    connections: int
    workers: int


def _measure(
    wrk: str,
    url: str,
    redis_url: str,
    keys: dict[str, str],
    data: Data,
    credentials: Credentials,
    *,
    workers: int,
    connections: int,
    seconds: float,
    say: Callable[[str], None],
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="registry-bench-pages-") as tmp:
        env = served_env(url, redis_url, keys, tmp)

        say(f"starting uvicorn cli.asgi:app --workers {workers} ...")
        with serving("cli.asgi:app", workers, env, Path(tmp) / "pages.log", "/healthz") as base:
            say("each path once (status, type, size, what it holds):")
            for page in PAGES:
                cookie = credentials.sessions[page.user][0]
                for target, headers in ((page.page, cookie), (page.twin, credentials.tokens[page.user])):
                    say(f"  {target.label(data)}: {check_once(base, target, data, headers)}")

            def load(target: Target, sessions: list[dict[str, str]]) -> Run:
                warm = run_wrk(
                    wrk,
                    base,
                    target,
                    data,
                    sessions,
                    connections=connections,
                    seconds=max(1.0, seconds / 4),
                    warm_up=True,
                )
                # A slow path runs longer (the module's step 4): a p95 of enough answers.
                rate = warm.per_second if warm.seconds else 0.0
                longest = LONGEST_RUN * seconds
                timed = (
                    seconds
                    if rate * seconds >= MIN_ANSWERS
                    else min(longest, MIN_ANSWERS / rate if rate else longest)
                )
                run = run_wrk(wrk, base, target, data, sessions, connections=connections, seconds=timed)
                say(
                    f"  {target.label(data)}: p50 {run.p50_ms:.1f} ms, p95 {run.p95_ms:.1f} ms, "
                    f"p99 {run.p99_ms:.1f} ms, {run.per_second:,.1f} req/s, {run.requests:,} answers in "
                    f"{run.seconds:.0f} s, "
                    f"all 200 with their marker (wrk used {run.client_cpu_share:.0%} of a core)"
                )
                return run

            say(
                f"wrk, {connections} threads of one connection, one session each (the JSON twin: "
                f"one bearer token), {seconds:.0f} s a path after a warm-up (a slow one up to "
                f"{LONGEST_RUN * seconds:.0f} s, for {MIN_ANSWERS} answers):"
            )
            runs = []
            for page in PAGES:
                sessions = credentials.sessions[page.user][:connections]
                token = [credentials.tokens[page.user]]
                runs.append((page, load(page.page, sessions), load(page.twin, token)))
    return Measured(runs=runs, data=data, connections=connections, workers=workers)


async def run_pages_bench(
    scratch: Scratch,
    *,
    seconds: float,
    connections: int,
    workers: int,
    scale: str,
    seed: int = 1,
    big_lines: int = BIG_CLAIM_LINES,
    say: Callable[[str], None],
) -> list[Figure]:
    import asyncio

    wrk = find_wrk()
    if wrk is None:
        say("registry bench pages: wrk is not installed (apt-get install wrk): SKIPPED, nothing measured")
        return []
    with keys_and_redis("pages", say) as (keys, redis_url):
        data, credentials = await prepare(
            scratch,
            keys,
            redis_url=redis_url,
            scale=scale,
            seed=seed,
            sessions=connections,
            big_lines=big_lines,
            say=say,
        )
        measured = await asyncio.to_thread(
            _measure,
            wrk,
            scratch.url,
            redis_url,
            keys,
            data,
            credentials,
            workers=workers,
            connections=connections,
            seconds=seconds,
            say=say,
        )
    return figures_of(measured)


def figures_of(measured: Measured) -> list[Figure]:
    conditions = f"{measured.connections} sessions, {measured.workers} workers"
    figures: list[Figure] = []
    every: list[Run] = []
    data = measured.data
    for page, run, twin in measured.runs:
        every += [run, twin]
        twin_text = f"{page.twin.label(data)}: p95 {twin.p95_ms:.1f} ms, {twin.per_second:,.1f} req/s" + (
            f" ({page.note})" if page.note else ""
        )
        figures += [
            Figure(f"{page.page.label(data)}, p95 ({conditions})", run.p95_ms, "ms", page.budget_ms, False),
            Figure(
                f"  {page.page.label(data)}, p95 against its JSON twin",
                run.p95_ms / twin.p95_ms,
                "x",
                TWIN_BUDGET_RATIO,
                False,
                compared_with="JSON twin",
                ratio=run.p95_ms / twin.p95_ms,
                baseline=twin_text,
            ),
            Figure(
                f"  {page.page.label(data)}, throughput (p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms)",
                run.per_second,
                "req/s",
                None,
                True,
                compared_with="JSON twin",
                ratio=run.per_second / twin.per_second,
            ),
        ]
    figures.append(
        Figure(
            "  wrk's CPU, the most of any run (not the bottleneck when well under 100%)",
            100 * max(r.client_cpu_share for r in every),
            "% of a core",
            None,
            False,
        )
    )
    return figures
