"""``/readyz`` tells whether a worker is alive: its heartbeat in Redis, read with one bounded
Redis call. (A real worker stopped with SIGSTOP: tests/cli/test_up_supervisor.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

from registry.core.settings import Settings
from tests.api.support import addressed
from workers.heartbeat import Heartbeat


async def test_readyz_names_the_missing_worker_heartbeat_and_healthz_stays_live(
    settings: Settings, database: None
) -> None:
    from api.app import create_app

    own = dataclasses.replace(
        settings, queue=f"test-{uuid.uuid4().hex[:8]}", worker_heartbeat_max_age_seconds=2
    )
    app = create_app(own, manage_db=False)
    try:
        async with addressed(app, "127.0.0.1") as client:
            missing = await client.get("/readyz")
            assert missing.status_code == 503, missing.text
            checks = missing.json()["checks"]
            assert checks["database"] == checks["broker"] == "ok"
            assert (
                checks["worker"].startswith("missing: no worker heartbeat") and own.queue in checks["worker"]
            )
            assert (await client.get("/healthz")).status_code == 200

            beat = Heartbeat(own, "test-worker@host")
            beat.beat()
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}

            deadline = time.monotonic() + 10
            while (stale := await client.get("/readyz")).status_code == 200:
                assert time.monotonic() < deadline, "a heartbeat older than the max age still counts"
                await _pause()
            assert stale.status_code == 503 and stale.json()["checks"]["worker"].startswith("missing")
            beat.stop()  # never started: just removes the keys
    finally:
        await app.state.redis.aclose()


async def test_readyz_without_workers_when_told(settings: Settings, database: None) -> None:
    from api.app import create_app

    own = dataclasses.replace(settings, queue=f"test-{uuid.uuid4().hex[:8]}", ready_requires_worker=False)
    app = create_app(own, manage_db=False)
    try:
        async with addressed(app, "127.0.0.1") as client:
            ready = await client.get("/api/v1/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    finally:
        await app.state.redis.aclose()


async def _pause() -> None:
    await asyncio.sleep(0.2)
