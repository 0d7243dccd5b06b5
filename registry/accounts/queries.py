"""SQL for signing in: the hot re-check of a signed-in user."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_ACTIVE_USER = (
    "SELECT u.role, u.institution_id, u.division_id, u.username, u.must_change_password,"
    " i.status AS institution_status"
    " FROM app_user u LEFT JOIN institution i ON i.id = u.institution_id"
    " WHERE u.id = $1 AND u.is_active"
)


async def active_user(conn: BaseDBAsyncClient, user_id: uuid.UUID | None) -> dict[str, Any] | None:
    """An active user's role, scope, username, whether a temporary password awaits its change,
    and institution's status (None for a user of no institution); None when there is no such
    active user. One prepared statement."""
    _, rows = await conn.execute_query(_ACTIVE_USER, [user_id])
    return dict(rows[0]) if rows else None
