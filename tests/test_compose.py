"""docker-compose.yml and the Dockerfile, checked without Docker: the services are all
there with their healthchecks and volumes, secrets are required, and every command the
file names exists in this project."""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CELERY_APP = "workers.celery_app:app"
SECRETS = ("REGISTRY_DATA_KEY", "REGISTRY_INDEX_KEY", "REGISTRY_TOKEN_KEY", "REGISTRY_AUDIT_KEY")
PROJECT_SERVICES = ("migrate", "api", "worker", "beat", "flower")
SERVICES = ("postgres", "redis", *PROJECT_SERVICES)
OWN_VARIABLES = ("DATABASE_URL", "REDIS_URL", "REGISTRY_")


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    result = services[name]
    assert isinstance(result, dict)
    return result


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


WORKERS_PER_CORE = "${REGISTRY_API_WORKERS:-$(nproc)}"
"""The API's ``--workers``: the shell gives one per core unless REGISTRY_API_WORKERS is set."""


def server_argv(command: str | list[str], *, compose_file: bool = False) -> list[str]:
    """The words of the API's server command: exec form, or ``sh -c "exec uvicorn ..."``
    (so that the shell computes ``--workers``), with :data:`WORKERS_PER_CORE` read as 2.
    ``compose_file``: ``$$`` is compose's escape of a literal ``$``."""
    words = argv(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].replace("$$", "$") if compose_file else words[2])
        if words[0] == "exec":
            words = words[1:]
    return ["2" if word == WORKERS_PER_CORE else word for word in words]


def simple_commands(command: str | list[str]) -> list[list[str]]:
    """The simple commands in ``command``: ``sh -c "a && b"`` gives ``a`` and ``b``."""
    words = argv(command)
    if words[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"]):
        return [shlex.split(part) for part in re.split(r"&&|\|\||;", words[2]) if part.strip()]
    return [words]


def healthcheck_commands(health: dict[str, Any]) -> list[list[str]]:
    test = health["test"]
    if isinstance(test, str):
        return simple_commands(["sh", "-c", test])
    kind, *rest = test
    if kind == "CMD-SHELL":
        return simple_commands(["sh", "-c", rest[0]])
    assert kind == "CMD", test
    return [rest]


def all_project_commands() -> list[list[str]]:
    found: list[list[str]] = []
    for name in PROJECT_SERVICES:
        spec = service(name)
        found.extend(simple_commands(spec["command"]))
        if "healthcheck" in spec:
            found.extend(healthcheck_commands(spec["healthcheck"]))
    return found


def dockerfile_cmd() -> list[str]:
    lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith(("CMD", "ENTRYPOINT"))]
    assert lines, "the Dockerfile has no CMD/ENTRYPOINT"
    assert not any(line.startswith("ENTRYPOINT") for line in lines), "compose commands assume no ENTRYPOINT"
    cmd = json.loads(lines[-1].removeprefix("CMD").strip())
    assert isinstance(cmd, list)
    return [str(part) for part in cmd]


