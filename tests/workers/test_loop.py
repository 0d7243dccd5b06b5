"""The per-process event loop: one loop and one Tortoise init per process, a forked
child builds its own and leaves its parent's connections alone. Runs in a subprocess, so
the test process's own Tortoise state is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, traceback

    from registry.core import db
    from registry.core.settings import load_settings
    from workers import loop

    loop.configure(load_settings())

    async def ping() -> int:
        await db.ping()
        return id(asyncio.get_running_loop())

    assert not loop.is_running()
    first = loop.run(ping())
    assert loop.run(ping()) == first, "a second run used another loop"
    assert loop.loop_id() == first

    child = os.fork()
    if child == 0:
        code = 1
        try:
            assert not loop.is_running(), "the child must not use its parent's loop"
            mine = loop.run(ping())
            assert mine != first
            assert loop.run(ping()) == mine
            loop.shutdown()
            code = 0
        except BaseException:
            traceback.print_exc()
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    # The child closed its own pool, not ours.
    assert loop.run(ping()) == first
    loop.shutdown()
    assert not loop.is_running()
    loop.shutdown()  # idempotent
    print("OK")
    """
)


def test_one_loop_per_process_and_fork_safety(test_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, **test_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_run_closes_the_coroutine_when_unconfigured() -> None:
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("error")
        from workers import loop

        async def work() -> None: ...

        try:
            loop.run(work())
        except RuntimeError as exc:
            print("REFUSED", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "REFUSED" in result.stdout
    assert "never awaited" not in result.stderr
