"""Public certificate verification (证书查询): anyone, no sign-in.

``GET /verify/{number}`` (an HTML page, outside ``/api/v1``) and ``GET /api/v1/verify/{number}``
(JSON) show whether a certificate is valid, its holder's masked name, occupation, level,
issuer and issue date, and nothing else. Every miss (an unknown number, a malformed one,
anything after ``/verify/``) gets the same 404 and the same body, so a miss tells nothing.
Answers are never cached (``Cache-Control: no-store``).

A certificate numbered with its holder's ID number (a 特种作业操作证) is checked with
``POST /verify`` (the page's form) or ``POST /api/v1/verify`` (JSON), the number and the
holder's name in the body; the answer shows the number masked. A GET with a number shaped like
an ID number (in the path, or ``/verify?number=``) is answered exactly as a miss, without a
lookup, and nothing here logs it (the server's access log masks it: ``api.app``).

Every check is rate-limited per client address (``REGISTRY_VERIFY_MAX_REQUESTS`` in
``REGISTRY_VERIFY_WINDOW_SECONDS``, a fixed window in Redis): past it the API answers 429 with a
problem document and ``Retry-After``, the page a short Chinese page with the same header.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from api.problems import PROBLEM_JSON, problem
from api.security import WindowLimiter, client_address
from api.strict import ANSWERS_ANY_TEXT
from registry.certificates import rules, service

TEMPLATE = "verify.html"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
JSON_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff"}
MISS: dict[str, Any] = {
    "type": "/problems/not_found",
    "title": "Not found",
    "status": 404,
    "detail": "no certificate with this number can be confirmed",
    "code": "not_found",
}
"""The one body of every miss: it names neither the number nor the path asked for."""


class VerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The number and the holder's name, in the body: never in a URL."""

    number: Annotated[str, msgspec.Meta(max_length=rules.NUMBER_MAX)] = ""
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""


class VerifiedCertificate(msgspec.Struct):
    number: str
    status: str
    status_label: str
    valid: bool
    kind: str
    kind_label: str
    holder_name: str
    """Masked (张*)."""
    occupation_code: str | None
    occupation_name: str | None
    level: int | None
    level_label: str
    issuer_name: str
    issue_date: dt.date

    @classmethod
    def of(cls, cert: service.PublicCertificate) -> VerifiedCertificate:
        return cls(
            number=cert.number,
            status=cert.status,
            status_label=rules.STATUS_NAMES[cert.status][0],
            valid=cert.is_valid,
            kind=cert.kind,
            kind_label=rules.KIND_NAMES[cert.kind][0],
            holder_name=cert.holder_name,
            occupation_code=cert.occupation_code,
            occupation_name=cert.occupation_name,
            level=cert.level,
            level_label=rules.level_label(cert.level),
            issuer_name=cert.issuer_name,
            issue_date=cert.issue_date,
        )


LIMITED_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>证书查询</title></head>
<body><h1>查询过于频繁</h1><p>请在 {wait} 秒后再试。</p>
<p lang="en">Too many checks from your address; try again in {wait} seconds.</p></body></html>
"""


async def _wait_of(request: Request[Any, Any, Any]) -> int | None:
    """Count this check for the caller's address: None, or the seconds it must wait."""
    limiter: WindowLimiter = request.app.state.verify_limiter
    return await limiter.hit(client_address(request, request.app.state.settings.trusted_proxies))


async def limit_page(request: Request[Any, Any, Any]) -> Response[str] | None:
    """``before_request`` of the pages: a plain Chinese page when the address is over its limit."""
    wait = await _wait_of(request)
    if wait is None:
        return None
    return Response(
        LIMITED_PAGE.format(wait=wait),
        status_code=429,
        media_type=MediaType.HTML,
        headers={**PAGE_HEADERS, "Retry-After": str(wait)},
    )


