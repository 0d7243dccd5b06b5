"""Bounded pages of a query: every list in the registry goes through :func:`page_of`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

from registry.core.errors import FieldError, ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def check_bounds(limit: int, offset: int) -> None:
    errors = []
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(FieldError("limit", "out_of_range", f"limit must be between 1 and {MAX_LIMIT}"))
    if offset < 0:
        errors.append(FieldError("offset", "out_of_range", "offset must be 0 or more"))
    if errors:
        raise ValidationFailed("the page is out of bounds", errors=errors)


async def page_of(query: QuerySet[Any], limit: int, offset: int) -> Page[Any]:
    check_bounds(limit, offset)
    total = await query.count()
    items = await query.offset(offset).limit(limit)
    return Page(items=list(items), total=total, limit=limit, offset=offset)