def fake_env() -> dict[str, str]:
    """Enough environment for the app to build (nothing connects for ``--help``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env.update(
        DATABASE_URL="postgresql://registry@127.0.0.1:1/registry",
        REDIS_URL="redis://127.0.0.1:1/0",
        **{name: base64.b64encode(os.urandom(32)).decode() for name in SECRETS},
    )
    return env


# -- services -------------------------------------------------------------------------


def test_all_services_are_there() -> None:
    assert set(SERVICES) <= set(compose()["services"])


def test_postgres() -> None:
    postgres = service("postgres")
    assert str(postgres["image"]).startswith("postgres:15")
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(argv(postgres["healthcheck"]["test"]))


def test_redis() -> None:
    redis = service("redis")
    assert str(redis["image"]).startswith("redis:7")
    assert any(str(v).endswith(":/data") for v in redis["volumes"])
    assert "ping" in " ".join(argv(redis["healthcheck"]["test"]))


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name in ("postgres", "redis", "beat", "api", "worker"):
        for volume in service(name).get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_migrate_runs_migrations_then_reference_data_once() -> None:
    migrate = service("migrate")
    assert simple_commands(migrate["command"]) == [["registry", "migrate"], ["registry", "load-reference"]]
    assert str(migrate.get("restart", "no")) == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["api", "worker", "beat"])
def test_processes_start_after_a_successful_migrate(name: str) -> None:
    depends = service(name)["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_api() -> None:
    api = service("api")
    words = server_argv(api["command"], compose_file=True)
    assert words[:2] == ["uvicorn", "cli.asgi:app"]
    assert words[words.index("--host") + 1] == "0.0.0.0"
    assert words[words.index("--port") + 1] == "8000"
    assert "/healthz" in " ".join(healthcheck_commands(api["healthcheck"])[0])


def test_worker_beat_flower_commands() -> None:
    assert argv(service("worker")["command"])[:4] == ["celery", "-A", CELERY_APP, "worker"]
    beat = argv(service("beat")["command"])
    assert beat[:4] == ["celery", "-A", CELERY_APP, "beat"]
    schedule = beat[beat.index("--schedule") + 1]
    # The schedule file lives on a volume, so beat remembers its last runs across restarts.
    mounts = [str(v).split(":")[1] for v in service("beat")["volumes"]]
    assert any(schedule.startswith(mount.rstrip("/") + "/") for mount in mounts), (schedule, mounts)
    flower = argv(service("flower")["command"])
    assert flower[:4] == ["celery", "-A", CELERY_APP, "flower"]
    assert "--port=5555" in flower


def test_secrets_are_required() -> None:
    text = COMPOSE.read_text()
    for name in SECRETS:
        assert re.search(r"\$\{" + name + r":\?[^}]+\}", text), f"{name} must be ${{{name}:?message}}"
    for name in PROJECT_SERVICES:
        env = service(name)["environment"]
        assert isinstance(env, dict)
        for key in ("DATABASE_URL", "REDIS_URL", *SECRETS):
            assert env.get(key), f"{name} lacks {key}"


def test_only_migrate_connects_as_the_owner() -> None:
    """The application's processes connect as a role of their own, never as the database's
    owner (POSTGRES_USER), and never get the owner's URL or password."""
    owner = service("postgres")["environment"]["POSTGRES_USER"]
    migrate_env = service("migrate")["environment"]
    assert f"//{owner}:" in migrate_env["DATABASE_OWNER_URL"]
    for name in PROJECT_SERVICES:
        env = service(name)["environment"]
        user = str(env["DATABASE_URL"]).split("//", 1)[1].split(":", 1)[0]
        assert user != owner, f"{name} connects as the owner"
        assert "POSTGRES_PASSWORD" not in str(env["DATABASE_URL"])
        if name != "migrate":
            assert "DATABASE_OWNER_URL" not in env, f"{name} has the owner's URL"


def test_audit_checkpoints_are_on_a_volume_of_the_api_and_the_worker() -> None:
    path = str(service("api")["environment"]["REGISTRY_AUDIT_CHECKPOINTS"])
    for name in ("api", "worker"):
        mounts = [str(v).split(":")[1] for v in service(name)["volumes"]]
        assert any(path.startswith(mount.rstrip("/") + "/") for mount in mounts), (name, path, mounts)


def test_project_services_build_the_dockerfile() -> None:
    for name in PROJECT_SERVICES:
        build = service(name)["build"]
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        context = build.get("context", ".") if isinstance(build, dict) else build
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE, (name, build)


# -- the Dockerfile ---------------------------------------------------------------------


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "uv sync --frozen" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    assert server_argv(dockerfile_cmd())[:2] == ["uvicorn", "cli.asgi:app"]
    assert (ROOT / "uv.lock").exists()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored


# -- every named command exists in the project ----------------------------------------------


