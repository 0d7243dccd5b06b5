"""The progress figures and the dashboard's data, kept per scope for a few seconds.

They are read from the nightly rollup's snapshots (which change once a night, or when an
operator runs ``registry rollup``) and from the claims waiting for audit; computing them
takes several queries and, for the risk ranking, an aggregate over the claim lines. Each API
worker keeps what it computed for a caller's scope (role, division, institution) and the
request's parameters for ``REGISTRY_FIGURES_CACHE_SECONDS`` (default 10 s), so the figures a
reader sees may be that old; 50 readers at once cause one computation
(:class:`registry.core.recent.Recent`). What is refused (404, 422) is never kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from litestar import Request

from registry.core.principal import Principal
from registry.core.recent import Recent

T = TypeVar("T")


async def kept(
    request: Request[Any, Any, Any],
    principal: Principal,
    what: tuple[Hashable, ...],
    compute: Callable[[], Awaitable[T]],
) -> T:
    """``compute()``'s answer for ``what`` in the principal's scope, kept for a few seconds."""
    figures: Recent[Any] = request.app.state.figures
    key = (what, principal.role, principal.division_code, principal.institution_id)
    value: T = await figures.get(key, compute)
    return value
