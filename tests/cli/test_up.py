"""``registry up`` as a user runs it: a real process, embedded servers, real children.

One slow test (about 30 s): start on a fresh REGISTRY_HOME, wait for the ready banner,
check /healthz and /readyz, Ctrl-C (SIGINT), and check that nothing is left running;
then start again on the same folder, which must find its data (the demo users exist).

Then the supervisor's restart policy and /readyz's worker check, on one more running
``registry up`` (module-scoped, with a short heartbeat window): the worker's main process
killed with SIGKILL is restarted and /readyz comes back to 200; a worker stopped with
SIGSTOP turns /readyz to 503 within the window, and back to 200 after SIGCONT.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from cli.embedded import EmbeddedPostgres
from cli.up import READY_MARKER, STOP_BUDGET_SECONDS
from registry.core.clock import business_today
from registry.core.db import credentials_from_url
from tests.cli.commands import CONFIG_VARS, free_port, kill_leftovers, leftovers

START_TIMEOUT = 150.0


class Up:
    """One ``registry up`` process and what it printed."""

    def __init__(self, home: Path, port: int, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
        env.update(REGISTRY_HOME=str(home), PORT=str(port), PYTHONUNBUFFERED="1", **(extra_env or {}))
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # like a terminal: a signal reaches the supervisor only
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY_MARKER in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready.wait(0.5):
            assert self.process.poll() is None, f"registry up exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no ready banner in {START_TIMEOUT} s:\n{self.output}"

    def interrupt(self) -> float:
        """Ctrl-C; returns how long the supervisor took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_BUDGET_SECONDS + 5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"registry up still running 25 s after SIGINT:\n{self.output}")
        self._reader.join(5)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_BUDGET_SECONDS + 5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def home() -> Iterator[Path]:
    # Short and under /tmp: the Unix sockets inside must stay under ~100 characters.
    folder = Path(tempfile.mkdtemp(prefix="regup-", dir="/tmp"))
    yield folder
    kill_leftovers(folder)
    shutil.rmtree(folder, ignore_errors=True)


