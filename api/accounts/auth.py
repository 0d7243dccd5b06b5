"""Sign-in: a username and password for a bearer token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, post

from api.security import LoginLimiter, client_address
from registry.accounts.security import issue_token
from registry.accounts.signin import authenticate
from registry.core.settings import Settings


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: dt.datetime
    expires_in: int
    role: str


@post("/auth/token", summary="Sign in", tags=["auth"], status_code=200)
async def token(request: Request[Any, Any, Any], data: TokenRequest) -> TokenResponse:
    settings: Settings = request.app.state.settings
    limiter: LoginLimiter = request.app.state.login_limiter
    client = client_address(request, settings.trusted_proxies)
    # The attempt is counted before the password is checked (see LoginLimiter).
    await limiter.reserve(data.username, client)
    principal = await authenticate(data.username, data.password)
    await limiter.succeeded(data.username, client)
    issued = issue_token(settings.token_key, principal, settings.token_ttl_seconds)
    return TokenResponse(
        access_token=issued.token,
        token_type="bearer",
        expires_at=issued.expires_at,
        expires_in=settings.token_ttl_seconds,
        role=principal.role.value,
    )
