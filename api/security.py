"""Who is calling: bearer tokens and API keys, resolved to a :class:`Principal`,
plus role guards and the sign-in rate limiter."""

from __future__ import annotations

from typing import Any

from litestar import Request
from redis.asyncio import Redis

from registry.accounts.security import read_token
from registry.accounts.signin import active_principal, principal_for_api_key
from registry.core.errors import AuthenticationFailed, RateLimited
from registry.core.principal import Principal
from registry.core.settings import Settings


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key")
    if header.lower().startswith("bearer "):
        return await active_principal(read_token(settings.token_key, header[7:].strip()))
    if api_key:
        return await principal_for_api_key(api_key.strip())
    raise AuthenticationFailed(
        "sign in first: send a bearer token or an X-API-Key header", code="authentication_required"
    )


class LoginLimiter:
    """Failed sign-ins counted per username and per client address in Redis, over a window."""

    def __init__(self, redis: Redis, max_attempts: int, window_seconds: int):
        self.redis = redis
        self.max_attempts = max_attempts
        self.window = window_seconds

    def _keys(self, username: str, client: str) -> list[str]:
        return [f"login-fail:user:{username.lower()}", f"login-fail:addr:{client}"]

    async def check(self, username: str, client: str) -> None:
        counts = await self.redis.mget(self._keys(username, client))
        user_count = int(counts[0] or 0)
        addr_count = int(counts[1] or 0)
        if user_count >= self.max_attempts or addr_count >= self.max_attempts * 4:
            ttl = max(await self.redis.ttl(self._keys(username, client)[0]), 1)
            raise RateLimited(f"too many failed sign-ins; try again in {ttl} seconds", retry_after=ttl)

    async def failed(self, username: str, client: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, client):
                # SET NX EX starts the window on the first failure (Redis 6 has no EXPIRE NX).
                pipe.set(key, 0, ex=self.window, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(f"login-fail:user:{username.lower()}")
