"""``registry up`` as a user runs it: a real process, embedded servers, real children.

One slow test (about 30 s): start on a fresh REGISTRY_HOME, wait for the ready banner,
check /healthz and /readyz, Ctrl-C (SIGINT), and check that nothing is left running;
then start again on the same folder, which must find its data (the demo users exist).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.up import READY_MARKER, STOP_BUDGET_SECONDS
from tests.cli.commands import CONFIG_VARS, free_port, kill_leftovers, leftovers

START_TIMEOUT = 150.0


class Up:
    """One ``registry up`` process and what it printed."""

    def __init__(self, home: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
        env.update(REGISTRY_HOME=str(home), PORT=str(port), PYTHONUNBUFFERED="1")
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
