"""Signing in: a username and password, a token's user re-checked, an API key.

Every way in refuses a user or key whose institution or assessment body is not active
(suspended, blacklisted) with ``institution_suspended``
(:func:`registry.accounts.rules.institution_refusal`): the password sign-in of
``POST /api/v1/auth/token`` and of the dashboard's form (both :func:`authenticate`), a
token or dashboard session issued before (:func:`active_principal`, re-checked as a
deactivated user is) and an API key (:func:`principal_for_api_key`)."""

from __future__ import annotations

import datetime as dt

from tortoise import connections
from tortoise.transactions import in_transaction

from registry.accounts.queries import active_user
from registry.accounts.rules import institution_refusal
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
from registry.enums import Role
from registry.models.auth import ApiKey, User
from registry.models.institution import Institution


async def authenticate(username: str, password: str) -> Principal:
    """The principal for a username and password, or AuthenticationFailed (same answer for
    an unknown user and a wrong password). A user of an institution that is not active is
    refused (``institution_suspended``) only once the password is right: the refusal tells
    nothing to someone who does not know it."""
    user = await User.get_or_none(username=username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationFailed("wrong username or password", code="bad_credentials")
    institution_id = user.institution_id  # type: ignore[attr-defined]
    if institution_id is not None:
        status = await Institution.filter(id=institution_id).values_list("status", flat=True)
        if (refusal := institution_refusal(str(status[0]) if status else None)) is not None:
            raise refusal
    updates = ["last_login_at"]
    user.last_login_at = dt.datetime.now(dt.UTC)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        updates.append("password_hash")
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=updates)
    return principal_of(user)


async def active_principal(token_principal: Principal) -> Principal:
    """The principal of :func:`signed_in_user`, for a bearer token."""
    principal, _ = await signed_in_user(token_principal)
    return principal


async def signed_in_user(token_principal: Principal) -> tuple[Principal, bool]:
    """Re-check a token's (or a dashboard session's) user: a deactivated user's tokens stop
    working, so do those of a user whose institution was suspended or blacklisted since
    (``institution_suspended``), and the role and scope are the database's, not the token's.
    The API calls it at most ``REGISTRY_SIGNED_IN_RECHECK_SECONDS`` apart per worker and user
    (``api.security``). One prepared statement (no ORM query building, no model). With it:
    whether the user still has to change a temporary password (the browser session's gate,
    :mod:`api.web.password_gate`)."""
    row = await active_user(connections.get("default"), token_principal.id)
    if row is None:
        raise AuthenticationFailed("the account is not active", code="account_inactive")
    if (refusal := institution_refusal(row["institution_status"])) is not None:
        raise refusal
    principal = Principal(
        kind="user",
        id=token_principal.id,
        role=Role(row["role"]),
        institution_id=row["institution_id"],
        division_code=row["division_id"],
        name=row["username"],
    )
    return principal, bool(row["must_change_password"])


async def principal_for_api_key(secret: str) -> Principal:
    prefix = parse_api_key(secret)
    key = await ApiKey.get_or_none(prefix=prefix).select_related("institution")
    if key is None or key.revoked_at is not None or not digests_match(key.key_hash, api_key_digest(secret)):
        raise AuthenticationFailed("the API key is not valid", code="api_key_invalid")
    if (refusal := institution_refusal(key.institution.status.value)) is not None:
        raise refusal
    return Principal(
        kind="apikey",
        id=key.id,
        role=Role(key.role),
        institution_id=key.institution_id,  # type: ignore[attr-defined]
        name=key.name,
    )
