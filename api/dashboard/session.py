"""Browser sessions for the dashboard: a session cookie (HttpOnly, SameSite=Strict) and CSRF
tokens on every form.

The cookie holds a random session id; Redis holds the session under the id's SHA-256 (so a
Redis dump does not hold usable cookies) with its principal and its CSRF token, for
:data:`SESSION_SECONDS`. Signing out deletes it: the session ends on the server, whatever
the browser keeps. The session and its user's being active
(:func:`registry.accounts.signin.active_principal`) are re-checked as bearer tokens are: at
most ``REGISTRY_SIGNED_IN_RECHECK_SECONDS`` apart on each worker (``app.state.signed_in``),
at once on the worker that signs the session out.

CSRF: the sign-in form, before there is a session, carries a token the server issued (kept in
Redis for an hour, taken once) and the same value in a cookie of its own (HttpOnly,
SameSite=Strict): a pair the server never issued, or one used already, is refused. Every form
after sign-in carries the session's token. Tokens are compared in constant time; a form from
another origin is refused before its token is looked at (:func:`api.web.security.foreign_origin`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from redis.asyncio import Redis

from registry.accounts.signin import signed_in_user
from registry.core.errors import AuthenticationFailed
from registry.core.principal import Principal
from registry.core.recent import Recent
from registry.enums import Role

SESSION_COOKIE = "registry_session"
CSRF_COOKIE = "registry_signin_csrf"
SESSION_SECONDS = 8 * 3600
"""A working day; signing in again after it."""
_PREFIX = "dashboard-session:"
_FORM_PREFIX = "sign-in-form:"
FORM_SECONDS = 3600
"""How long a sign-in form's token stays good."""


def _key(session_id: str) -> str:
    return _PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


@dataclass(frozen=True)
class Session:
    session_id: str
    principal: Principal
    csrf: str
    must_change_password: bool = False
    """The user signed in with a temporary password an administrator set: it changes it first."""


def cookie(request: Request[Any, Any, Any], name: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def expired(request: Request[Any, Any, Any], name: str) -> Cookie:
    return cookie(request, name, "", 0)


async def issue_form_token(redis: Redis) -> str:
    """A sign-in form's token, kept by the server until used or an hour has passed."""
    token = secrets.token_urlsafe(32)
    await redis.set(_FORM_PREFIX + hashlib.sha256(token.encode()).hexdigest(), "1", ex=FORM_SECONDS)
    return token


async def take_form_token(redis: Redis, token: str) -> bool:
    """Whether ``token`` is one the server issued and not used yet (using it up)."""
    if not token:
        return False
    taken = await redis.getdel(_FORM_PREFIX + hashlib.sha256(token.encode()).hexdigest())
    return taken is not None


async def start(redis: Redis, principal: Principal) -> Session:
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    data = {
        "user_id": str(principal.id),
        "role": principal.role.value,
        "institution_id": str(principal.institution_id) if principal.institution_id else None,
        "division_code": principal.division_code,
        "csrf": csrf,
    }
    await redis.set(_key(session_id), json.dumps(data), ex=SESSION_SECONDS)
    return Session(session_id, principal, csrf)


async def current(request: Request[Any, Any, Any]) -> Session | None:
    """The request's session, or None (no cookie, ended, expired, or the user was disabled)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    signed_in: Recent[Session | None] = request.app.state.signed_in
    return await signed_in.get(("session", _key(session_id)), lambda: _look_up(request, session_id))


async def _look_up(request: Request[Any, Any, Any], session_id: str) -> Session | None:
    redis: Redis = request.app.state.redis
    raw = await redis.get(_key(session_id))
    if raw is None:
        return None
    data = json.loads(raw)
    principal = Principal(
        kind="user",
        id=uuid.UUID(data["user_id"]),
        role=Role(data["role"]),
        institution_id=uuid.UUID(data["institution_id"]) if data.get("institution_id") else None,
        division_code=data.get("division_code"),
    )
    try:
        principal, must_change_password = await signed_in_user(principal)
    except AuthenticationFailed:
        await redis.delete(_key(session_id))
        return None
    return Session(session_id, principal, data["csrf"], must_change_password)


def recheck(request: Request[Any, Any, Any], session_id: str) -> None:
    """This worker looks the session up again at its next request (after its user changed
    its password: the gate opens at once)."""
    request.app.state.signed_in.forget(("session", _key(session_id)))


async def end(request: Request[Any, Any, Any], session_id: str) -> None:
    """Sign out: the session is deleted in Redis and forgotten by this worker at once."""
    await request.app.state.redis.delete(_key(session_id))
    request.app.state.signed_in.forget(("session", _key(session_id)))
