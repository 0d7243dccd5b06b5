"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get

from registry.core import db


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


@get("/healthz", summary="Liveness: the process answers", tags=["health"])
async def healthz() -> Health:
    return Health(status="ok")


@get("/readyz", summary="Readiness: the database and the broker answer", tags=["health"])
async def readyz(request: Request[Any, Any, Any]) -> Annotated[Response[Health], "readiness"]:
    checks: dict[str, str] = {}
    try:
        await db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await request.app.state.redis.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response(
        Health(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503
    )
