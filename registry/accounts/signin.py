"""Signing in: a username and password, a token's user re-checked, an API key."""

from __future__ import annotations

import datetime as dt

from tortoise import connections
from tortoise.transactions import in_transaction

from registry.accounts.security import (
    api_key_digest,
    digests_match,
    hash_password,
    needs_rehash,
    parse_api_key,
    verify_password,
)
from registry.accounts.users import principal_of
from registry.core.errors import AuthenticationFailed
from registry.core.principal import Principal
from registry.enums import InstitutionStatus, Role
from registry.models.auth import ApiKey, User


async def authenticate(username: str, password: str) -> Principal:
    """The principal for a username and password, or AuthenticationFailed (same answer for
    an unknown user and a wrong password)."""
    user = await User.get_or_none(username=username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationFailed("wrong username or password", code="bad_credentials")
    updates = ["last_login_at"]
    user.last_login_at = dt.datetime.now(dt.UTC)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        updates.append("password_hash")
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=updates)
    return principal_of(user)


_ACTIVE_USER = "SELECT role, institution_id, division_id, username FROM app_user WHERE id = $1 AND is_active"


async def active_principal(token_principal: Principal) -> Principal:
    """Re-check a token's user: a deactivated user's tokens stop working, and the role and
    scope are the database's, not the token's. The API calls it at most
    ``REGISTRY_SIGNED_IN_RECHECK_SECONDS`` apart per worker and user (``api.security``). One
    prepared statement (no ORM query building, no model)."""
    _, rows = await connections.get("default").execute_query(_ACTIVE_USER, [token_principal.id])
    if not rows:
        raise AuthenticationFailed("the account is not active", code="account_inactive")
    row = rows[0]
    return Principal(
        kind="user",
        id=token_principal.id,
        role=Role(row["role"]),
        institution_id=row["institution_id"],
        division_code=row["division_id"],
        name=row["username"],
    )


async def principal_for_api_key(secret: str) -> Principal:
    prefix = parse_api_key(secret)
    key = await ApiKey.get_or_none(prefix=prefix).select_related("institution")
    if key is None or key.revoked_at is not None or not digests_match(key.key_hash, api_key_digest(secret)):
        raise AuthenticationFailed("the API key is not valid", code="api_key_invalid")
    if key.institution.status is not InstitutionStatus.ACTIVE:
        raise AuthenticationFailed("the institution is not active", code="institution_inactive")
    return Principal(
        kind="apikey",
        id=key.id,
        role=Role(key.role),
        institution_id=key.institution_id,  # type: ignore[attr-defined]
        name=key.name,
    )