def assert_nothing_left(home: Path) -> None:
    deadline = time.monotonic() + 3  # orphans of a killed group may take a moment to go
    while (left := leftovers(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], "processes left behind:\n" + "\n".join(left)


@pytest.mark.worker
def test_up_serves_then_stops_everything_on_ctrl_c_and_finds_its_data_again(home: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    first = Up(home, port)
    try:
        first.wait_ready()
        out = first.output
        for url in ("/schema", "/healthz", "/readyz"):
            assert f"{base}{url}" in out
        for name in ("demo-admin", "demo-auditor", "demo-institution", "demo-assessor"):
            assert name in out
        password = re.search(r"their password \(not shown again\): (\S+)", out)
        assert password is not None, out
        assert {"worker", "beat", "api"} <= set(re.findall(r"started (\w+) \(pid", out))

        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        claim_id = demo_institution_claims_are_computed_in_seconds(base, password.group(1))
        the_bureau_audits_notices_grants_pays_and_claws_back(base, password.group(1), home, claim_id)

        took = first.interrupt()
    finally:
        first.kill()
    assert took < STOP_BUDGET_SECONDS, f"stopping took {took:.1f} s"
    assert first.process.returncode == 0, first.output
    assert_nothing_left(home)
    assert (home / "pgdata" / "PG_VERSION").exists()
    assert (home / "logs" / "api.log").stat().st_size > 0

    second = Up(home, port)
    try:
        second.wait_ready()
        out = second.output
        assert "their password (not shown again)" not in out
        assert password.group(1) not in out
        assert "printed when the demo users were created" in out
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        took = second.interrupt()
    finally:
        second.kill()
    assert took < STOP_BUDGET_SECONDS, f"stopping took {took:.1f} s"
    assert_nothing_left(home)


def signed_in(base: str, username: str, password: str) -> httpx.Client:
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30
    ).json()["access_token"]
    return httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def demo_institution_claims_are_computed_in_seconds(base: str, password: str) -> str:
    """The demo institution files a training claim for each of its closed vocational demo
    cohorts; the worker computes each in seconds, and the lines show amounts, traces and the
    anomalies the demo planted (an overlap, a shared phone, an attendance shortfall)."""
    api = signed_in(base, "demo-institution", password)
    cohorts = api.get("/cohorts", params={"status": "closed", "kind": "vocational", "limit": 500}).json()[
        "items"
    ]
    assert cohorts, "the demo institution has no closed vocational cohort"
    flags: set[str] = set()
    best: dict[str, object] = {"clean_lines": -1}
    for cohort in cohorts:
        filed = api.post(f"/cohorts/{cohort['id']}/claims", json={"kind": "training"})
        assert filed.status_code == 202, filed.text
        started = time.monotonic()
        while (claim := api.get(f"/claims/{filed.json()['id']}").json())["status"] == "submitted":
            assert time.monotonic() - started < 20, claim
            time.sleep(0.2)
        assert claim["status"] == "computed", claim
        assert claim["lines"] and all(line["trace"] and line["base_fen"] > 0 for line in claim["lines"])
        flags |= {flag["code"] for line in claim["lines"] for flag in line["flags"]}
        if claim["clean_lines"] > best["clean_lines"]:  # type: ignore[operator]
            best = claim
    assert {"OVERLAP", "SHARED_PHONE", "ATTENDANCE"} <= flags, flags
    return str(best["id"])


def the_bureau_audits_notices_grants_pays_and_claws_back(
    base: str, password: str, home: Path, claim_id: str
) -> None:
    """The demo auditor decides a computed claim and publishes its notice (the public page
    masks names); `registry notices close-due --date` refuses a day after today; the notice
    ran its days (moved into the past in the database) and `registry notices close-due`
    ends it; the grants are in the ledger; the bureau pays; a certificate revoked afterwards is
    clawed back; every step is in the audit trail."""
    auditor = signed_in(base, "demo-auditor", password)
    claim = auditor.get(f"/claims/{claim_id}").json()
    decisions = [
        {
            "line_id": line["id"],
            "decision": "rejected",
            "reason": "不符合补贴条件: " + line["flags"][0]["code"],
        }
        if line["outcome"] == "blocked"
        else {
            "line_id": line["id"],
            "decision": "approved",
            "reason": "" if line["outcome"] == "clean" else "已核实",
        }
        for line in claim["lines"]
    ]
    decided = auditor.post(f"/claims/{claim_id}/decisions", json={"lines": decisions})
    assert decided.status_code == 200 and decided.json()["status"] == "decided", decided.text
    notice = auditor.post(f"/claims/{claim_id}/notice")
    assert notice.status_code == 201, notice.text
    page = httpx.get(f"{base}{notice.json()['public_url']}", timeout=30)
    assert page.status_code == 200 and "*" in page.text and "公示" in page.text
    after_end = dt.date.fromisoformat(notice.json()["runs_to"]) + dt.timedelta(days=1)
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}

    def close_due(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "notices", "close-due", *args],
            env={**env, "REGISTRY_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # A day that has not come is refused (it would grant before the five working days).
    early = close_due("--date", after_end.isoformat())
    assert early.returncode == 2 and business_today().isoformat() in early.stderr, early.stdout + early.stderr
    # The notice ran its five working days: moved back by the days until after its end, as
    # the database's owner (the embedded server's superuser), then ended as beat ends it.
    notice_ran_in_the_past(home, notice.json()["id"], after_end - business_today())
    closed = close_due()
    assert closed.returncode == 0 and "notices closed" in closed.stdout, closed.stdout + closed.stderr
    claim = auditor.get(f"/claims/{claim_id}").json()
    assert claim["status"] == "payable" and claim["granted_fen"] > 0, claim["status"]
    paid = auditor.post(
        f"/claims/{claim_id}/paid",
        json={"paid_on": business_today().isoformat(), "batch_reference": "LY-DEMO-1"},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    granted = next(line for line in claim["lines"] if line["grant_id"])
    admin = signed_in(base, "demo-admin", password)
    certificate = admin.get(f"/certificates/{granted['certificate_id']}").json()
    revoked = admin.post(f"/certificates/{certificate['id']}/revoke", json={"reason": "证书信息经核查不实"})
    assert revoked.status_code == 200, revoked.text
    claim = auditor.get(f"/claims/{claim_id}").json()
    assert (
        claim["reversed_fen"] == granted["total_fen"]
        and claim["net_fen"] == claim["granted_fen"] - granted["total_fen"]
    )
    events = auditor.get(
        "/audit-events", params={"entity_type": "subsidy_claim", "entity_id": claim_id, "limit": 50}
    ).json()
    actions = {event["action"] for event in events["items"]}
    assert {"subsidy_claim.file", "subsidy_claim.compute", "subsidy_claim.decide", "subsidy_claim.notice",
            "subsidy_claim.grant", "subsidy_claim.paid"} <= actions, actions  # fmt: skip


def notice_ran_in_the_past(home: Path, notice_id: str, by: dt.timedelta) -> None:
    """Move a running notice's days back by ``by`` in the embedded database of ``home``."""
    server = EmbeddedPostgres(home / "pgdata", database="registry")
    server.start()  # attaches to the running server (registry up stops it)

    async def move() -> str:
        conn = await asyncpg.connect(**credentials_from_url(server.owner_url))
        try:
            return str(
                await conn.execute(
                    "UPDATE claim_notice SET published_on = published_on - $2::int, "
                    "runs_from = runs_from - $2::int, runs_to = runs_to - $2::int "
                    "WHERE id = $1 AND status = 'running'",
                    uuid.UUID(notice_id),
                    by.days,
                )
            )
        finally:
            await conn.close()

    moved = asyncio.run(move())
    assert moved == "UPDATE 1", moved


# --- restart policy and readiness -------------------------------------------------------

HEARTBEAT_MAX_AGE = 4
RECOVERY_TIMEOUT = 90.0


@dataclass
class Running:
    up: Up
    base: str

    def pids(self, name: str) -> list[int]:
        return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", self.up.output)]

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.base}/readyz", timeout=10)

    def wait_for_readyz(self, status: int, timeout: float) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            assert self.up.process.poll() is None, f"registry up exited:\n{self.up.output}"
            try:
                answer = self.ready()
                if answer.status_code == status:
                    return answer
            except httpx.HTTPError:
                answer = None
            assert time.monotonic() < deadline, (
                f"/readyz not {status} within {timeout:.0f} s: "
                f"{answer.text if answer is not None else 'no answer'}\n{self.up.output}"
            )
            time.sleep(0.25)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    folder = Path(tempfile.mkdtemp(prefix="regsup-", dir="/tmp"))
    port = free_port()
    up = Up(
        folder,
        port,
        {
            "REGISTRY_WORKER_HEARTBEAT_MAX_AGE_SECONDS": str(HEARTBEAT_MAX_AGE),
            "REGISTRY_WORKER_HEARTBEAT_INTERVAL_SECONDS": "1",
        },
    )
    try:
        up.wait_ready()
        yield Running(up, f"http://127.0.0.1:{port}")
        up.interrupt()
    finally:
        up.kill()
        kill_leftovers(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.worker
def test_a_killed_worker_is_restarted_and_readiness_comes_back(running: Running) -> None:
    running.wait_for_readyz(200, RECOVERY_TIMEOUT)
    (worker,) = running.pids("worker")[-1:]
    api_pid = running.pids("api")[-1]
    os.kill(worker, signal.SIGKILL)

    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while running.pids("worker")[-1] == worker:
        assert running.up.process.poll() is None, f"registry up stopped:\n{running.up.output}"
        assert time.monotonic() < deadline, f"the worker was not restarted:\n{running.up.output}"
        time.sleep(0.25)
    assert "restarting worker in" in running.up.output
    assert psutil.pid_exists(running.pids("worker")[-1])
    running.wait_for_readyz(200, RECOVERY_TIMEOUT)
    # The API was never restarted: only the dead child was.
    assert running.pids("api") == [api_pid]
    assert httpx.get(f"{running.base}/healthz", timeout=10).status_code == 200


@pytest.mark.worker
def test_a_stopped_worker_makes_readyz_unavailable_until_it_continues(running: Running) -> None:
    running.wait_for_readyz(200, RECOVERY_TIMEOUT)
    worker = running.pids("worker")[-1]
    os.kill(worker, signal.SIGSTOP)
    try:
        stopped_at = time.monotonic()
        answer = running.wait_for_readyz(503, HEARTBEAT_MAX_AGE + 10)
        assert time.monotonic() - stopped_at <= HEARTBEAT_MAX_AGE + 10
        checks = answer.json()["checks"]
        assert checks["worker"].startswith("missing: no worker heartbeat"), checks
        assert checks["database"] == checks["broker"] == "ok"
        # Liveness is the API's own: a stopped worker does not make it fail.
        assert httpx.get(f"{running.base}/healthz", timeout=10).status_code == 200
    finally:
        os.kill(worker, signal.SIGCONT)
    running.wait_for_readyz(200, RECOVERY_TIMEOUT)
    assert running.pids("worker")[-1] == worker  # stopped is not dead: nothing was restarted


def test_a_child_that_keeps_dying_makes_the_supervisor_give_up(tmp_path: Path) -> None:
    """The restart policy on its own, with a real child that exits at once: backoff doubles,
    and the RESTART_LIMIT-th death within the window stops everything with a clear message."""
    import io

    from cli.up import RESTART_LIMIT, Child, Supervisor

    out = io.StringIO()
    supervisor = Supervisor(home=tmp_path, port=free_port(), base_env={}, out=out)
    log_path = tmp_path / "crash.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by shutdown()
    child = Child("crash", [sys.executable, "-c", "raise SystemExit(3)"], log_path, log_file=log_file)
    supervisor.children.append(child)
    try:
        verdicts = []
        for _ in range(RESTART_LIMIT):
            supervisor._start(child, dict(os.environ))
            assert child.process is not None
            child.process.wait(30)
            verdicts.append(supervisor._schedule_restart(child))
        assert verdicts == [True] * (RESTART_LIMIT - 1) + [False]
        said = out.getvalue()
        assert "crash exited with code 3" in said
        assert [int(s) for s in re.findall(r"restarting crash in (\d+) s", said)] == [1, 2, 4, 8]
        assert f"crash died {RESTART_LIMIT} times within 60 s; giving up and stopping everything" in said
    finally:
        supervisor.shutdown()
