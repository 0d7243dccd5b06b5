"""Liveness and readiness.

``/healthz`` is liveness only: the process answers. ``/readyz`` is readiness: the database
answers ``SELECT 1``, Redis answers PING, and (unless ``REGISTRY_READY_REQUIRES_WORKER=0``) at
least one worker of this queue wrote a heartbeat (:mod:`registry.core.heartbeat`) within
``REGISTRY_WORKER_HEARTBEAT_MAX_AGE_SECONDS``. Each check is bounded by
:data:`CHECK_TIMEOUT_SECONDS` and they run side by side, so ``/readyz`` answers within about
that long whatever hangs; a failing check answers 503 and names itself in ``checks``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from redis.asyncio import Redis

from registry.core import db, heartbeat
from registry.core.settings import Settings

CHECK_TIMEOUT_SECONDS = 2.0


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


@get("/healthz", summary="Liveness: the process answers", tags=["health"])
async def healthz() -> Health:
    return Health(status="ok")


async def _check(check: Callable[[], Awaitable[str]]) -> str:
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"unavailable: no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
    except Exception as exc:  # any failure means not ready
        return f"unavailable: {type(exc).__name__}"


@get(
    "/readyz",
    summary="Readiness: the database and the broker answer, a worker's heartbeat is fresh",
    tags=["health"],
    responses={503: ResponseSpec(Health, description="Not ready: `checks` names what failed")},
)
async def readyz(request: Request[Any, Any, Any]) -> Annotated[Response[Health], "readiness"]:
    settings: Settings = request.app.state.settings
    redis: Redis = request.app.state.redis

    async def database() -> str:
        await db.ping()
        return "ok"

    async def broker() -> str:
        await redis.ping()
        return "ok"

    async def worker() -> str:
        max_age = settings.worker_heartbeat_max_age_seconds
        fresh = await redis.eval(heartbeat.FRESH, 1, heartbeat.workers_key(settings.queue), max_age)
        if fresh:
            return "ok"
        return f"missing: no worker heartbeat on queue {settings.queue!r} in the last {max_age} s"

    names = ["database", "broker"] + (["worker"] if settings.ready_requires_worker else [])
    checks = [database, broker, worker][: len(names)]
    results = await asyncio.gather(*(_check(check) for check in checks))
    answers = dict(zip(names, results, strict=True))
    ok = all(v == "ok" for v in answers.values())
    return Response(
        Health(status="ok" if ok else "unavailable", checks=answers), status_code=200 if ok else 503
    )
