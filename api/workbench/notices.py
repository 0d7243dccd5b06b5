"""The workbench's notices (公示, issue 16): the running and ended notices of the claims in
the caller's scope, newest first, each with its claim, its days, its lines and amount, its
public page and its spreadsheet; and one notice with its lines (names and ID numbers masked,
as the public page shows them).

Each handler parses, calls the service (:mod:`registry.notices.service`) and renders; what
is out of scope answers 404.

- ``GET /workbench/notices`` (``?status=running|closed``, ``offset``);
- ``GET /workbench/notices/{id}``.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from api.workbench import pages
from api.workbench.pages import _page, bureau_page
from registry.notices import service as notices

PAGE_SIZE = 50
STATUSES = {"": "全部", "running": "公示中", "closed": "已结束"}


@get("/notices", include_in_schema=False)
async def notices_list(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    status = request.query_params.get("status", "").strip()
    errors: dict[str, str] = {}
    if status not in STATUSES:
        errors["status"] = "不是可选的状态"
        status = ""
    try:
        offset = max(0, min(int(request.query_params.get("offset", "0")), 10_000_000))
    except ValueError:
        offset = 0
    found = await notices.list_notices(page.principal, limit=PAGE_SIZE, offset=offset, status=status or None)
    return _page(
        "workbench/notices.html",
        page.context(
            "notices",
            page=found,
            limit=PAGE_SIZE,
            status=status,
            statuses=STATUSES,
            base_query=urllib.parse.urlencode({"status": status} if status else {}),
            errors=errors,
        ),
    )


@get("/notices/{notice_id:uuid}", include_in_schema=False)
async def notice_detail(request: Request[Any, Any, Any], notice_id: uuid.UUID) -> Template:
    page = await bureau_page(request)
    record = await notices.notice_record(page.principal, notice_id)
    return _page(
        "workbench/notice.html",
        page.context("notices", record=record, listed=record.listed, notice=record.listed.notice),
    )


ROUTER = Router(
    path="/workbench",
    route_handlers=[notices_list, notice_detail],
    exception_handlers=pages.EXCEPTION_HANDLERS,
    include_in_schema=False,
)
