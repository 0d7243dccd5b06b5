"""The OpenAPI document tells the truth (issue 7 §3), finished here, in one place.

Litestar documents each handler's success answer; this adds what every route can also
answer, each error as an RFC 9457 problem document (``application/problem+json``, the
:data:`PROBLEM` schema, as :mod:`api.problems` writes them), the security of each route
(read from the handler: a route that takes the ``principal`` dependency needs a token or
an API key, any other is public), and request schemas as strict as the server
(``additionalProperties: false`` for a struct with ``forbid_unknown_fields``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute

from api.problems import PROBLEM_JSON

PROBLEM_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    title="ProblemError",
    description="One thing wrong with the request: the field (or header, or row and column of a file).",
    required=["field", "code", "message"],
    properties={
        "field": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING, description="stable, machine-readable"),
        "message": Schema(type=OpenAPIType.STRING),
        "row": Schema(type=OpenAPIType.INTEGER, description="a roster file's row (1 = the header)"),
        "column": Schema(type=OpenAPIType.STRING, description="a roster file's column header"),
    },
)
PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="An RFC 9457 problem document. A problem type may add members of its own (RFC 9457 3.2).",
    required=["type", "title", "status", "detail", "code"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="/problems/<code>"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING, description="stable, machine-readable"),
        "instance": Schema(type=OpenAPIType.STRING, description="the path asked for (ID numbers masked)"),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Reference("#/components/schemas/ProblemError")),
    },
)

ERRORS = {
    400: "The body cannot be read (malformed JSON, truncated)",
    401: "Not signed in: no valid bearer token or API key",
    403: "Signed in, but this role may not do this",
    404: "Nothing here, or nothing the caller may see",
    409: "A conflict with the current state: a duplicate, a wrong workflow step, a reused Idempotency-Key",
    413: "The body is larger than the server accepts",
    415: "The body is not sent as the media type the operation reads",
    422: "The request is not valid; `errors` names each field",
    429: "Too many attempts; see Retry-After",
}
RATE_LIMITED = ("/api/v1/auth/token", "/api/v1/verify")
"""Paths (and those under them) that have a rate limit of their own."""
SIGN_IN = ("/api/v1/auth/token",)
"""Public, but answers 401 for a wrong password (and 403 for a user who may not sign in)."""
_PATH_TYPE = re.compile(r"{([^:}]+):[^}]+}")


def _problem_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=ERRORS[status],
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference("#/components/schemas/Problem"))},
    )


def _statuses(path: str, method: str, secured: bool, has_body: bool) -> list[int]:
    statuses = [400, 404, 422]
    if secured or path in SIGN_IN:
        statuses += [401, 403]
    if has_body:
        statuses += [413, 415]
    if method in ("post", "patch", "put", "delete") and secured:
        statuses.append(409)
    if any(path == p or path.startswith(p + "/") for p in RATE_LIMITED):
        statuses.append(429)
    return sorted(statuses)


def _forbidding_structs(handlers: list[HTTPRouteHandler]) -> set[str]:
    """The names of the request structs (and the structs inside them) that refuse unknown fields."""
    names: set[str] = set()

    def walk(info: Any) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls.__name__ in names:
                return
            if info.forbid_unknown_fields:
                names.add(info.cls.__name__)
            for field in info.fields:
                walk(field.type)
        elif isinstance(info, msgspec.inspect.Metadata):
            walk(info.type)
        elif isinstance(info, msgspec.inspect.UnionType):
            for t in info.types:
                walk(t)
        elif isinstance(
            info, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.VarTupleType
        ):
            walk(info.item_type)

    for handler in handlers:
        field = handler.parsed_data_field
        if field is None:
            continue
        try:
            walk(msgspec.inspect.type_info(field.annotation))
        except (TypeError, ValueError):  # not a msgspec type (a multipart upload)
            continue
    return names


def _operations(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = _PATH_TYPE.sub(r"{\1}", route.path)
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                found.append((path, method.lower(), handler))
    return found


def finish_openapi(app: Litestar) -> OpenAPI:
    """Finish the app's OpenAPI document in place (Litestar builds it once and serves that)."""
    document = app.openapi_schema
    operations = _operations(app)
    components = document.components
    assert components is not None and not isinstance(components, list)
    schemas = components.schemas if components.schemas is not None else {}
    components.schemas = schemas
    schemas["Problem"] = PROBLEM
    schemas["ProblemError"] = PROBLEM_ERROR
    for path, method, handler in operations:
        item = (document.paths or {}).get(path)
        operation: Operation | None = getattr(item, method, None) if item is not None else None
        if operation is None:
            continue
        secured = "principal" in handler.parsed_fn_signature.parameters
        if not secured:
            operation.security = []
        has_body = handler.parsed_data_field is not None
        responses = operation.responses if operation.responses is not None else {}
        operation.responses = responses
        for status in _statuses(path, method, secured, has_body):
            responses[str(status)] = _problem_response(status)
    forbidding = _forbidding_structs([h for _, _, h in operations])
    for schema in schemas.values():
        if isinstance(schema, Schema) and schema.title in forbidding and schema.type == OpenAPIType.OBJECT:
            schema.additional_properties = False
    return document
