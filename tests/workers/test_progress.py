"""The nightly rollup's task and its place on beat (no worker needed)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from celery.schedules import crontab

from registry.core.settings import Settings
from workers.celery_app import create_celery
from workers.tasks import TASK_MODULES
from workers.tasks.progress import ROLLUP

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_beat_runs_the_rollup_nightly_at_0200_shanghai(settings: Settings) -> None:
    app = create_celery(settings)
    assert "workers.tasks.progress" in TASK_MODULES
    assert ROLLUP == "registry.progress.rollup" and ROLLUP in app.tasks
    entry = app.conf.beat_schedule[ROLLUP]
    assert entry["task"] == ROLLUP
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.hour == {2} and schedule.minute == {0}
    schedule.app = app
    last_run = dt.datetime(2025, 12, 31, 2, 0, 5, tzinfo=SHANGHAI)
    start, delta, _now = schedule.remaining_delta(last_run)
    next_run = (start + delta).astimezone(SHANGHAI).replace(microsecond=0)
    assert next_run == dt.datetime(2026, 1, 1, 2, 0, tzinfo=SHANGHAI)
    assert (start + delta).astimezone(dt.UTC).hour == 18