def test_registry_console_script_and_subcommands() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["registry"] == "cli.main:main"
    named = [cmd for cmd in all_project_commands() if cmd[0] == "registry"]
    assert named
    for cmd in named:
        assert cmd[1] in COMMANDS, f"`registry {cmd[1]}` is not a subcommand ({sorted(COMMANDS)})"


def test_uvicorn_entry_exists() -> None:
    """``uvicorn cli.asgi:app``: uvicorn is installed and ``cli/asgi.py`` assigns a
    top-level ``app`` (read, not imported: importing it builds the app from the env)."""
    assert importlib.util.find_spec("uvicorn") is not None
    api = server_argv(service("api")["command"], compose_file=True)
    for cmd in [*all_project_commands(), api, server_argv(dockerfile_cmd())]:
        if cmd[0] != "uvicorn":
            continue
        module, _, attribute = cmd[1].partition(":")
        path = ROOT / Path(*module.split(".")).with_suffix(".py")
        assert path.exists(), f"{cmd[1]}: {path.relative_to(ROOT)} does not exist"
        tree = ast.parse(path.read_text())
        names = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        assert attribute in names, f"{path.relative_to(ROOT)} does not assign {attribute!r} at top level"


def celery_subcommands() -> list[str]:
    found = set()
    for cmd in all_project_commands():
        if cmd[0] == "celery":
            assert cmd[1:3] == ["-A", CELERY_APP], cmd
            found.add(cmd[3])
    assert {"worker", "beat", "flower"} <= found
    return sorted(found)


@pytest.mark.parametrize("subcommand", celery_subcommands())
def test_celery_app_and_subcommand(subcommand: str) -> None:
    """``celery -A workers.celery_app:app <subcommand>`` loads the app and knows the
    subcommand (flower comes from its plugin entry point)."""
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", CELERY_APP, subcommand, "--help"],
        env=fake_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Usage:" in result.stdout


def test_the_celery_app_builds_from_the_environment() -> None:
    script = (
        "from workers.celery_app import app\nassert 'registry.audit.verify_chain' in app.tasks\nprint('OK')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=fake_env(), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


# -- forwarded headers ------------------------------------------------------------------------


def uvicorn_options(words: list[str]) -> dict[str, Any]:
    """The options uvicorn's own command line parser makes of ``uvicorn ARGS``."""
    import uvicorn

    assert words[0] == "uvicorn", words
    return dict(uvicorn.main.make_context("uvicorn", list(words[1:])).params)


def test_no_uvicorn_trusts_forwarded_headers() -> None:
    """uvicorn's defaults believe X-Forwarded-For from 127.0.0.1, which let any local client
    (and anything behind a proxy on the host) choose its address for the sign-in limits. The
    app reads the header itself, from REGISTRY_TRUSTED_PROXIES only."""
    from cli.up import UVICORN

    commands = {
        "docker-compose api": server_argv(service("api")["command"], compose_file=True),
        "Dockerfile CMD": server_argv(dockerfile_cmd()),
        "registry up": ["uvicorn", *UVICORN[2:], "--host", "127.0.0.1", "--port", "8000"],
    }
    for where, words in commands.items():
        assert uvicorn_options(words)["proxy_headers"] is False, (where, words)


def test_the_api_runs_a_worker_per_core() -> None:
    """Production serves the API with a uvicorn worker per core (``nproc``), or
    ``REGISTRY_API_WORKERS``; ``registry up`` does the same (:func:`cli.up.api_workers`)."""
    from cli.up import StartupFailed, api_workers

    for words in (server_argv(service("api")["command"], compose_file=True), server_argv(dockerfile_cmd())):
        assert uvicorn_options(words)["workers"] == 2, words
    assert "--workers " + WORKERS_PER_CORE in service("api")["command"][2].replace("$$", "$")
    assert "--workers " + WORKERS_PER_CORE in dockerfile_cmd()[2]
    assert api_workers({}) == (os.cpu_count() or 1)
    assert api_workers({"REGISTRY_API_WORKERS": "3"}) == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(StartupFailed):
            api_workers({"REGISTRY_API_WORKERS": bad})
