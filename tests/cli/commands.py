"""Running the installed ``registry`` script as an operator would, for the CLI tests, and
the process housekeeping of the ``registry up`` tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil

REGISTRY = str(Path(sys.executable).parent / "registry")


def registry(env: dict[str, str] | None, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``registry ARGS`` with the suite's environment on top of this process's."""
    return subprocess.run(
        [REGISTRY, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Variables that would switch `registry up` away from the embedded servers and files.
CONFIG_VARS = (
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "PORT",
    "REGISTRY_DEMO_PASSWORD",
    "REGISTRY_DATA_KEY",
    "REGISTRY_DATA_KEY_FILE",
    "REGISTRY_DATA_KEY_PREVIOUS",
    "REGISTRY_INDEX_KEY",
    "REGISTRY_INDEX_KEY_FILE",
    "REGISTRY_TOKEN_KEY",
    "REGISTRY_TOKEN_KEY_FILE",
    "REGISTRY_AUDIT_KEY",
    "REGISTRY_AUDIT_KEY_FILE",
    "REGISTRY_AUDIT_KEY_PREVIOUS",
    "REGISTRY_AUDIT_CHECKPOINTS",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def leftovers(home: Path) -> list[str]:
    """Live processes that belong to this REGISTRY_HOME (by command line or environment)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            mine = str(home) in cmdline
            if not mine and proc.pid != os.getpid():
                with contextlib.suppress(psutil.AccessDenied):
                    mine = proc.environ().get("REGISTRY_HOME") == str(home)
            if mine:
                found.append(f"{proc.pid} {cmdline}")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def kill_leftovers(home: Path) -> None:
    for line in leftovers(home):
        with contextlib.suppress(psutil.Error):
            psutil.Process(int(line.split()[0])).kill()
