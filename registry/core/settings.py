"""Settings, read once from the environment.

Every process (API, worker, beat, CLI, tests) builds one :class:`Settings` with
:func:`load_settings` and passes it down; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from registry.core.errors import ConfigurationError

DEFAULT_TOKEN_TTL_SECONDS = 8 * 3600

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    home: Path
    data_key: bytes = field(repr=False)
    """AES-256-GCM key for personal data (ID numbers, phones)."""
    previous_data_keys: tuple[bytes, ...] = field(repr=False, default=())
    """Older data keys still accepted for decryption while a rotation runs."""
    index_key: bytes = field(repr=False, default=b"")
    """HMAC-SHA256 key for blind indexes."""
    token_key: bytes = field(repr=False, default=b"")
    """HMAC key that signs bearer tokens."""
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    login_max_attempts: int = 5
    """Sign-in attempts per (username, client address) in ``login_window_seconds``; then that
    pair waits for the window to end (docs/operations.md, "Sign-in limits")."""
    login_window_seconds: int = 300
    login_address_max_attempts: int = 20
    """Failed sign-ins per client address (any username) in ``login_window_seconds``."""
    login_user_free_attempts: int = 10
    """Failed sign-ins per username (from every address) in ``login_user_window_seconds`` before
    each further attempt must wait a delay that doubles from 1 s up to ``login_user_max_delay_seconds``."""
    login_user_window_seconds: int = 900
    login_user_max_delay_seconds: int = 60
    trusted_proxies: tuple[Network, ...] = ()
    """Peers whose ``X-Forwarded-For`` is believed (``REGISTRY_TRUSTED_PROXIES``); none by default."""
    verify_max_requests: int = 60
    """Public certificate checks per client address in ``verify_window_seconds``."""
    verify_window_seconds: int = 60
    worker_heartbeat_max_age_seconds: int = 30
    """``/readyz`` answers 503 when no worker heartbeat is fresher than this."""
    worker_heartbeat_interval_seconds: float = 5.0
    ready_requires_worker: bool = True
    """``/readyz`` checks the worker heartbeat (``REGISTRY_READY_REQUIRES_WORKER=0``: an API
    deployed without workers, ``registry up --no-worker``)."""
    pool_max_size: int = 10
    signed_in_recheck_seconds: float = 1.0
    """How long an API worker trusts its last check that a bearer token's user is active, or a
    dashboard session alive (``REGISTRY_SIGNED_IN_RECHECK_SECONDS``; 0: on every request). A
    deactivated user or an ended session is refused by every worker within this long, and at
    once by the worker that ended it."""
    figures_cache_seconds: float = 10.0
    """How long an API worker keeps the progress figures and the dashboard's data it computed
    for a scope (``REGISTRY_FIGURES_CACHE_SECONDS``; 0: computed on every request)."""
    timezone: str = "Asia/Shanghai"
    queue: str = "celery"
    """The Celery queue jobs are sent to and workers consume (``REGISTRY_QUEUE``): one per
    environment when several share a Redis."""
    database_owner_url: str | None = field(repr=False, default=None)
    """The owner of the database (``DATABASE_OWNER_URL``): what ``registry migrate`` connects
    as. ``database_url`` is the application's role, which owns nothing (docs/operations.md)."""
    audit_key: bytes = field(repr=False, default=b"")
    """HMAC-SHA256 key of the audit chain (``REGISTRY_AUDIT_KEY``)."""
    previous_audit_keys: tuple[bytes, ...] = field(repr=False, default=())
    """Older audit keys: rows they signed still verify (``REGISTRY_AUDIT_KEY_PREVIOUS``)."""
    audit_checkpoints: Path | None = None
    """The append-only checkpoint file of the audit chain (default
    ``REGISTRY_HOME/audit-checkpoints.log``)."""

    @property
    def migration_url(self) -> str:
        """What migrations connect as: the owner, or (one-role setups) the application."""
        return self.database_owner_url or self.database_url

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoints or self.home / "audit-checkpoints.log"


