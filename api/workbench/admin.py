"""The administration (管理, ``/workbench/admin``): what an administrator of the bureau does
in the workbench (issue 16, "Administration").

- ``GET /workbench/admin``: the four parts, with what each holds;
- institutions and assessment bodies: ``GET|POST /workbench/admin/institutions`` (list,
  register), ``POST .../institutions/{id}/approve`` (a year), ``.../suspend`` and
  ``.../reinstate`` (with a reason);
- users: ``GET|POST /workbench/admin/users`` (list, create with a temporary password shown
  once on the answer, which the user changes at first sign-in), ``POST .../users/{id}/deactivate``
  and ``.../reactivate``;
- API keys: ``GET /workbench/admin/api-keys``, ``POST .../api-keys/{id}/revoke``;
- the bureau's files: ``GET /workbench/admin/files``, ``POST .../files/{kind}`` (a multipart
  upload: the priority-trade list, the targets, a year of the calendar, a policy) with every
  problem by row and column on the page, and ``POST .../files/confirm`` (the priority-trade
  list's confirmation).

As every workbench page (:mod:`api.workbench.pages`): a handler parses, calls the same service
as the API or the CLI command, and renders; who may do what is the services' answer (anyone
but an administrator: 404 for what it may not see, 403 for what it may see but not change). A
failed action answers 200 with the same page, each error beside its field, what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.web.security import PAGE_HEADERS
from api.workbench import pages
from api.workbench.pages import Form, Page, bureau_page, checked_form
from api.workbench.words import (
    CALENDAR_ORIGINS,
    FILE_LABELS,
    KIND_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    field_errors,
    file_problems,
    refusal,
)
from registry.accounts import administration, api_keys, institutions, users
from registry.accounts.administration import BureauFile, FileOptions
from registry.core.clock import business_today
from registry.core.errors import Conflict, NotFound, ValidationFailed
from registry.reference import service as reference

PAGE_SIZE = 50
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
DONE = {
    "institution": "机构已登记",
    "approved": "已列入该年度认定名单",
    "suspended": "机构已暂停，其账号和接口密钥不能再登录",
    "reinstated": "机构已恢复",
    "deactivated": "账号已停用，其登录已失效",
    "reactivated": "账号已恢复",
    "revoked": "接口密钥已吊销",
    "confirmed": "重点工种目录已确认",
}
"""What a page says after an action (by key: the address never carries free text)."""
LOADED = {
    "priority_list": "重点工种目录已导入",
    "targets": "目标任务已导入",
    "calendar": "工作日历已导入",
    "policy": "补贴政策已发布",
}


def _render(name: str, viewer: Page, here: str, **more: Any) -> Template:
    return Template(
        template_name=f"workbench/admin/{name}.html",
        context=viewer.context(
            "admin",
            part=here,
            roles=ROLE_LABELS,
            kinds=KIND_LABELS,
            statuses=STATUS_LABELS,
            files=FILE_LABELS,
            **more,
        ),
        headers=PAGE_HEADERS,
    )


def _back(path: str, done: str) -> Redirect:
    return Redirect(path=f"{path}?done={done}", status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def _offset(request: Request[Any, Any, Any]) -> int:
    text = request.query_params.get("offset", "0")
    return int(text) if text.isdigit() and len(text) < 9 else 0


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _message(request: Request[Any, Any, Any]) -> str:
    return DONE.get(request.query_params.get("done", ""), "")


# --- the administration's front page --------------------------------------------------------


@get("/admin", include_in_schema=False)
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    everyone = await users.list_users(page.principal, limit=1, offset=0)
    return _render(
        "index",
        page,
        "index",
        users_total=everyone.total,
        institutions_total=(
            await institutions.administered_institutions(page.principal, limit=1, offset=0)
        ).total,
        keys_total=(
            await api_keys.list_api_keys(page.principal, limit=1, offset=0, include_revoked=False)
        ).total,
        bureau=await administration.bureau_files(page.principal),
    )


# --- institutions and assessment bodies -----------------------------------------------------


async def _institutions_page(
    request: Request[Any, Any, Any],
    page: Page,
    *,
    problem: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Template:
    kind = request.query_params.get("kind") or None
    kind = kind if kind in KIND_LABELS else None
    found = await institutions.administered_institutions(
        page.principal, limit=PAGE_SIZE, offset=_offset(request), kind=kind
    )
    divisions = await reference.divisions()
    return _render(
        "institutions",
        page,
        "institutions",
        page=found,
        limit=PAGE_SIZE,
        base_query=f"kind={kind}" if kind else "",
        kind=kind or "",
        divisions=divisions,
        division_names={d.code: d.name for d in divisions},
        this_year=business_today().year,
        message=_message(request),
        problem=problem,
        errors=errors or {},
        typed=typed or {},
    )


@get("/admin/institutions", include_in_schema=False)
async def institutions_list(request: Request[Any, Any, Any]) -> Template:
    return await _institutions_page(request, await bureau_page(request))


def _years(text: str) -> list[int] | None:
    parts = [p for p in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p]
    return [int(p) for p in parts] if all(p.isdigit() and len(p) == 4 for p in parts) else None


@post("/admin/institutions", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def institution_create(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    kinds = pages._values(form, "kinds")
    years = _years(_text(form, "approved_years"))
    if years is None:
        return await _institutions_page(
            request,
            page,
            problem="机构信息有误",
            errors={"approved_years": "请填写年份，如 2025, 2026"},
            typed=form,
        )
    try:
        await institutions.create_institution(
            page.principal,
            institutions.InstitutionInput(
                uscc=_text(form, "uscc"),
                name=_text(form, "name"),
                division_code=_text(form, "division_code"),
                kinds=kinds,
                approved_years=years,
            ),
        )
    except (ValidationFailed, Conflict) as exc:
        errors = field_errors(exc)
        if not _text(form, "division_code"):
            errors["division_code"] = "请选择县区"
        return await _institutions_page(
            request, page, problem="机构信息有误，未登记", errors=errors, typed=form
        )
    return _back("/workbench/admin/institutions", "institution")


@post(
    "/admin/institutions/{institution_id:uuid}/approve",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def institution_approve(
    request: Request[Any, Any, Any], institution_id: uuid.UUID, data: Form
) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    year_text = _text(form, "year")
    key = f"year:{institution_id}"
    if not (year_text.isdigit() and len(year_text) == 4):
        return await _institutions_page(
            request, page, problem="年度有误", errors={key: "请填写年份，如 2025"}, typed=form
        )
    try:
        await institutions.approve_for_year(page.principal, institution_id, int(year_text))
    except (ValidationFailed, Conflict) as exc:
        return await _institutions_page(
            request, page, problem=refusal(exc), errors={key: refusal(exc)}, typed=form
        )
    return _back("/workbench/admin/institutions", "approved")


async def _standing(
    request: Request[Any, Any, Any], institution_id: uuid.UUID, data: dict[str, Any], action: str
) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    change = institutions.suspend_institution if action == "suspend" else institutions.reinstate_institution
    try:
        await change(page.principal, institution_id, _text(form, "reason"))
    except (ValidationFailed, Conflict) as exc:
        return await _institutions_page(
            request,
            page,
            problem=refusal(exc),
            errors={f"{action}:{institution_id}": refusal(exc)},
            typed=form,
        )
    return _back("/workbench/admin/institutions", "suspended" if action == "suspend" else "reinstated")


@post(
    "/admin/institutions/{institution_id:uuid}/suspend",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def institution_suspend(
    request: Request[Any, Any, Any], institution_id: uuid.UUID, data: Form
) -> Response[Any]:
    return await _standing(request, institution_id, data, "suspend")


@post(
    "/admin/institutions/{institution_id:uuid}/reinstate",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
async def institution_reinstate(
    request: Request[Any, Any, Any], institution_id: uuid.UUID, data: Form
) -> Response[Any]:
    return await _standing(request, institution_id, data, "reinstate")


# --- users ----------------------------------------------------------------------------------


async def _users_page(
    request: Request[Any, Any, Any],
    page: Page,
    *,
    problem: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    created: tuple[users.UserView, str] | None = None,
) -> Template:
    found = await users.list_users(page.principal, limit=PAGE_SIZE, offset=_offset(request))
    owners = await institutions.administered_institutions(page.principal, limit=500, offset=0)
    return _render(
        "users",
        page,
        "users",
        page=found,
        limit=PAGE_SIZE,
        base_query="",
        divisions=await reference.divisions(),
        owners=owners.items,
        created=created,
        message=_message(request),
        problem=problem,
        errors=errors or {},
        typed=typed or {},
    )


@get("/admin/users", include_in_schema=False)
async def users_list(request: Request[Any, Any, Any]) -> Template:
    return await _users_page(request, await bureau_page(request))


@post("/admin/users", include_in_schema=False)
async def user_create(request: Request[Any, Any, Any], data: Form) -> Template:
    """The new user and its temporary password, shown on this answer only (never stored,
    never in an address); the user changes it at first sign-in."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    role = _text(form, "role")
    owner = _text(form, "institution_id")
    owner_id = pages._uuid(owner) if owner else None
    if owner and owner_id is None:
        return await _users_page(
            request, page, problem="账号信息有误", errors={"institution_id": "没有这个机构"}, typed=form
        )
    try:
        user, password = await users.create_user_with_temporary_password(
            page.principal,
            users.UserInput(
                username=_text(form, "username"),
                password="",
                role=role,
                institution_id=owner_id,
                division_code=_text(form, "division_code") or None,
                display_name=_text(form, "display_name"),
            ),
        )
    except (ValidationFailed, Conflict) as exc:
        return await _users_page(
            request, page, problem="账号信息有误，未创建", errors=field_errors(exc), typed=form
        )
    return await _users_page(request, page, created=(await users.get_user(page.principal, user.id), password))


