"""The app's configuration and beat schedule (no worker needed)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

from celery.schedules import crontab

from registry.core.settings import Settings
from workers.celery_app import VISIBILITY_TIMEOUT_SECONDS, create_celery
from workers.tasks.audit import VERIFY_CHAIN

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_configuration(settings: Settings) -> None:
    app = create_celery(settings)
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.timezone == "Asia/Shanghai"
    assert conf.enable_utc is True
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert visibility == VISIBILITY_TIMEOUT_SECONDS
    assert visibility > conf.task_time_limit
    assert VERIFY_CHAIN in app.tasks
    for name in app.tasks:
        if not name.startswith("celery."):
            assert name.startswith("registry."), name


def test_beat_checkpoints_the_audit_chain_every_ten_minutes(settings: Settings) -> None:
    app = create_celery(settings)
    entry = app.conf.beat_schedule["registry.audit.checkpoint"]
    assert entry["task"] == "registry.audit.checkpoint"
    assert entry["schedule"] == 600
    assert "registry.audit.checkpoint" in app.tasks


def test_beat_runs_verify_chain_nightly_at_0230_shanghai(settings: Settings) -> None:
    app = create_celery(settings)
    entry = app.conf.beat_schedule["registry.audit.verify_chain"]
    assert entry["task"] == VERIFY_CHAIN
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.hour == {2}
    assert schedule.minute == {30}
    assert schedule.day_of_week == set(range(7))
    schedule.app = app  # what beat does with each entry
    # Just after 02:30 Shanghai the next run is a day later, at 02:30 Shanghai (18:30 UTC).
    last_run = dt.datetime(2025, 3, 10, 2, 30, 5, tzinfo=SHANGHAI)
    start, delta, _now = schedule.remaining_delta(last_run)
    next_run = start + delta
    expected = dt.datetime(2025, 3, 11, 2, 30, tzinfo=SHANGHAI)
    assert next_run.astimezone(SHANGHAI).replace(microsecond=0) == expected
    assert next_run.astimezone(dt.UTC).hour == 18


def test_importing_the_app_module_reads_no_environment() -> None:
    """``workers.celery_app`` imports without DATABASE_URL etc.; ``app`` is built on first
    access, from the environment (what ``celery -A workers.celery_app:app`` does)."""
    script = textwrap.dedent(
        """
        import workers.celery_app as m
        try:
            m.app
        except Exception as exc:
            print("LAZY", type(exc).__name__)
        """
    )
    own = ("DATABASE_URL", "REDIS_URL", "REGISTRY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "LAZY ConfigurationError" in result.stdout


def test_app_from_environment(test_env: dict[str, str]) -> None:
    script = textwrap.dedent(
        """
        from workers.celery_app import app
        assert app.conf.broker_url.startswith(("redis://", "redis+socket://")), app.conf.broker_url
        assert "registry.audit.verify_chain" in app.tasks
        print("OK")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **test_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_beat_runs_the_outbox_relay_every_few_seconds(settings: Settings) -> None:
    from workers.celery_app import RELAY_EVERY_SECONDS
    from workers.tasks.outbox import RELAY
    from workers.tasks.training import START_DUE, START_DUE_RUN

    app = create_celery(settings)
    entry = app.conf.beat_schedule["registry.core.outbox.relay"]
    assert entry["task"] == RELAY and entry["schedule"] == RELAY_EVERY_SECONDS <= 10
    assert entry["options"]["expires"] <= RELAY_EVERY_SECONDS
    assert app.conf.beat_schedule["registry.cohorts.start_due"]["task"] == START_DUE
    for name in (RELAY, START_DUE, START_DUE_RUN):
        assert name in app.tasks
    assert app.conf.task_default_queue == settings.queue


def test_beat_purges_expired_idempotency_keys_every_hour(settings: Settings) -> None:
    from workers.celery_app import IDEMPOTENCY_PURGE_EVERY_SECONDS
    from workers.tasks.idempotency import PURGE

    app = create_celery(settings)
    entry = app.conf.beat_schedule[PURGE]
    assert entry["task"] == PURGE and entry["schedule"] == IDEMPOTENCY_PURGE_EVERY_SECONDS == 3600
    assert PURGE in app.tasks
