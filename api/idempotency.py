"""``Idempotency-Key`` on create endpoints: the same key and body gets the stored response,
the same key with another body a 409."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from registry.core import idempotency as store
from registry.core.errors import Conflict, FieldError, ValidationFailed
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
    stored = await store.find(principal.actor, key)
    if stored is not None:
        if stored.request_hash != request_hash:
            raise Conflict(
                "this Idempotency-Key was used with another request",
                code="idempotency_key_reused",
                errors=[FieldError("Idempotency-Key", "reused", "send a new key for a new request")],
            )
        return Response(
            content=stored.response, status_code=stored.status_code, headers={"Idempotent-Replay": "true"}
        )
    status, body = await create()
    content = msgspec.to_builtins(body)
    await store.save(principal.actor, key, request_hash, status, redact(content) if redact else content)
    return Response(content=content, status_code=status)
