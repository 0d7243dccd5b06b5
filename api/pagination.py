"""One page shape for every list the API returns, and the bounded query parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from registry.core import paging

T = TypeVar("T")
S = TypeVar("S")

Limit = Annotated[int, Parameter(ge=1, le=paging.MAX_LIMIT, description=f"at most {paging.MAX_LIMIT}")]
MAX_OFFSET = 2**31 - 1
"""Past any real list, and inside PostgreSQL's ``bigint`` OFFSET."""
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description=f"at most {MAX_OFFSET}")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: paging.Page[S], read: Callable[[S], T]) -> Page[T]:
        return cls(
            items=[read(item) for item in page.items], total=page.total, limit=page.limit, offset=page.offset
        )
