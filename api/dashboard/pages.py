"""The bureau's dashboard (``/dashboard``, zh-CN), for auditors and administrators signed in
through the browser.

- ``GET /dashboard/sign-in``, ``POST /dashboard/sign-in`` (a form: username, password, CSRF
  token): the same password check and sign-in limits as ``POST /api/v1/auth/token``; a
  session cookie (HttpOnly, SameSite=Strict; see :mod:`api.dashboard.session`). A user of a
  suspended or blacklisted institution is told so (403, :data:`SUSPENDED`), not "wrong
  password".
- ``GET /dashboard``: the page; without a session a redirect to the sign-in page; another
  role (an institution, an assessment body) 404.
- ``GET /dashboard/data``: what the charts draw (JSON, the same session), with every word the
  page shows already in Chinese (:mod:`api.labels`): claim statuses, flags as their label with
  the code beside, divisions by their name from the ``division`` table, the as-of day as
  2025年10月13日, amounts as ¥1,560.00; and the links into the workbench
  (``/workbench/claims?year=``, ``?status=``, ``?institution=``, ``/workbench/claims/{id}``).
- ``POST /dashboard/sign-out`` (a form with the session's CSRF token): the session ends.
- ``GET /favicon.ico``: the site's icon (``api/static/favicon.ico``), which browsers ask for
  on every page that names none (the sign-in page, the public pages).

The page loads Apache ECharts from ``/static/vendor/echarts/`` (vendored, nothing from a CDN)
and ``/static/dashboard.js``; its Content-Security-Policy allows scripts from the site only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api import labels
from api.dashboard import session
from api.figures import kept
from api.problems import problem
from api.security import LoginLimiter, client_address
from api.web.security import PAGE_HEADERS as WEB_HEADERS
from api.web.security import foreign_origin
from registry.accounts.signin import authenticate
from registry.core.errors import AuthenticationFailed, InstitutionSuspended, NotFound, RateLimited
from registry.core.principal import Principal
from registry.core.settings import Settings
from registry.enums import Role
from registry.progress.dashboard import dashboard_figures, dashboard_year, division_names
from registry.subsidy.overview import audit_overview

SIGN_IN = "/dashboard/sign-in"
PAGE_HEADERS = {
    **WEB_HEADERS,
    # The dashboard's own page still sets a few styles inline (ECharts draws into styled
    # elements); the workbench's pages allow none (api.web.security.CSP).
    "Content-Security-Policy": WEB_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    ),
}
ROLES = (Role.AUDITOR, Role.ADMIN)
FORBIDDEN_FORM = "表单已过期或不是从本站提交的，未做任何更改。请刷新页面后重试。"
WRONG_PASSWORD = "用户名或密码错误"
NOT_THE_BUREAU = "此入口供人力资源和社会保障局的工作人员使用；培训机构和评价机构的账号请使用机构端。"
"""Why an institution's or an assessment body's user is refused here (no session is made)."""
SUSPENDED = "您所在的机构已被暂停或列入黑名单，其账号无法登录；如有疑问，请联系洛阳市人力资源和社会保障局。"
"""The page's words for :class:`InstitutionSuspended` (``institution_suspended``)."""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site (``/workbench/...``), never another
    site (``//evil``, ``https://...``); the dashboard by default."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) <= 500:
        return target
    return "/dashboard"


async def _sign_in_page(
    request: Request[Any, Any, Any], error: str = "", status: int = 200, next_path: str = ""
) -> Template:
    token = await session.issue_form_token(request.app.state.redis)
    return Template(
        template_name="sign_in.html",
        context={
            "csrf": token,
            "error": error,
            "next": safe_next(next_path or request.query_params.get("next")),
        },
        headers=PAGE_HEADERS,
        cookies=[session.cookie(request, session.CSRF_COOKIE, token, session.FORM_SECONDS)],
        status_code=status,
    )


@get(SIGN_IN, include_in_schema=False)
async def sign_in_form(request: Request[Any, Any, Any]) -> Template:
    return await _sign_in_page(request)


@post(SIGN_IN, include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def sign_in(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    next_path = safe_next(str(data.get("next") or ""))
    token = str(data.get("csrf") or "")
    if (
        foreign_origin(request)
        or not session.same(token, request.cookies.get(session.CSRF_COOKIE))
        or not await session.take_form_token(request.app.state.redis, token)
    ):
        return await _sign_in_page(request, FORBIDDEN_FORM, status=403, next_path=next_path)
    username = str(data.get("username") or "")[:150]
    password = str(data.get("password") or "")[:1024]
    settings: Settings = request.app.state.settings
    limiter: LoginLimiter = request.app.state.login_limiter
    client = client_address(request, settings.trusted_proxies)
    try:
        await limiter.reserve(username, client)
        principal = await authenticate(username, password)
        await limiter.succeeded(username, client)
    except RateLimited as exc:
        return await _sign_in_page(
            request, f"尝试次数过多，请 {exc.retry_after} 秒后再试", status=429, next_path=next_path
        )
    except InstitutionSuspended:
        return await _sign_in_page(request, SUSPENDED, status=403, next_path=next_path)
    except AuthenticationFailed:
        return await _sign_in_page(request, WRONG_PASSWORD, status=401, next_path=next_path)
    if principal.role not in ROLES:
        # An institution's or an assessment body's user gets no bureau session at all.
        return await _sign_in_page(request, NOT_THE_BUREAU, status=403, next_path=next_path)
    started = await session.start(request.app.state.redis, principal)
    return Redirect(
        path=next_path,
        status_code=HTTP_303_SEE_OTHER,
        headers=PAGE_HEADERS,
        cookies=[
            session.cookie(request, session.SESSION_COOKIE, started.session_id, session.SESSION_SECONDS),
            session.expired(request, session.CSRF_COOKIE),
        ],
    )


async def _dashboard_principal(
    request: Request[Any, Any, Any],
) -> tuple[session.Session | None, Principal | None]:
    current = await session.current(request)
    if current is None:
        return None, None
    if current.principal.role not in ROLES:
        raise NotFound("no such page")
    return current, current.principal


@get("/dashboard", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Template | Redirect:
    current, principal = await _dashboard_principal(request)
    if current is None or principal is None:
        return Redirect(path=SIGN_IN, status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    return Template(
        template_name="dashboard.html",
        context={
            "csrf": current.csrf,
            "scope": principal.division_code or "",
            "role": principal.role.value,
        },
        headers=PAGE_HEADERS,
    )


WORKBENCH_CLAIMS = "/workbench/claims"
"""The workbench's claims list (DESIGN.md section 13); its filters are query parameters."""
TOP_FLAGS = 3
"""How many of an institution's flag codes the risk ranking shows (the most frequent first)."""


def claims_list(**filters: object) -> str:
    """The workbench's claims list filtered (``?year=2025&status=paid``)."""
    return f"{WORKBENCH_CLAIMS}?{urlencode(filters)}" if filters else WORKBENCH_CLAIMS


def _flags(by_code: dict[str, int]) -> list[dict[str, Any]]:
    ranked = sorted(by_code.items(), key=lambda item: (-item[1], item[0]))[:TOP_FLAGS]
    return [{"code": code, "label": labels.flag_label(code), "count": count} for code, count in ranked]


async def _dashboard_body(principal: Principal, year: int | None) -> dict[str, Any]:
    overview = await audit_overview(principal)
    figures = await dashboard_figures(principal, await dashboard_year(principal, year))
    shown = figures["year"]
    names = await division_names()
    as_of = figures["as_of"]
    return {
        **figures,
        "as_of_label": labels.chinese_date(dt.date.fromisoformat(as_of)) if as_of else None,
        "scope": {**figures["scope"], "role": principal.role.value, "division_code": principal.division_code},
        "cards": [{**card, "href": claims_list(year=shown)} for card in figures["cards"]],
        "claims": [
            {
                "status": step.status.value,
                "label": labels.claim_status(step.status.value),
                "claims": step.claims,
                "lines": step.lines,
                "total_fen": step.total_fen,
                "total": labels.yuan(step.total_fen),
                "payable_fen": step.payable_fen,
                "href": claims_list(status=step.status.value),
            }
            for step in overview.steps
        ],
        "risk": [
            {
                "institution_id": str(r.institution_id),
                "name": r.name,
                "href": claims_list(institution=r.institution_id),
                "division_code": r.division_code,
                "division_name": names.get(r.division_code or "", "") or "未知区划",
                "trainees": r.trainees,
                "flags": r.flags,
                "per_hundred": r.per_hundred,
                "by_code": r.by_code,
                "top_flags": _flags(r.by_code),
                "claims": [f"{WORKBENCH_CLAIMS}/{claim_id}" for claim_id in r.claim_ids],
            }
            for r in overview.risk
        ],
    }


@get("/dashboard/data", include_in_schema=False)
async def dashboard_data(request: Request[Any, Any, Any], year: int | None = None) -> Response[Any]:
    """``?year=``: the year shown (default: the latest year with people trained). Kept per scope
    for ``REGISTRY_FIGURES_CACHE_SECONDS`` (:mod:`api.figures`); the session is checked first."""
    current, principal = await _dashboard_principal(request)
    if current is None or principal is None:
        return problem(
            401, "authentication_required", "Unauthorized", "sign in to the dashboard first", request
        )
    body = await kept(request, principal, ("dashboard", year), lambda: _dashboard_body(principal, year))
    return Response(content=body, headers={"Cache-Control": "no-store"})


@post("/dashboard/sign-out", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def sign_out(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    current = await session.current(request)
    if current is None:
        return Redirect(path=SIGN_IN, status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    if foreign_origin(request) or not session.same(str(data.get("csrf") or ""), current.csrf):
        return Response(
            content=FORBIDDEN_FORM, status_code=403, media_type="text/plain", headers=PAGE_HEADERS
        )
    await session.end(request, current.session_id)
    return Redirect(
        path=SIGN_IN,
        status_code=HTTP_303_SEE_OTHER,
        headers=PAGE_HEADERS,
        cookies=[session.expired(request, session.SESSION_COOKIE)],
    )


FAVICON = Path(__file__).resolve().parents[1] / "static" / "favicon.ico"


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response[bytes]:
    """The site's icon: browsers ask ``/favicon.ico`` of every page that links none, and a 404
    there is an error in the console of every page."""
    return Response(
        content=FAVICON.read_bytes(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


PAGE_HANDLERS: list[Any] = [sign_in_form, sign_in, dashboard, dashboard_data, sign_out, favicon]
