"""Passwords (argon2), bearer tokens (HS256, with expiry) and API-key secrets."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from registry.core.errors import AuthenticationFailed
from registry.core.principal import Principal
from registry.enums import Role

_hasher = PasswordHasher()
# A real hash of a random password, verified when the username is unknown so that
# a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "luoyang-registry"
API_KEY_PREFIX = "lyr"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


TEMPORARY_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Letters and digits a person reads off a screen without confusing them (no 0/O, 1/l/I)."""


def temporary_password(length: int = 14) -> str:
    """A random password an administrator hands over once; its user must change it."""
    return "".join(secrets.choice(TEMPORARY_PASSWORD_ALPHABET) for _ in range(length))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime


def issue_token(
    key: bytes, principal: Principal, ttl_seconds: int, now: dt.datetime | None = None
) -> IssuedToken:
    now = now or dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=ttl_seconds)
    claims = {
        "iss": TOKEN_ISSUER,
        "sub": str(principal.id),
        "role": principal.role.value,
        "inst": str(principal.institution_id) if principal.institution_id else None,
        "div": principal.division_code,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return IssuedToken(jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM), expires)


TOKEN_CACHE_SIZE = 4096
"""Verified tokens remembered per process (:func:`_verified`); only tokens whose signature
verified are kept, so a flood of forged ones cannot fill it."""


def read_token(key: bytes, token: str) -> Principal:
    """The principal a token names; raises AuthenticationFailed for a forged or expired one.

    The signature check and the decoding of a token already seen are remembered
    (:func:`_verified`, keyed by the key and the whole token, so a changed byte is a miss);
    the expiry is checked on every call, against the clock, as PyJWT checks it."""
    principal, expires = _verified(key, token)
    if expires <= time.time():
        raise AuthenticationFailed("the token has expired; sign in again", code="token_expired")
    return principal


@functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _verified(key: bytes, token: str) -> tuple[Principal, int]:
    """The principal and expiry (epoch seconds) of a token whose signature verifies; raises
    (and so is not remembered) otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[TOKEN_ALGORITHM], issuer=TOKEN_ISSUER, options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationFailed("the token has expired; sign in again", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed("the token is not valid", code="token_invalid") from exc
    try:
        principal = Principal(
            kind="user",
            id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            institution_id=uuid.UUID(claims["inst"]) if claims.get("inst") else None,
            division_code=claims.get("div"),
        )
        return principal, int(claims["exp"])
    except (KeyError, ValueError, TypeError) as exc:
        raise AuthenticationFailed("the token is not valid", code="token_invalid") from exc


@dataclass(frozen=True)
class ApiKeySecret:
    prefix: str
    secret: str
    """The whole key as the client sends it; shown once."""
    digest: str


def new_api_key() -> ApiKeySecret:
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return ApiKeySecret(prefix=prefix, secret=secret, digest=api_key_digest(secret))


def api_key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(secret: str) -> str:
    """The lookup prefix of a presented key; raises AuthenticationFailed if malformed."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 12:
        raise AuthenticationFailed("the API key is not valid", code="api_key_invalid")
    return parts[1]


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