def _key(env: Mapping[str, str], name: str, required: bool = True) -> bytes:
    """A 32-byte key from ``NAME`` (base64) or from the file named by ``NAME_FILE``."""
    raw = env.get(name)
    file_name = env.get(f"{name}_FILE")
    if raw is None and file_name:
        path = Path(file_name)
        if not path.exists():
            raise ConfigurationError(f"{name}_FILE points to {path}, which does not exist")
        raw = path.read_text().strip()
    if raw is None:
        if required:
            raise ConfigurationError(f"{name} (or {name}_FILE) must be set: a base64 32-byte key")
        return b""
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ConfigurationError(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


def _networks(value: str) -> tuple[Network, ...]:
    """``REGISTRY_TRUSTED_PROXIES``: comma-separated addresses or CIDRs."""
    networks = []
    for part in value.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise ConfigurationError(
                    f"REGISTRY_TRUSTED_PROXIES: {part.strip()!r} is not an address or CIDR"
                ) from exc
    return tuple(networks)


def _previous_keys(env: Mapping[str, str], name: str) -> tuple[bytes, ...]:
    keys = []
    for part in env.get(name, "").split(","):
        if not part.strip():
            continue
        try:
            key = base64.b64decode(part.strip(), validate=True)
        except ValueError as exc:
            raise ConfigurationError(f"{name} holds a value that is not valid base64") from exc
        if len(key) != 32:
            raise ConfigurationError(f"{name} holds a key that does not decode to 32 bytes")
        keys.append(key)
    return tuple(keys)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    database_url = env.get("DATABASE_URL")
    redis_url = env.get("REDIS_URL")
    if not database_url:
        raise ConfigurationError("DATABASE_URL must be set (make up sets it for the embedded server)")
    if not redis_url:
        raise ConfigurationError("REDIS_URL must be set (make up sets it for the embedded server)")
    previous = tuple(
        base64.b64decode(part)
        for part in env.get("REGISTRY_DATA_KEY_PREVIOUS", "").split(",")
        if part.strip()
    )
    home = Path(env.get("REGISTRY_HOME", ".registry")).resolve()
    checkpoints = env.get("REGISTRY_AUDIT_CHECKPOINTS")
    return Settings(
        database_url=database_url,
        database_owner_url=env.get("DATABASE_OWNER_URL") or None,
        redis_url=redis_url,
        home=home,
        data_key=_key(env, "REGISTRY_DATA_KEY"),
        previous_data_keys=previous,
        index_key=_key(env, "REGISTRY_INDEX_KEY"),
        token_key=_key(env, "REGISTRY_TOKEN_KEY"),
        token_ttl_seconds=int(env.get("REGISTRY_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS)),
        login_max_attempts=int(env.get("REGISTRY_LOGIN_MAX_ATTEMPTS", 5)),
        login_window_seconds=int(env.get("REGISTRY_LOGIN_WINDOW_SECONDS", 300)),
        login_address_max_attempts=int(env.get("REGISTRY_LOGIN_ADDRESS_MAX_ATTEMPTS", 20)),
        login_user_free_attempts=int(env.get("REGISTRY_LOGIN_USER_FREE_ATTEMPTS", 10)),
        login_user_window_seconds=int(env.get("REGISTRY_LOGIN_USER_WINDOW_SECONDS", 900)),
        login_user_max_delay_seconds=int(env.get("REGISTRY_LOGIN_USER_MAX_DELAY_SECONDS", 60)),
        trusted_proxies=_networks(env.get("REGISTRY_TRUSTED_PROXIES", "")),
        verify_max_requests=int(env.get("REGISTRY_VERIFY_MAX_REQUESTS", 60)),
        verify_window_seconds=int(env.get("REGISTRY_VERIFY_WINDOW_SECONDS", 60)),
        worker_heartbeat_max_age_seconds=int(env.get("REGISTRY_WORKER_HEARTBEAT_MAX_AGE_SECONDS", 30)),
        worker_heartbeat_interval_seconds=float(env.get("REGISTRY_WORKER_HEARTBEAT_INTERVAL_SECONDS", 5)),
        ready_requires_worker=env.get("REGISTRY_READY_REQUIRES_WORKER", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        pool_max_size=int(env.get("REGISTRY_DB_POOL_SIZE", 10)),
        signed_in_recheck_seconds=_seconds(env, "REGISTRY_SIGNED_IN_RECHECK_SECONDS", 1.0),
        figures_cache_seconds=_seconds(env, "REGISTRY_FIGURES_CACHE_SECONDS", 10.0),
        queue=env.get("REGISTRY_QUEUE", "celery") or "celery",
        audit_key=_key(env, "REGISTRY_AUDIT_KEY"),
        previous_audit_keys=_previous_keys(env, "REGISTRY_AUDIT_KEY_PREVIOUS"),
        audit_checkpoints=Path(checkpoints).resolve() if checkpoints else None,
    )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= 300:
        raise ConfigurationError(f"{name} must be between 0 and 300 seconds, not {raw}")
    return value


def new_key() -> str:
    """A fresh random key, base64, for key files and rotation."""
    return base64.b64encode(os.urandom(32)).decode()


def redis_client_url(url: str) -> str:
    """The URL redis-py understands for ``url`` (Celery's ``redis+socket://`` becomes ``unix://``)."""
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url


def celery_broker_url(url: str) -> str:
    """The URL kombu understands for ``url`` (``unix://`` becomes ``redis+socket://``)."""
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url