async def limit_api(request: Request[Any, Any, Any]) -> Response[dict[str, Any]] | None:
    """``before_request`` of the JSON checks: a 429 problem document with Retry-After."""
    wait = await _wait_of(request)
    if wait is None:
        return None
    return problem(
        429,
        "rate_limited",
        "Too many attempts",
        f"too many certificate checks from this address; try again in {wait} seconds",
        headers={**JSON_HEADERS, "Retry-After": str(wait)},
    )


def _number(path: str) -> str:
    """The number from a ``{number:path}`` parameter (which keeps the leading slash)."""
    return path.removeprefix("/")


def _context(cert: service.PublicCertificate | None) -> dict[str, Any]:
    if cert is None:
        return {"found": False}
    return {
        "found": True,
        "cert": cert,
        "status_zh": rules.STATUS_NAMES[cert.status][0],
        "status_en": rules.STATUS_NAMES[cert.status][1],
        "kind_zh": rules.KIND_NAMES[cert.kind][0],
        "kind_en": rules.KIND_NAMES[cert.kind][1],
        "level_zh": rules.level_label(cert.level),
        "level_en": rules.level_label_en(cert.level),
        "issue_date": f"{cert.issue_date.year}年{cert.issue_date.month}月{cert.issue_date.day}日",
        "issue_date_iso": cert.issue_date.isoformat(),
    }


def _page(cert: service.PublicCertificate | None) -> Template:
    return Template(
        template_name=TEMPLATE,
        context=_context(cert),
        status_code=200 if cert is not None else 404,
        headers=PAGE_HEADERS,
        media_type=MediaType.HTML,
    )


@get(
    "/verify",
    summary="Certificate verification form",
    include_in_schema=False,
    sync_to_thread=False,
    before_request=limit_page,
    opt={ANSWERS_ANY_TEXT: True},
)
def verify_form(number: str | None = None) -> Template | Redirect:
    if number is not None and number.strip():
        if rules.is_personal_number(number):
            return _page(None)  # never put it in a Location; answered as a miss
        return Redirect(
            path="/verify/" + quote(number.strip(), safe=""), status_code=303, headers=PAGE_HEADERS
        )
    return Template(template_name=TEMPLATE, context={"form_only": True}, headers=PAGE_HEADERS)


@get(
    "/verify/{number:path}",
    summary="Certificate verification page",
    include_in_schema=False,
    before_request=limit_page,
    opt={ANSWERS_ANY_TEXT: True},
)
async def verify_page(number: str) -> Template:
    return _page(await service.verify_certificate(_number(number)))


@post(
    "/verify",
    summary="Certificate verification by number and holder's name",
    include_in_schema=False,
    before_request=limit_page,
)
async def verify_page_post(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    number, name = (str(data.get(k) or "")[:200] for k in ("number", "name"))
    return _page(await service.verify_with_holder(request.app.state.vault, number, name))


@get(
    ["/verify", "/verify/{number:path}"],
    summary="Verify a certificate by its number (anyone)",
    tags=["verify"],
    before_request=limit_api,
    opt={ANSWERS_ANY_TEXT: True},
)
async def verify_json(number: str = "") -> Response[Any]:
    return _answer(await service.verify_certificate(_number(number)))


@post(
    "/verify",
    summary="Verify a certificate by its number and its holder's name (anyone; for numbers that are ID numbers)",
    tags=["verify"],
    status_code=200,
    before_request=limit_api,
)
async def verify_json_post(request: Request[Any, Any, Any], data: VerifyRequest) -> Response[Any]:
    return _answer(await service.verify_with_holder(request.app.state.vault, data.number, data.name))


def _answer(cert: service.PublicCertificate | None) -> Response[Any]:
    if cert is None:
        return Response(content=MISS, status_code=404, media_type=PROBLEM_JSON, headers=JSON_HEADERS)
    return Response(content=VerifiedCertificate.of(cert), status_code=200, headers=JSON_HEADERS)


PAGE_HANDLERS = [verify_form, verify_page, verify_page_post]
"""On the root router (outside ``/api/v1``)."""
API_HANDLERS = [verify_json, verify_json_post]
"""On the ``/api/v1`` router."""
