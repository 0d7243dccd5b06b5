"""The workbench's people (人员, issue 16): find a person by ID number (posted, looked up by
the blind index: the number is never in a URL) or by name within the caller's scope, and a
person's whole record (enrolments, certificates, grants with the annual cap used this year,
claim lines with their flags), with the audited reveal of the full ID number.

Each handler parses, calls the same service as the API (:mod:`registry.people.service`) and
renders; every view of a person is an audit event written by the service. An ID number
typed into a form is never echoed back in full: a failed lookup shows it masked.

- ``GET /workbench/people`` (``?name=``: a search by name, paged);
- ``POST /workbench/people/lookup``: by ID number, then to the person's page;
- ``GET /workbench/people/{id}`` and ``POST /workbench/people/{id}/reveal``.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.web.security import PAGE_HEADERS
from api.workbench import pages
from api.workbench.pages import Form, Page, _page, bureau_page, checked_form
from registry.certificates.rules import KIND_NAMES, STATUS_NAMES
from registry.core.errors import NotFound, ValidationFailed
from registry.core.paging import Page as Listing
from registry.core.redact import mask_id_numbers_in
from registry.enums import EnrolmentOutcome, PriorityGroup, SubsidyKind
from registry.people import service as people
from registry.training.rules import NAME_DIFFERS

PAGE_SIZE = 50
NAME_ERRORS = {
    "name_required": "请填写姓名",
    "too_long": "姓名最多 50 个字",
    "name_has_digits": "姓名中不能有数字；按身份证号查找请用上面的表单",
}
ID_ERRORS = {
    "id_required": "请填写身份证号",
    "id_length": "身份证号应为 18 位",
    "id_first_generation": "不接受 15 位的第一代身份证号，请填写 18 位号码",
    "id_format": "身份证号应为 17 位数字加 1 位数字或 X",
    "id_checksum": "身份证号校验位不符，可能有数字输错",
    "id_birth_date": "身份证号中的出生日期不正确",
}
REVEAL_ERRORS = {"reason_required": "请说明查看原因", "too_long": "原因最多 500 个字"}
LABELS: dict[str, dict[str, str]] = {
    "sex": {"M": "男", "F": "女"},
    "groups": {
        PriorityGroup.GRADUATE: "高校毕业生",
        PriorityGroup.MIGRANT_WORKER: "农民工",
        PriorityGroup.VETERAN: "退役军人",
        PriorityGroup.HARDSHIP: "就业困难人员",
        PriorityGroup.RURAL_LABOUR: "农村劳动力",
        PriorityGroup.DISABLED: "残疾人",
        PriorityGroup.UNEMPLOYED_YOUTH: "登记失业青年",
        PriorityGroup.POVERTY_ALLEVIATED: "脱贫人口",
    },
    "review_flags": {NAME_DIFFERS: "报名姓名与登记姓名不同"},
    "outcomes": {
        EnrolmentOutcome.IN_PROGRESS: "在训",
        EnrolmentOutcome.COMPLETED: "已结业",
        EnrolmentOutcome.WITHDRAWN: "已退出",
        EnrolmentOutcome.FAILED: "未通过",
    },
    "certificate_kinds": {kind: names[0] for kind, names in KIND_NAMES.items()},
    "certificate_statuses": {status: names[0] for status, names in STATUS_NAMES.items()},
    "subsidy_kinds": {SubsidyKind.TRAINING: "培训补贴", SubsidyKind.ASSESSMENT: "评价补贴"},
    "line_outcomes": {"clean": "无问题", "review": "需复核", "blocked": "不予支付"},
    "decisions": {"approved": "已通过", "rejected": "未通过"},
}
"""What the person's page shows for the codes it holds (StrEnum keys are their values)."""


def _offset(request: Request[Any, Any, Any]) -> int:
    try:
        return max(0, min(int(request.query_params.get("offset", "0")), 10_000_000))
    except ValueError:
        return 0


def _people_page(
    page: Page,
    *,
    name: str = "",
    found: Listing[people.PersonSummary] | None = None,
    errors: dict[str, str] | None = None,
    typed_id: str = "",
) -> Template:
    return _page(
        "workbench/people.html",
        page.context(
            "people",
            name=name,
            found=found,
            limit=PAGE_SIZE,
            base_query=urllib.parse.urlencode({"name": name}),
            errors=errors or {},
            typed_id=typed_id,
        ),
    )


@get("/people", include_in_schema=False)
async def people_search(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    name = request.query_params.get("name", "").strip()
    if not name:
        return _people_page(page)
    try:
        found = await people.search_by_name(page.principal, name, limit=PAGE_SIZE, offset=_offset(request))
    except ValidationFailed as exc:
        code = exc.errors[0].code if exc.errors else ""
        # A name with digits may be an ID number typed in the wrong box: not shown again.
        shown = "" if code == "name_has_digits" else name
        return _people_page(page, name=shown, errors={"name": NAME_ERRORS.get(code, "请检查姓名")})
    return _people_page(page, name=name, found=found)


@post("/people/lookup", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def lookup(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    """By ID number, in the body: the person's page, or the search page again with what was
    wrong beside the field (the number typed shown masked, never in full)."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    raw = str(form.get("id_number") or "")
    typed = mask_id_numbers_in(raw.strip())[:40]
    try:
        found = await people.find_by_id_number(page.principal, request.app.state.vault, raw)
    except ValidationFailed as exc:
        return _people_page(
            page, errors={"id_number": ID_ERRORS.get(exc.code, "身份证号不正确")}, typed_id=typed
        )
    except NotFound:
        return _people_page(
            page, errors={"id_number": "在您的权限范围内没有这个身份证号的人员"}, typed_id=typed
        )
    return Redirect(
        path=f"/workbench/people/{found.id}", status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS
    )


async def _person_page(
    page: Page,
    trainee_id: uuid.UUID,
    *,
    message: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    revealed: str = "",
) -> Template:
    record = await people.person_record(page.principal, trainee_id)
    return _page(
        "workbench/person.html",
        page.context(
            "people",
            record=record,
            person=record.person,
            message=message,
            errors=errors or {},
            typed=typed or {},
            revealed=revealed,
            labels=LABELS,
        ),
    )


@get("/people/{trainee_id:uuid}", include_in_schema=False)
async def person(request: Request[Any, Any, Any], trainee_id: uuid.UUID) -> Template:
    page = await bureau_page(request)
    return await _person_page(page, trainee_id)


@post("/people/{trainee_id:uuid}/reveal", include_in_schema=False)
async def reveal(request: Request[Any, Any, Any], trainee_id: uuid.UUID, data: Form) -> Template:
    """The full ID number with a reason (an audit event), shown once on this answer."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    try:
        number = await people.reveal_id_number(
            page.principal, request.app.state.vault, trainee_id, str(form.get("reason") or "")
        )
    except ValidationFailed as exc:
        code = exc.errors[0].code if exc.errors else ""
        return await _person_page(
            page, trainee_id, errors={"reason": REVEAL_ERRORS.get(code, "请说明查看原因")}, typed=form
        )
    return await _person_page(
        page, trainee_id, revealed=number, message="完整身份证号已显示（已记入审计日志），离开本页后不再显示"
    )


ROUTER = Router(
    path="/workbench",
    route_handlers=[people_search, lookup, person, reveal],
    exception_handlers=pages.EXCEPTION_HANDLERS,
    include_in_schema=False,
)
