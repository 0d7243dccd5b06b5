"""The temporary-password gate (DESIGN.md section 13: "first sign-in with a temporary password
forces a change"): a user whose administrator set its password (``must_change_password``,
carried by the browser session, :attr:`api.dashboard.session.Session.must_change_password`)
is sent to ``/workbench/password`` from every other workbench page until it has changed it.

:func:`check` is called by the pages' guard (``api.workbench.pages.bureau_page``) with the
session it found; it raises :class:`ChangePasswordFirst`, which :data:`EXCEPTION_HANDLERS`
(registered on the app) answers with a redirect (303) to the password page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.dashboard.session import Session
from api.web.security import PAGE_HEADERS

PASSWORD_PAGE = "/workbench/password"


class ChangePasswordFirst(Exception):
    """The user must change its temporary password before anything else."""


def check(current: Session, path: str) -> None:
    """Raise :class:`ChangePasswordFirst` when the session's user must change its password
    and the request is for another page than the password page itself."""
    if current.must_change_password and path.rstrip("/") != PASSWORD_PAGE:
        raise ChangePasswordFirst()


def _to_password_page(request: Request[Any, Any, Any], exc: ChangePasswordFirst) -> Response[Any]:
    return Redirect(path=PASSWORD_PAGE, status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


EXCEPTION_HANDLERS: dict[Any, Any] = {ChangePasswordFirst: _to_password_page}
