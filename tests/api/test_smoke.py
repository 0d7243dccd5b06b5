from __future__ import annotations

import httpx


async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/api/v1/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/institutions" in schema.json()["paths"]
