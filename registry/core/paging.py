"""Bounded pages: every list in the registry is a :class:`Page`, from an ORM query
(:func:`page_of`) or from SQL (:func:`page_of_sql`), always bounded by :func:`check_bounds`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from registry.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
U = TypeVar("U")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page(
            items=[convert(item) for item in self.items],
            total=self.total,
            limit=self.limit,
            offset=self.offset,
        )


def check_bounds(limit: int, offset: int) -> None:
    errors = []
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("limit", "out_of_range", f"limit must be between 1 and {MAX_LIMIT}"))
    if offset < 0:
        errors.append(FieldError("offset", "out_of_range", "offset must be 0 or more"))
    if errors:
        raise ValidationFailed("the page is out of bounds", errors=errors)


async def page_of(
    query: QuerySet[Any], limit: int, offset: int, *, annotate: Mapping[str, Any] | None = None
) -> Page[Any]:
    """A page of ``query`` and its total; ``annotate``: extra columns of the page's rows only
    (not of the count)."""
    check_bounds(limit, offset)
    total = await query.count()
    page = query.offset(offset).limit(limit)
    items = await (page.annotate(**annotate) if annotate else page)
    return Page(items=list(items), total=total, limit=limit, offset=offset)


async def page_of_sql(
    sql: str,
    count_sql: str,
    params: Sequence[Any],
    limit: int,
    offset: int,
    conn: BaseDBAsyncClient | None = None,
) -> Page[dict[str, Any]]:
    """A page of rows of ``sql``, which selects ``count(*) OVER () AS total`` beside its
    columns and has no LIMIT/OFFSET of its own; ``count_sql`` (``SELECT count(*) AS total
    ...``) runs only for a page past the end, where no row carries the total."""
    check_bounds(limit, offset)
    conn = conn or connections.get("default")
    n = len(params)
    rows = await conn.execute_query_dict(f"{sql} LIMIT ${n + 1} OFFSET ${n + 2}", [*params, limit, offset])
    if rows:
        total = int(rows[0]["total"])
    elif offset == 0:
        total = 0
    else:
        counted = await conn.execute_query_dict(count_sql, list(params))
        total = int(counted[0]["total"])
    return Page(items=list(rows), total=total, limit=limit, offset=offset)