async def _activity(
    request: Request[Any, Any, Any], user_id: uuid.UUID, data: dict[str, Any], active: bool
) -> Response[Any]:
    page = await bureau_page(request)
    checked_form(request, page, data)
    try:
        if active:
            await users.reactivate_user(page.principal, user_id)
        else:
            await users.deactivate_user(page.principal, user_id)
    except (ValidationFailed, Conflict) as exc:
        return await _users_page(
            request, page, problem=refusal(exc), errors={f"user:{user_id}": refusal(exc)}
        )
    return _back("/workbench/admin/users", "reactivated" if active else "deactivated")


@post("/admin/users/{user_id:uuid}/deactivate", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def user_deactivate(request: Request[Any, Any, Any], user_id: uuid.UUID, data: Form) -> Response[Any]:
    return await _activity(request, user_id, data, False)


@post("/admin/users/{user_id:uuid}/reactivate", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def user_reactivate(request: Request[Any, Any, Any], user_id: uuid.UUID, data: Form) -> Response[Any]:
    return await _activity(request, user_id, data, True)


# --- API keys -------------------------------------------------------------------------------


@get("/admin/api-keys", include_in_schema=False)
async def keys_list(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    found = await api_keys.list_api_keys(page.principal, limit=PAGE_SIZE, offset=_offset(request))
    return _render(
        "api_keys", page, "api-keys", page=found, limit=PAGE_SIZE, base_query="", message=_message(request)
    )


@post("/admin/api-keys/{key_id:uuid}/revoke", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def key_revoke(request: Request[Any, Any, Any], key_id: uuid.UUID, data: Form) -> Response[Any]:
    page = await bureau_page(request)
    checked_form(request, page, data)
    await api_keys.revoke_api_key(page.principal, key_id)
    return _back("/workbench/admin/api-keys", "revoked")


# --- the bureau's files ---------------------------------------------------------------------


async def _files_page(
    request: Request[Any, Any, Any],
    page: Page,
    *,
    loaded: str = "",
    report: Any = None,
    failed: str = "",
    problem: str = "",
    problems: list[Any] | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Template:
    return _render(
        "files",
        page,
        "files",
        bureau=await administration.bureau_files(page.principal),
        origins=CALENDAR_ORIGINS,
        loaded=loaded,
        loaded_text=LOADED.get(loaded, ""),
        report=report,
        failed=failed,
        problem=problem,
        problems=problems or [],
        errors=errors or {},
        typed={k: v for k, v in (typed or {}).items() if not isinstance(v, UploadFile)},
        message=_message(request),
    )


@get("/admin/files", include_in_schema=False)
async def files_page(request: Request[Any, Any, Any]) -> Template:
    return await _files_page(request, await bureau_page(request))


def _options(form: dict[str, Any], errors: dict[str, str]) -> FileOptions:
    effective: dt.date | None = None
    if text := _text(form, "effective_from"):
        try:
            effective = dt.date.fromisoformat(text)
        except ValueError:
            errors["effective_from"] = "请填写日期，如 2026-01-01"
    year: int | None = None
    if text := _text(form, "year"):
        if text.isdigit() and len(text) == 4:
            year = int(text)
        else:
            errors["year"] = "请填写年份，如 2026"
    return FileOptions(
        name=_text(form, "name"),
        effective_from=effective,
        code=_text(form, "code") or None,
        document=_text(form, "document"),
        source_note=_text(form, "source_note"),
        year=year,
    )


@post("/admin/files/{kind:str}", include_in_schema=False)
async def file_load(request: Request[Any, Any, Any], kind: str, data: Upload) -> Template:
    """A file loaded all or nothing: the report on the page, or every problem by row and
    column (nothing loaded)."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    try:
        which = BureauFile(kind)
    except ValueError:
        raise NotFound("no such file") from None
    upload = form.get("file")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    file_name = upload.filename if isinstance(upload, UploadFile) else ""
    errors: dict[str, str] = {}
    options = _options(form, errors)
    if errors:
        return await _files_page(
            request, page, failed=which.value, problem="填写有误，未导入", errors=errors, typed=form
        )
    try:
        report = await administration.load_bureau_file(page.principal, which, content, file_name, options)
    except (ValidationFailed, Conflict) as exc:
        problems = file_problems(exc)
        located = [p for p in problems if p.row is not None or p.field not in FIELDS]
        return await _files_page(
            request,
            page,
            failed=which.value,
            problem=f"文件有 {len(located)} 处问题，未导入任何内容" if located else "填写有误，未导入",
            problems=located,
            errors={p.field: p.text for p in problems if p.row is None and p.field in FIELDS},
            typed=form,
        )
    return await _files_page(request, page, loaded=which.value, report=report)


FIELDS = ("name", "effective_from", "code", "document", "source_note", "year", "file")
"""The form's own fields: a problem with one is shown beside it, the others in the report."""


@post("/admin/files/confirm", include_in_schema=False)
async def list_confirm(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    try:
        await administration.confirm_list(page.principal, _text(form, "code"), _text(form, "document"))
    except (ValidationFailed, Conflict, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "unknown_priority_list":
            raise
        errors = field_errors(exc) if exc.errors else {"code": "没有这个编号的目录"}
        return await _files_page(
            request,
            page,
            failed="confirm",
            problem="未确认：" + next(iter(errors.values())),
            errors={f"confirm_{k}": v for k, v in errors.items()},
            typed=form,
        )
    return _back("/workbench/admin/files", "confirmed")


ROUTER = Router(
    path="/workbench",
    route_handlers=[
        admin_home,
        institutions_list,
        institution_create,
        institution_approve,
        institution_suspend,
        institution_reinstate,
        users_list,
        user_create,
        user_deactivate,
        user_reactivate,
        keys_list,
        key_revoke,
        files_page,
        list_confirm,
        file_load,
    ],
    exception_handlers=pages.EXCEPTION_HANDLERS,
    include_in_schema=False,
)
"""Registered in :func:`api.app.create_app`."""
