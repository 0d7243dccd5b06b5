"""Starting and stopping a real Celery worker (prefork, one child) for tests.

The worker runs in a subprocess with the system's environment (``test_env``, plus a
queue of its own in ``REGISTRY_QUEUE`` so no other worker on a shared Redis takes its
messages, and so the jobs it queues itself come back to it). :attr:`Worker.sender` is a
:class:`workers.sender.CelerySender` on the same broker and queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.core.settings import Settings
from workers.celery_app import create_celery
from workers.sender import CelerySender

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0
TASK_TIMEOUT = 60.0
LOOP_STARTED = "event loop started, database initialised"
LOOP_CLOSED = "event loop closed"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    queue: str
    sender: CelerySender

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def succeeded(self, task: str) -> int:
        """How many ``task`` runs the log reports as succeeded."""
        return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] succeeded", self.log()))

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the worker died ({self.process.returncode}):\n{self.log()}")


def new_queue() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM), then kill the worker's whole process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # The pool children are in the worker's own session; kill any left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


def wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if " ready." in text:
            return
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode} before it was ready:\n{text}")
        time.sleep(0.2)
    text = log_path.read_text(errors="replace")
    pytest.fail(f"the worker was not ready within {READY_TIMEOUT:.0f} s:\n{text}")


@contextlib.contextmanager
def running_worker(
    test_env: dict[str, str],
    settings: Settings,
    folder: Path,
    *,
    redis_url: str | None = None,
    queue: str | None = None,
) -> Iterator[Worker]:
    """A worker on its own queue (``queue`` or a new one; on ``redis_url`` if given, else the
    session's Redis), ready; stopped (warm shutdown) on exit, which must close its loop."""
    queue = queue or new_queue()
    env = {**os.environ, **test_env, "REGISTRY_QUEUE": queue}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    log_path = folder / f"worker-{queue}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "workers.celery_app:app", "worker",
        "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
        "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    app_settings = dataclasses.replace(settings, queue=queue, redis_url=redis_url or settings.redis_url)
    app = create_celery(app_settings)
    try:
        wait_ready(process, log_path)
        yield Worker(process=process, log_path=log_path, queue=queue, sender=CelerySender(app))
    finally:
        stop(process)
        app.close()
    # worker_process_shutdown closed the pool process's loop and connections.
    log = log_path.read_text(errors="replace")
    if LOOP_STARTED in log:
        assert LOOP_CLOSED in log, log
