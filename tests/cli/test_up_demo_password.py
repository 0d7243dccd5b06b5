"""``registry up`` with a REGISTRY_DEMO_PASSWORD the password rules refuse: it stops before
starting anything and says which rule failed and what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.up import StartupFailed, _step, demo_password_refusal
from registry.core.errors import FieldError, ValidationFailed
from tests.cli.commands import CONFIG_VARS, REGISTRY, free_port, kill_leftovers


@pytest.fixture
def home() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="regpw-", dir="/tmp"))
    yield folder
    kill_leftovers(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_up_refuses_a_short_demo_password_naming_the_rule(home: Path) -> None:
    # as test_up.Up runs it: no server URLs or keys from outside (embedded servers, key files)
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(REGISTRY_HOME=str(home), PORT=str(free_port()), REGISTRY_DEMO_PASSWORD="short")
    done = subprocess.run(
        [REGISTRY, "up", "--no-worker", "--no-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "REGISTRY_DEMO_PASSWORD is refused: at least 10 characters; "
        "set another value or unset it to have one generated"
    ) in done.stdout, done.stdout + done.stderr
    assert "short" not in done.stdout.replace("REGISTRY_DEMO_PASSWORD", "")  # never echoed
    assert not (home / "pgdata").exists()  # refused before any server started


def test_the_refusal_names_every_rule_and_a_good_password_passes() -> None:
    assert demo_password_refusal(None) is None
    assert demo_password_refusal("correct horse battery") is None
    refusal = demo_password_refusal("abc")
    assert refusal is not None and "at least 10 characters" in refusal


def test_a_failed_step_names_the_field_errors() -> None:
    with pytest.raises(StartupFailed) as caught, _step("loading the demo users"):
        raise ValidationFailed(
            "the user is not valid",
            errors=[FieldError("password", "too_short", "at least 10 characters")],
        )
    assert "the user is not valid (password: at least 10 characters)" in str(caught.value)
