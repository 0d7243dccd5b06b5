"""Every user's own account in the workbench: ``GET|POST /workbench/password`` (修改密码).

The current password, the new one twice; the service (:func:`registry.accounts.users.change_password`)
checks the current one and applies the same rule as a new user's password. A user signed in
with a temporary password is sent here from every other page until it has changed it
(:mod:`api.web.password_gate`); this page is the one the gate lets through. Passwords are
never written back into the form after a refusal.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.dashboard import session
from api.web.security import PAGE_HEADERS
from api.workbench import pages
from api.workbench.pages import Form, Page, bureau_page, checked_form
from api.workbench.words import field_errors
from registry.accounts import users
from registry.accounts.rules import MIN_PASSWORD_LENGTH
from registry.core.errors import ValidationFailed


def _password_page(
    page: Page, *, done: bool = False, problem: str = "", errors: dict[str, str] | None = None
) -> Template:
    return Template(
        template_name="workbench/password.html",
        context=page.context(
            "password",
            must_change=page.current.must_change_password,
            min_length=MIN_PASSWORD_LENGTH,
            done=done,
            problem=problem,
            errors=errors or {},
        ),
        headers=PAGE_HEADERS,
    )


@get("/password", include_in_schema=False)
async def password_form(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    return _password_page(page, done=request.query_params.get("done") == "1")


@post("/password", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def password_change(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    current = str(form.get("current_password") or "")
    new = str(form.get("new_password") or "")
    if new != str(form.get("repeat_password") or ""):
        return _password_page(
            page, problem="密码未修改", errors={"repeat_password": "两次输入的新密码不一致"}
        )
    try:
        await users.change_password(page.principal, current, new)
    except ValidationFailed as exc:
        return _password_page(page, problem="密码未修改", errors=field_errors(exc))
    session.recheck(request, page.current.session_id)
    return Redirect(path="/workbench/password?done=1", status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


ROUTER = Router(
    path="/workbench",
    route_handlers=[password_form, password_change],
    exception_handlers=pages.EXCEPTION_HANDLERS,
    include_in_schema=False,
)
"""Registered in :func:`api.app.create_app`."""
