"""Who is calling: bearer tokens and API keys, resolved to a :class:`Principal`,
plus role guards and the sign-in rate limiter."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from typing import Any

from litestar import Request
from redis.asyncio import Redis

from registry.accounts.security import read_token
from registry.accounts.signin import active_principal, principal_for_api_key
from registry.core.errors import AuthenticationFailed, RateLimited
from registry.core.principal import Principal
from registry.core.recent import Recent
from registry.core.settings import Network, Settings


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key")
    if header.lower().startswith("bearer "):
        claimed = read_token(settings.token_key, header[7:].strip())
        # The user is re-checked in the database at most REGISTRY_SIGNED_IN_RECHECK_SECONDS
        # apart on this worker (the token's signature and expiry on every request).
        signed_in: Recent[Principal] = request.app.state.signed_in
        return await signed_in.get(("user", claimed.id), lambda: active_principal(claimed))
    if api_key:
        return await principal_for_api_key(api_key.strip())
    raise AuthenticationFailed(
        "sign in first: send a bearer token or an X-API-Key header", code="authentication_required"
    )


def client_address(request: Request[Any, Any, Any], trusted_proxies: Sequence[Network]) -> str:
    """The address a request comes from, for the rate limits.

    The socket peer, unless the peer is one of ``trusted_proxies`` (``REGISTRY_TRUSTED_PROXIES``):
    then the right-most address of ``X-Forwarded-For`` that is not a trusted proxy, the one the
    outermost trusted proxy saw. Whatever a client writes to the left of it is ignored. With no
    trusted proxies (the default) the header is never read.
    """
    peer = request.client.host if request.client else ""
    if not peer or not _is_trusted(peer, trusted_proxies):
        return peer or "unknown"
    hops = [
        hop.strip()
        for value in request.headers.getall("x-forwarded-for", [])
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


def _is_trusted(address: str, trusted_proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies)


# Reserve one sign-in attempt, atomically, BEFORE the password is checked.
# KEYS: pair (username, address), address, username failures, username's next allowed time (ms)
# ARGV: pair max, address max, window ms, username free attempts, username window ms, max delay ms
# Answers {0, 0} (go ahead) or {which limit, milliseconds to wait}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function wait_of(key)
  local ttl = redis.call('PTTL', key)
  if ttl < 1 then return 1000 end
  return ttl
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return {1, wait_of(KEYS[1])} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return {2, wait_of(KEYS[2])} end
local next_at = tonumber(redis.call('GET', KEYS[4]) or '0')
if next_at > now then return {3, next_at - now} end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
local failures = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local beyond = failures - tonumber(ARGV[4])
if beyond > 0 then
  local delay = math.min(1000 * 2 ^ math.min(beyond - 1, 30), tonumber(ARGV[6]))
  redis.call('SET', KEYS[4], now + delay, 'PX', math.floor(delay))
end
return {0, 0}
"""

# A success: the pair and the username start afresh, and the address gets its attempt back.
_REFUND = """
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""


class LoginLimiter:
    """Sign-in attempts limited in Redis, counted atomically before the password is checked.

    * per (username, address): ``login_max_attempts`` in ``login_window_seconds``, then that pair
      waits for the window to end;
    * per address: ``login_address_max_attempts`` in the same window, whatever the username;
    * per username, from every address: after ``login_user_free_attempts`` failures in
      ``login_user_window_seconds`` each further attempt must wait a delay that doubles from 1 s
      up to ``login_user_max_delay_seconds``: an attacker elsewhere slows the account down but
      never locks the real user out for longer than the delay.

    Every attempt is reserved before the password check (a Lua script, so 30 parallel requests
    cannot all pass a check made before any of them failed); a success gives it back.
    """

    def __init__(self, redis: Redis, settings: Settings):
        self.redis = redis
        self.settings = settings
        self._reserve = redis.register_script(_RESERVE)
        self._refund = redis.register_script(_REFUND)

    @staticmethod
    def _keys(username: str, client: str) -> list[str]:
        user = username.lower()
        return [
            f"limit:login:pair:{user}:{client}",
            f"limit:login:addr:{client}",
            f"limit:login:user:{user}",
            f"limit:login:user-next:{user}",
        ]

    async def reserve(self, username: str, client: str) -> None:
        """Take one attempt for ``username`` from ``client``, or RateLimited."""
        s = self.settings
        which, wait_ms = await self._reserve(
            keys=self._keys(username, client),
            args=[
                s.login_max_attempts,
                s.login_address_max_attempts,
                s.login_window_seconds * 1000,
                s.login_user_free_attempts,
                s.login_user_window_seconds * 1000,
                s.login_user_max_delay_seconds * 1000,
            ],
        )
        if int(which) != 0:
            wait = max(math.ceil(int(wait_ms) / 1000), 1)
            raise RateLimited(f"too many sign-in attempts; try again in {wait} seconds", retry_after=wait)

    async def succeeded(self, username: str, client: str) -> None:
        await self._refund(keys=self._keys(username, client), args=[])


# A fixed window per key: the count after this request, and the milliseconds left.
_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


class WindowLimiter:
    """At most ``max_requests`` per key in a fixed window of ``window_seconds`` (Redis)."""

    def __init__(self, redis: Redis, name: str, max_requests: int, window_seconds: int):
        self.name = name
        self.max_requests = max_requests
        self.window_ms = window_seconds * 1000
        self._script = redis.register_script(_WINDOW)

    async def hit(self, key: str) -> int | None:
        """Count one request; None when it is allowed, else the seconds to wait."""
        count, ttl = await self._script(keys=[f"limit:{self.name}:{key}"], args=[self.window_ms])
        if int(count) <= self.max_requests:
            return None
        return max(math.ceil(int(ttl) / 1000), 1)
