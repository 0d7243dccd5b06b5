"""Input is refused at the boundary, never by the database (issue 7 §2).

* :class:`StrictRequest` decodes a JSON body straight into the handler's ``data`` type with
  msgspec in strict mode (``"5"`` is not an integer), only when the body is sent as JSON
  (``application/json`` or ``*/*+json``; anything else is a 415), and refuses a NUL character
  in any string of it (PostgreSQL's text cannot hold one), and a date outside
  ``api.fields.MIN_DAY``..``MAX_DAY`` anywhere in it (``cohort.end_date`` of 9999-12-31 was
  a 500 of the calculator), naming the field.
* :func:`refuse_nul_characters`, a middleware on every route, refuses a NUL in a query or path
  parameter, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Empty, Receive, Scope, Send

from api.fields import day_in_range, day_out_of_range

NUL = "\x00"
NUL_MESSAGE = "a NUL character is not allowed"
_decoders: dict[int, msgspec.json.Decoder[Any]] = {}


class UnsupportedMediaType(HTTPException):
    status_code = 415
    detail = "the body is JSON: send it as application/json"


def is_json(media_type: str) -> bool:
    media_type = media_type.strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def first_path(value: Any, found: Callable[[Any], bool], path: str = "") -> tuple[str, Any] | None:
    """The first value (a dict's key included) of a decoded body for which ``found`` is true,
    and where it is (``name``, ``[0].name``, ``body`` for the body itself), or None."""
    if found(value):
        return path or "body", value
    if isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            at = first_path(getattr(value, field), found, f"{path}.{field}" if path else field)
            if at is not None:
                return at
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            if (at := first_path(item, found, f"{path}[{i}]")) is not None:
                return at
    elif isinstance(value, dict):
        for key, item in value.items():
            if (
                at := first_path(key, found, path)
                or first_path(item, found, f"{path}.{key}" if path else str(key))
            ) is not None:
                return at
    return None


def _has_nul(value: Any) -> bool:
    return isinstance(value, str) and NUL in value


def _refused(value: Any) -> bool:
    """A string with a NUL, or a date outside ``api.fields.MIN_DAY``..``MAX_DAY``."""
    return _has_nul(value) or not day_in_range(value)


def refuse_body(value: Any) -> None:
    """Refuse a decoded body holding a NUL character or a date out of range (one walk),
    naming the field."""
    at = first_path(value, _refused)
    if at is None:
        return
    path, found = at
    if _has_nul(found):
        raise _refuse(path, NUL_MESSAGE, "body")
    raise day_out_of_range(path)


def _refuse(field: str, message: str, source: str) -> ValidationException:
    return ValidationException(
        detail="the request is not valid", extra=[{"message": message, "key": field, "source": source}]
    )


def _split(error: str) -> tuple[str, str]:
    """msgspec's ``message - at `$.path``` as (message, field): ``a.b``, ``[0].name``, or
    the field a message about an object names (a missing or unknown field)."""
    message, _, where = error.partition(" - at `")
    path = where.rstrip("`").removeprefix("$").removeprefix(".")
    named = re.search(r"(?:missing required|unknown) field `([^`]+)`", message)
    if named is not None:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return message, path or "body"


def _decoder(handler: BaseRouteHandler) -> msgspec.json.Decoder[Any]:
    decoder = _decoders.get(id(handler))
    if decoder is None:
        field = handler.parsed_data_field
        target: Any = field.raw if field is not None else Any
        decoder = _decoders[id(handler)] = msgspec.json.Decoder(target, strict=True)
    return decoder


class StrictRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        if (cached := self._connection_state.json) is not Empty:
            self._json = cached
            return cached
        body = await self.body()
        if not body:
            return None
        if not is_json(self.content_type[0]):
            raise UnsupportedMediaType()
        try:
            value = _decoder(self.route_handler).decode(body)
        except msgspec.ValidationError as exc:
            message, where = _split(str(exc))
            raise _refuse(where, message, "body") from None
        except msgspec.DecodeError as exc:
            raise MalformedBody(f"the body is not valid JSON: {exc}") from None
        refuse_body(value)
        self._json = self._connection_state.json = value
        return value


class MalformedBody(ClientException):
    """400: the body could not be read as JSON at all."""


ANSWERS_ANY_TEXT = "answers_any_text"
"""A handler's ``opt`` key: it answers any path and query text itself (the public certificate
check, where every miss, a NUL included, gets the same 404)."""


def refuse_nul_characters(app: ASGIApp) -> ASGIApp:
    """A middleware on every route: no NUL in a path or query parameter (a 422 naming it).

    A middleware, not a guard: Litestar calls each guard with a copy of the route handler,
    which was 8% of a cohort read's CPU."""

    async def refusing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            _refuse_nul(scope)
        await app(scope, receive, send)

    return refusing


def _refuse_nul(scope: Scope) -> None:
    handler = scope.get("route_handler")
    if handler is not None and handler.opt.get(ANSWERS_ANY_TEXT):
        return
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, str) and NUL in value:
            raise _refuse(name, NUL_MESSAGE, "path")
    raw = scope.get("query_string", b"")
    if b"%00" in raw or b"\x00" in raw:
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                raise _refuse(name.replace(NUL, ""), NUL_MESSAGE, "query")
