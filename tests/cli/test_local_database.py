"""Every command that needs the database finds it as ``registry up`` does: with
``DATABASE_URL`` unset (and no keys in the environment) it uses the embedded database, the
embedded Redis and the key files under ``REGISTRY_HOME`` (:func:`cli.runtime.local_settings`).

Beside a running embedded system: the embedded PostgreSQL and Redis started under a
temporary ``REGISTRY_HOME`` the way ``make up`` starts them, the key files made, migrated and
the reference loaded; then each command runs as an operator runs it, a subprocess of the
installed ``registry`` script whose environment holds ``REGISTRY_HOME`` and none of the
configuration variables, in a cheap variant that reaches the database (a read, or a small
valid file). A command added to ``cli.main.COMMANDS`` needs a case here (or a place in
``NO_DATABASE``): the last test says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cli.embedded import EmbeddedPostgres, EmbeddedRedis, ensure_key_files
from cli.main import COMMANDS
from registry import catalogue
from tests.cli.commands import CONFIG_VARS, REGISTRY, kill_leftovers

NO_DATABASE = {
    "up": "starts the system itself",
    "check-migrations": "compares the models with the migration files",
    "policy-doc": "renders a catalogue file",
    "bench": "measures in scratch databases of its own (an embedded server of its own without a URL)",
}
"""The commands that never open the registry's database."""

COMMAND_SECONDS = 30
"""A generous bound on one command (each takes a few seconds here)."""

CALENDAR_2099 = (
    "date,kind,source,name\n"
    "2099-01-01,holiday,国务院办公厅关于2099年部分节假日安排的通知(测试),元旦\n"
    "2099-01-04,makeup_workday,国务院办公厅关于2099年部分节假日安排的通知(测试),元旦\n"
)


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    expect: str
    """A piece of the output that only an answer from the database gives."""
    returncode: int = 0
    files: dict[str, str] = field(default_factory=dict)
    """Files written into the case's folder first; ``{name}`` in ``argv`` is the path of ``name`` there."""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The command, and its action when it has some (``calendar load``)."""
        return (
            " ".join(self.argv[:2])
            if self.argv[0] in ("calendar", "notices", "report", "priority-list")
            else self.argv[0]
        )


CASES = [
    Case(("migrate",), "migrations applied"),
    Case(("load-reference",), "nothing changed"),
    Case(
        ("import-priority-list", "{list.csv}", "--name", "CLI 目录", "--effective-from", "2095-03-01"),
        "loaded; 2 trades",
        files={"list.csv": "工种代码,名称\n6-31-01-03,电工\n4-10-01-05,养老护理员\n"},
    ),
    Case(
        ("priority-list", "confirm", "no-such-list", "--document", "洛人社〔2026〕1号"),
        "no priority list has the code 'no-such-list'",
        returncode=2,
    ),
    Case(("load-policy", str(catalogue.POLICIES_DIR / "henan-2022.yaml")), "policy henan-2022"),
    Case(("calendar", "load", "{2099.csv}"), "calendar 2099: loaded", files={"2099.csv": CALENDAR_2099}),
    Case(("calendar", "show"), "the calendar covers 2004-2026"),
    Case(("notices", "close-due"), "0 notices closed"),
    Case(
        ("create-user", "cli-local-admin", "--role", "admin"),
        "created cli-local-admin (admin)",
        env={"REGISTRY_NEW_PASSWORD": "local-admin-password-1"},
    ),
    Case(("verify-audit",), "chain intact"),
    Case(("relay-outbox", "--min-age", "0"), "unsent jobs"),
    Case(("rotate-keys", "--check"), ""),
    Case(("seal-certificate-numbers",), "nothing to seal"),
    Case(
        ("load-targets", "{targets.csv}", "--year", "2044"),
        "targets of 2044 from targets.csv: 1 loaded",
        files={"targets.csv": "县区,指标,目标\n涧西区,trainees_trained,100\n"},
    ),
    Case(("rollup", "--as-of", "2026-01-31"), "rollup of 2026 as of 2026-01-31"),
    Case(("report", "quarterly", "--year", "2026", "--quarter", "1", "--out", "{q1.xlsx}"), "2026 Q1"),
    Case(
        ("import-roster", str(uuid.UUID(int=1)), "{roster.csv}"),
        "no such cohort",
        returncode=2,
        files={"roster.csv": "身份证号,姓名\n"},
    ),
    Case(("demo", "--scale", "tiny", "--year", "2020"), "demo year 2020, scale tiny, seed 1: loaded"),
]


@dataclass(frozen=True)
class Beside:
    home: Path
    env: dict[str, str]
    """The operator's environment: REGISTRY_HOME and none of the configuration variables."""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGISTRY, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def beside() -> Iterator[Beside]:
    # Short and under /tmp: the Unix sockets inside must stay under ~100 characters.
    home = Path(tempfile.mkdtemp(prefix="reglocal-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and not k.startswith("REGISTRY_")}
    env["REGISTRY_HOME"] = str(home)
    pg = EmbeddedPostgres(home / "pgdata", database="registry")
    redis = EmbeddedRedis(home / "redis")
    try:
        pg.start()
        redis.start()
        # What `registry up` does before it starts its children: the key files, the
        # migrations as the owner, the reference catalogue as the application's role.
        up_env = {
            **env,
            **ensure_key_files(home / "keys"),
            "DATABASE_URL": pg.app_url,
            "REDIS_URL": redis.url,
        }
        migrated = run({**up_env, "DATABASE_OWNER_URL": pg.owner_url}, "migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        loaded = run(up_env, "load-reference")
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        yield Beside(home, env)
    finally:
        redis.stop()
        pg.stop()
        kill_leftovers(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_command_finds_the_embedded_database_under_registry_home(
    case: Case, beside: Beside, tmp_path: Path
) -> None:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    argv = [str(tmp_path / a[1:-1]) if a.startswith("{") and a.endswith("}") else a for a in case.argv]
    started = time.monotonic()
    result = run({**beside.env, **case.env}, *argv)
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "DATABASE_URL must be set" not in output
    assert result.returncode == case.returncode, output
    assert case.expect in output, output
    assert took < COMMAND_SECONDS, f"registry {' '.join(argv)} took {took:.1f} s"
    # Beside a running server: the command attached to it, and left it running.
    assert EmbeddedPostgres(beside.home / "pgdata").is_running()


def test_every_command_that_needs_the_database_has_a_case() -> None:
    covered = {case.argv[0] for case in CASES}
    missing = set(COMMANDS) - set(NO_DATABASE) - covered
    assert not missing, (
        f"add a case for registry {', '.join(sorted(missing))} (or say in NO_DATABASE why not)"
    )
    assert not covered & set(NO_DATABASE)
