"""Stored responses for ``Idempotency-Key`` (the HTTP layer decides when to use them)."""

from __future__ import annotations

import json
from typing import Any

from tortoise.transactions import in_transaction

from registry.models.idempotency import IdempotencyKey


async def find(principal: str, key: str) -> IdempotencyKey | None:
    return await IdempotencyKey.get_or_none(principal=principal, key=key)


async def save(principal: str, key: str, request_hash: str, status_code: int, response: Any) -> None:
    """Keep the response; a concurrent first writer of the same key wins."""
    async with in_transaction() as conn:
        await conn.execute_query(
            "INSERT INTO idempotency_key (principal, key, request_hash, status_code, response, created_at) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, now()) ON CONFLICT (principal, key) DO NOTHING",
            [principal, key, request_hash, status_code, json.dumps(response, ensure_ascii=False)],
        )
