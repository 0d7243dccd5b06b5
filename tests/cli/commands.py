"""Running the installed ``registry`` script as an operator would, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
