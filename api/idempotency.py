"""``Idempotency-Key`` on create endpoints (DESIGN.md section 8).

The same key and body gets the stored response (``Idempotent-Replay: true``), the same key
with another body a 409 ``idempotency_key_reused``; a request whose twin (same key) is still
running waits for it, then replays its response, or, after a few seconds, gets a 409
``request_in_progress`` with ``Retry-After``. The use case and its stored response commit in
one transaction: :func:`registry.core.idempotency.once` holds the rules (what is stored,
for how long). Keys are per caller, 1-200 characters, kept 24 hours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from registry.core import idempotency as store
from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal

MAX_KEY_LENGTH = 200


async def idempotent(
    request: Request[Any, Any, Any],
    principal: Principal,
    create: Callable[[], Awaitable[tuple[int, Any]]],
    redact: Callable[[Any], Any] | None = None,
) -> Response[Any]:
    """Run ``create`` once per key. ``redact`` removes what must not be kept at rest (a
    secret shown once) from the stored copy; a replay then answers without it."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body = await create()
        return Response(content=body, status_code=status)
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed(
            "the Idempotency-Key header is not valid",
            errors=[FieldError("Idempotency-Key", "invalid_length", f"1-{MAX_KEY_LENGTH} characters")],
        )
    raw = await request.body()
    request_hash = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + raw
    ).hexdigest()

    async def run() -> tuple[int, Any]:
        status, body = await create()
        return status, msgspec.to_builtins(body)

    outcome = await store.once(principal, key, request_hash, run, stored_copy=redact)
    headers = {"Idempotent-Replay": "true"} if outcome.replayed else None
    return Response(content=outcome.response, status_code=outcome.status_code, headers=headers)
