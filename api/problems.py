"""RFC 9457 problem details for every error the API returns.

Domain errors carry a stable ``code``; this is the one place that maps them to HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from tortoise.exceptions import IntegrityError

from api.strict import MalformedBody
from registry.core.db import unique_violation
from registry.core.errors import (
    AuthenticationFailed,
    Conflict,
    InstitutionSuspended,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegistryError,
    RequestInProgress,
    ValidationFailed,
)
from registry.core.redact import mask_id_numbers_in

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: list[tuple[type[RegistryError], int]] = [
    (ValidationFailed, 422),
    (NotFound, 404),
    (Conflict, 409),
    (InstitutionSuspended, 403),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (RateLimited, 429),
]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request[Any, Any, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """A problem document; ``extra`` adds members of the problem type's own (RFC 9457 3.2)."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        # A path may hold something shaped like an ID number: never repeat it.
        body["instance"] = mask_id_numbers_in(request.url.path)
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def registry_error_handler(request: Request[Any, Any, Any], exc: RegistryError) -> Response[dict[str, Any]]:
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    retry_after = exc.retry_after if isinstance(exc, (RateLimited, RequestInProgress)) else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if isinstance(exc, AuthenticationFailed) and status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="registry"'}
    return problem(
        status, exc.code, exc.title, exc.message, request, [e.as_dict() for e in exc.errors], headers=headers
    )


def _field_of(key: Any, source: Any, message: str) -> str:
    """The field a msgspec/Litestar validation message is about."""
    if key in (None, "", "data"):
        # Root-level messages name the field in backticks: "Object missing required field `uscc`".
        if "`" in message:
            return message.split("`")[1]
        return "body" if source in (None, "body") else str(source)
    return str(key).removeprefix("data.").removeprefix("$.").removeprefix("$")


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            key = item.get("key")
            if not key and " - at `" in message:
                message, _, path = message.partition(" - at `")
                key = path.rstrip("`")
            errors.append(
                {"field": _field_of(key, item.get("source"), message), "code": "invalid", "message": message}
            )
    if not errors:
        errors.append({"field": "body", "code": "invalid", "message": str(exc.detail)})
    return problem(422, "validation_failed", "Validation failed", "the request is not valid", request, errors)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, NotFoundException):
        return problem(404, "not_found", "Not found", "nothing here", request)
    if isinstance(exc, MalformedBody) or (
        exc.status_code == 400 and not isinstance(exc, ValidationException)
    ):
        # Litestar's own 400s are bodies it could not read (truncated, not UTF-8...).
        return problem(
            400, "malformed_body", "Malformed body", exc.detail or "the body cannot be read", request
        )
    code = {
        401: "authentication_required",
        403: "permission_denied",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }.get(exc.status_code, "http_error")
    return problem(
        exc.status_code, code, exc.detail or "Error", exc.detail or "", request, headers=exc.headers
    )


def _api_field(column: str) -> str:
    """The API's name of a column: ``division_id`` is ``division_code``, ``x_id`` is ``x_id``."""
    return "division_code" if column == "division_id" else column


def integrity_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    """A unique constraint that a service did not catch (two requests raced past its check)
    is a 409 naming the constraint's fields; any other integrity error is a bug (500)."""
    columns = unique_violation(exc)
    if columns is None:
        return internal_error_handler(request, exc)
    fields = [_api_field(c) for c in columns] or ["body"]
    return problem(
        409,
        "duplicate",
        "Conflict",
        f"another record already has this {', '.join(fields)}",
        request,
        [{"field": f, "code": "duplicate", "message": "already taken"} for f in fields],
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal error",
        "an unexpected error; it was logged",
        request,
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: registry_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    IntegrityError: integrity_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
