from __future__ import annotations

import httpx

from registry.core.settings import Settings
from workers.heartbeat import Heartbeat


async def test_health_and_docs(client: httpx.AsyncClient, settings: Settings) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    beat = Heartbeat(settings, "smoke-test@host")  # no worker runs in the API tests
    beat.beat()
    try:
        ready = await client.get("/api/v1/readyz")
    finally:
        beat.stop()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/institutions" in schema.json()["paths"]
