"""Bounded field types shared by the request structs: the API's limits are the database's.

An ``integer`` column holds 32 bits, a ``smallint`` 16; a division code is ``char(6)``-like
(``varchar(6)``, six digits). A value past these is a 422 naming the field, never a 500
from PostgreSQL (issue 7 §2)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

INT32_MAX = 2**31 - 1
SMALLINT_MAX = 2**15 - 1
DIVISION_PATTERN = r"^[0-9]{6}$"

Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
"""An ``integer`` column."""
SmallInt = Annotated[int, msgspec.Meta(ge=-SMALLINT_MAX - 1, le=SMALLINT_MAX)]
"""A ``smallint`` column."""
DivisionCode = Annotated[
    str, msgspec.Meta(pattern=DIVISION_PATTERN, description="a Luoyang division: six digits, e.g. 410305")
]
DivisionQuery = Annotated[
    str | None, Parameter(pattern=DIVISION_PATTERN, description="a division code: six digits")
]
