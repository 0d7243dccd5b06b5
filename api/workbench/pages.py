"""The bureau's workbench (审核工作台, ``/workbench``): the pages auditors and administrators
do their work in (DESIGN.md section 13).

Each handler parses, calls the same service as the API endpoint, and renders; it holds no
rule, no query and no permission check of its own (the services scope everything: what is
out of scope answers 404, as the API does). One browser session for every page
(:mod:`api.dashboard.session`); every form carries the session's CSRF token and is refused
(403, nothing changed) without it or from another origin. A failed action shows what was
wrong on the same page, next to what it belongs to, keeping what the user typed.

- ``GET /workbench``: what waits for this user;
- ``GET /workbench/claims`` (filters, sorts, pages) and ``/workbench/claims.xlsx``;
- ``GET /workbench/claims/{id}``: a claim, its lines with their traces in words, its notices
  and its audit timeline; ``POST .../decisions``, ``GET|POST .../notice`` (a confirmation
  first), ``POST .../objections``, ``POST .../payment``, ``POST .../reveal``.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.dashboard import session
from api.downloads import download
from api.labels import FLAG_LABELS
from api.web import password_gate
from api.web.security import PAGE_HEADERS, foreign_origin
from api.web.trace import explanations, readable
from registry.accounts import users
from registry.audit.queries import AuditFilters, list_events
from registry.core.clock import business_today
from registry.core.errors import Conflict, NotFound, PermissionDenied, RegistryError, ValidationFailed
from registry.core.principal import Principal
from registry.enums import ClaimStatus, Role, SubsidyKind
from registry.notices import service as notices
from registry.people import service as people
from registry.reference import service as reference
from registry.subsidy import claims, decisions
from registry.subsidy.claims import ClaimFilters
from registry.subsidy.overview import audit_overview
from registry.subsidy.rules import Decision, DecisionRequest

ROLES = (Role.AUDITOR, Role.ADMIN)
PAGE_SIZE = 50
LINES_PER_PAGE = 100
"""A claim's lines a page shows (filters and "approve every clean line" work on them all)."""
REFUSED_FORM = "表单已过期或不是从本站提交的，未做任何更改。请刷新页面后重试。"
COMMON_REASONS = (
    "材料齐全，核实无误",
    "经电话核实本人参训",
    "证书与班次信息一致",
    "出勤记录不实",
    "证书无效或与班次不符",
    "重复申领",
    "超过申领期限",
)
"""The reasons an auditor picks from (and free text beside)."""
LINE_FILTERS = {
    "all": "全部",
    "review": "需复核",
    "blocked": "不予支付",
    "flagged": "有标记",
    "undecided": "待审核",
}
SORTS = {"filed": "最新申报", "amount": "金额从高到低", "waiting": "等待最久"}


class SignInFirst(Exception):
    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class FormRefused(Exception):
    """A form without this session's CSRF token, or from another origin: 403, nothing changed."""


@dataclass(frozen=True)
class Page:
    """Who is looking: the session (its CSRF token for every form) and the principal."""

    current: session.Session
    county: str = ""
    """A county auditor's county, by name."""

    @property
    def principal(self) -> Principal:
        return self.current.principal

    def context(self, here: str, **more: Any) -> dict[str, Any]:
        who = "人社局管理员" if self.principal.role is Role.ADMIN else "审核员"
        if self.principal.division_code:
            who += f"（{self.county or self.principal.division_code}）"
        return {
            "csrf": self.current.csrf,
            "here": here,
            "who": who,
            "is_admin": self.principal.role is Role.ADMIN,
            **more,
        }


async def bureau_page(request: Request[Any, Any, Any]) -> Page:
    """The signed-in bureau user, or: sign in first (a redirect back here), or 404 for a user
    who is not the bureau's (an institution's session never sees these pages)."""
    current = await session.current(request)
    if current is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(target)
    if current.principal.role not in ROLES:
        raise NotFound("no such page")
    password_gate.check(current, request.url.path)
    code = current.principal.division_code
    return Page(current, county=(await reference.division_name(code)) if code else "")


def checked_form(request: Request[Any, Any, Any], page: Page, data: dict[str, Any]) -> dict[str, Any]:
    if foreign_origin(request) or not session.same(str(data.get("csrf") or ""), page.current.csrf):
        raise FormRefused()
    return data


def _page(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(template_name=name, context=context, headers=PAGE_HEADERS, status_code=status)


# --- errors as pages ------------------------------------------------------------------------


def _sign_in_first(request: Request[Any, Any, Any], exc: SignInFirst) -> Response[Any]:
    target = urllib.parse.quote(exc.target, safe="/")
    return Redirect(
        path=f"/dashboard/sign-in?next={target}", status_code=HTTP_303_SEE_OTHER, headers=PAGE_HEADERS
    )


def _error_page(status: int, title: str, text: str) -> Template:
    return _page("workbench/error.html", {"title": title, "text": text}, status)


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(404, "页面不存在", "没有找到这个页面，或者它不在您的权限范围内。")


def _refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(403, "操作未执行", REFUSED_FORM)


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(403, "没有权限", "您的账号不能执行这项操作。")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    SignInFirst: _sign_in_first,
    NotFound: _not_found,
    FormRefused: _refused,
    PermissionDenied: _forbidden,
}

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _values(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _messages(exc: RegistryError) -> dict[str, str]:
    return {error.field: error.message for error in exc.errors} if getattr(exc, "errors", None) else {}


# --- home -----------------------------------------------------------------------------------

WAITING = (
    ClaimStatus.COMPUTED,
    ClaimStatus.IN_REVIEW,
    ClaimStatus.DECIDED,
    ClaimStatus.NOTICED,
    ClaimStatus.PAYABLE,
)


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    principal = page.principal
    overview = await audit_overview(principal, risk=False)
    today = business_today()
    oldest: dict[str, int] = {}
    for status in WAITING:
        first = await claims.list_claims(
            principal, limit=1, offset=0, status=status, filters=ClaimFilters(sort="waiting")
        )
        if first.items and first.items[0].status_since is not None:
            oldest[status.value] = (today - first.items[0].status_since.date()).days
    running = await notices.running_notices(principal)
    soon = await notices.ending_soon(today)
    payable = await claims.list_claims(principal, limit=10, offset=0, status=ClaimStatus.PAYABLE)
    return _page(
        "workbench/home.html",
        page.context(
            "home",
            steps=[s for s in overview.steps if s.claims],
            waiting={s.value for s in WAITING},
            oldest=oldest,
            running=running,
            ending_soon=[n for n in running if n.runs_to <= soon],
            payable=payable,
            today=today,
        ),
    )


# --- the list of claims ---------------------------------------------------------------------


@dataclass
class ListQuery:
    status: ClaimStatus | None = None
    kind: SubsidyKind | None = None
    filters: ClaimFilters = field(default_factory=ClaimFilters)
    offset: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)


def _list_query(request: Request[Any, Any, Any]) -> ListQuery:
    """The list's filters from the query string; a bad value is named beside its field and
    left out (the list shows without it)."""
    q = {k: v.strip() for k, v in request.query_params.items() if isinstance(v, str) and v.strip()}
    errors: dict[str, str] = {}

    def choice(name: str, kind: Any) -> Any:
        if name not in q:
            return None
        try:
            return kind(q[name])
        except ValueError:
            errors[name] = "不是可选的值"
            return None

    def integer(name: str, low: int, high: int) -> int | None:
        if name not in q:
            return None
        try:
            value = int(q[name])
        except ValueError:
            errors[name] = "请填写整数"
            return None
        if not low <= value <= high:
            errors[name] = f"应在 {low} 到 {high} 之间"
            return None
        return value

    def money(name: str) -> int | None:
        if name not in q:
            return None
        try:
            yuan = float(q[name].replace(",", "").replace("¥", ""))
        except ValueError:
            errors[name] = "请填写金额（元）"
            return None
        if not 0 <= yuan <= 1e10:
            errors[name] = "金额超出范围"
            return None
        return round(yuan * 100)

    institution = None
    if "institution" in q:
        institution = _uuid(q["institution"])
        if institution is None:
            errors["institution"] = "机构编号格式不对"
    sort = q.get("sort", "filed")
    if sort not in SORTS:
        errors["sort"] = "不是可选的排序"
        sort = "filed"
    division = q.get("county")
    if division is not None and not (len(division) == 6 and division.isdigit()):
        errors["county"] = "请选择县区"
        division = None
    flag = q.get("flag")
    if flag is not None and not flag.replace("_", "").isalpha():
        errors["flag"] = "不是可选的标记"
        flag = None
    return ListQuery(
        status=choice("status", ClaimStatus),
        kind=choice("kind", SubsidyKind),
        filters=ClaimFilters(
            division=division,
            institution_id=institution,
            flag=flag,
            year=integer("year", 2000, 2100),
            min_fen=money("min"),
            max_fen=money("max"),
            sort=sort,
        ),
        offset=integer("offset", 0, 10_000_000) or 0,
        errors=errors,
        given=q,
    )


@get("/claims", include_in_schema=False)
async def claims_list(request: Request[Any, Any, Any]) -> Template:
    page = await bureau_page(request)
    query = _list_query(request)
    found = await claims.list_claims(
        page.principal,
        limit=PAGE_SIZE,
        offset=query.offset,
        status=query.status,
        kind=query.kind,
        filters=query.filters,
    )
    base = urllib.parse.urlencode({k: v for k, v in query.given.items() if k != "offset"})
    return _page(
        "workbench/claims.html",
        page.context(
            "claims",
            page=found,
            limit=PAGE_SIZE,
            base_query=base,
            given=query.given,
            errors=query.errors,
            statuses=list(ClaimStatus),
            sorts=SORTS,
            flags=FLAG_LABELS,
            divisions=await reference.divisions(),
            today=business_today(),
        ),
    )


@get("/claims.xlsx", include_in_schema=False)
async def claims_xlsx(request: Request[Any, Any, Any]) -> Response[bytes]:
    page = await bureau_page(request)
    query = _list_query(request)
    return download(*await notices.claims_list_export(page.principal, query.filters, status=query.status))


# --- one claim ------------------------------------------------------------------------------


@get("/claims/{claim_id:uuid}/export.xlsx", include_in_schema=False)
async def claim_xlsx(request: Request[Any, Any, Any], claim_id: uuid.UUID) -> Response[bytes]:
    """The claim's spreadsheet, as ``GET /api/v1/claims/{id}/export.xlsx`` gives it."""
    page = await bureau_page(request)
    return download(*await notices.claim_export(page.principal, claim_id))


def _shown(lines: list[claims.LineView], which: str) -> list[claims.LineView]:
    if which == "review":
        return [line for line in lines if line.outcome == "review"]
    if which == "blocked":
        return [line for line in lines if line.outcome == "blocked"]
    if which == "flagged":
        return [line for line in lines if line.flags]
    if which == "undecided":
        return [line for line in lines if line.decision is None and line.grant_id is None]
    return lines


async def _claim_page(
    request: Request[Any, Any, Any],
    page: Page,
    claim_id: uuid.UUID,
    *,
    message: str = "",
    problem: str = "",
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    revealed: dict[str, str] | None = None,
) -> Template:
    """The claim's page; after a failed action the same page (200: the browser shows it as a
    page, not as an error) with what was wrong beside what it belongs to and what was typed."""
    # Only the flagged lines' traces (what their flags say); a line's whole trace is opened
    # on demand (line_trace): a 500-line claim is not 500 traces of HTML.
    view = await claims.get_claim(page.principal, claim_id, traces=False)
    message = message or DONE.get(request.query_params.get("done", ""), "")
    which = request.query_params.get("lines", "all")
    which = which if which in LINE_FILTERS else "all"
    lines = view.lines or []
    matching = _shown(lines, which)
    try:
        offset = max(int(request.query_params.get("offset", "0")), 0)
    except ValueError:
        offset = 0
    shown = matching[offset : offset + LINES_PER_PAGE]
    flagged = [line.id for line in shown if line.flags]
    traces = await claims.traces_of(page.principal, claim_id, flagged) if flagged else {}
    events = await list_events(
        page.principal, AuditFilters(entity_type="subsidy_claim", entity_id=str(claim_id)), 500, 0
    )
    return _page(
        "workbench/claim.html",
        page.context(
            "claims",
            claim=view,
            lines=shown,
            counts={key: len(_shown(lines, key)) for key in LINE_FILTERS},
            which=which,
            line_filters=LINE_FILTERS,
            explained={line_id: explanations(trace) for line_id, trace in traces.items()},
            lines_page={"total": len(matching), "offset": offset, "limit": LINES_PER_PAGE},
            notices=await notices.notices_of_claim(page.principal, claim_id),
            events=events.items,
            actors=await users.actor_names([e.actor for e in events.items]),
            reasons=COMMON_REASONS,
            message=message,
            problem=problem,
            errors=errors or {},
            typed=typed or {},
            revealed=revealed or {},
            payable=[
                line for line in lines if line.grant_id is not None and not line.paid and not line.clawed_back
            ],
            on_notice=[
                line
                for line in lines
                if line.notice_id is not None and line.decision == "approved" and line.grant_id is None
            ],
            today=business_today(),
        ),
    )


@get("/claims/{claim_id:uuid}", include_in_schema=False)
async def claim_detail(request: Request[Any, Any, Any], claim_id: uuid.UUID) -> Template:
    page = await bureau_page(request)
    return await _claim_page(request, page, claim_id)


DONE = {
    "decided": "审核意见已保存",
    "published": "公示已发布",
    "objected": "异议已记录，该人员已退回复核",
    "paid": "拨付已记录",
}
"""What the page says after an action (by key: the address never carries free text)."""


@get("/claims/{claim_id:uuid}/lines/{line_id:uuid}/trace", include_in_schema=False)
async def line_trace(request: Request[Any, Any, Any], claim_id: uuid.UUID, line_id: uuid.UUID) -> Template:
    """One line's trace in words: the part the claim's page loads into the line when it is
    opened (htmx), or a page of its own (without script)."""
    page = await bureau_page(request)
    view = await claims.get_claim(page.principal, claim_id, traces=[line_id])
    line = next((line for line in view.lines or [] if line.id == line_id), None)
    if line is None:
        raise NotFound("no such line")
    partial = request.headers.get("hx-request") == "true"
    return _page(
        "workbench/trace_rows.html" if partial else "workbench/trace.html",
        page.context("claims", claim=view, line=line, rows=readable(line.trace)),
    )


def _back(claim_id: uuid.UUID, done: str) -> Redirect:
    return Redirect(
        path=f"/workbench/claims/{claim_id}?done={done}",
        status_code=HTTP_303_SEE_OTHER,
        headers=PAGE_HEADERS,
    )


async def _failed(
    request: Request[Any, Any, Any],
    page: Page,
    claim_id: uuid.UUID,
    exc: RegistryError,
    typed: dict[str, Any],
) -> Template:
    return await _claim_page(request, page, claim_id, problem=str(exc), errors=_messages(exc), typed=typed)


@post("/claims/{claim_id:uuid}/decisions", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def decide(request: Request[Any, Any, Any], claim_id: uuid.UUID, data: Form) -> Response[Any]:
    """``approve_clean=1`` approves every clean line; ``decision:<line id>`` (approved or
    rejected) with ``reason:<line id>`` (a picked reason and/or free text) decides lines."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    requests: list[DecisionRequest] = []
    line_fields: dict[str, str] = {}
    for key, value in form.items():
        if not key.startswith("decision:") or not value:
            continue
        line_id = _uuid(key.split(":", 1)[1])
        if line_id is None or value not in ("approved", "rejected"):
            continue
        reason = str(form.get(f"reason:{line_id}") or "").strip()
        line_fields[f"lines[{len(requests)}]"] = str(line_id)
        requests.append(DecisionRequest(line_id, Decision(value), reason))
    batch = decisions.DecisionBatch(lines=requests, approve_clean=bool(form.get("approve_clean")))
    try:
        await decisions.decide(page.principal, claim_id, batch)
    except (ValidationFailed, Conflict) as exc:
        # The errors name lines[i]...: shown beside the line they belong to.
        errors = {}
        for error in exc.errors:
            prefix = error.field.split(".", 1)[0]
            errors[line_fields.get(prefix, error.field)] = error.message
        return await _claim_page(
            request,
            page,
            claim_id,
            problem=str(exc),
            errors=errors,
            typed=form,
        )
    return _back(claim_id, "decided")


@get("/claims/{claim_id:uuid}/notice", include_in_schema=False)
async def notice_confirm(request: Request[Any, Any, Any], claim_id: uuid.UUID) -> Template:
    page = await bureau_page(request)
    try:
        preview = await notices.notice_preview(page.principal, claim_id)
    except (ValidationFailed, Conflict) as exc:
        return await _failed(request, page, claim_id, exc, {})
    view = await claims.get_claim(page.principal, claim_id)
    return _page("workbench/notice_confirm.html", page.context("claims", claim=view, preview=preview))


@post("/claims/{claim_id:uuid}/notice", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def publish(request: Request[Any, Any, Any], claim_id: uuid.UUID, data: Form) -> Response[Any]:
    page = await bureau_page(request)
    checked_form(request, page, data)
    try:
        await notices.publish_notice(page.principal, claim_id)
    except (ValidationFailed, Conflict) as exc:
        return await _failed(request, page, claim_id, exc, {})
    return _back(claim_id, "published")


@post("/claims/{claim_id:uuid}/objections", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def object_to(request: Request[Any, Any, Any], claim_id: uuid.UUID, data: Form) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    view = await claims.get_claim(page.principal, claim_id)
    seq_text = str(form.get("seq") or "").strip()
    line = next((line for line in view.lines or [] if str(line.seq) == seq_text), None)
    if line is None:
        return await _claim_page(
            request,
            page,
            claim_id,
            problem="请填写公示名单上的序号",
            errors={"objection_seq": f"序号 {seq_text or '（空）'} 不在这份申请中"},
            typed=form,
        )
    try:
        await notices.record_objection(page.principal, claim_id, line.id, str(form.get("reason") or ""))
    except (ValidationFailed, Conflict) as exc:
        messages = _messages(exc)
        errors = (
            {"objection_reason": messages.get("reason", "")}
            if "reason" in messages
            else {"objection_seq": str(exc)}
        )
        return await _claim_page(request, page, claim_id, problem=str(exc), errors=errors, typed=form)
    return _back(claim_id, "objected")


@post("/claims/{claim_id:uuid}/payment", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def record_payment(request: Request[Any, Any, Any], claim_id: uuid.UUID, data: Form) -> Response[Any]:
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    errors: dict[str, str] = {}
    try:
        paid_on = dt.date.fromisoformat(str(form.get("paid_on") or ""))
    except ValueError:
        errors["paid_on"] = "请填写拨付日期"
    line_ids = [u for u in (_uuid(v) for v in _values(form, "line")) if u is not None]
    if errors:
        return await _claim_page(request, page, claim_id, problem="拨付信息不完整", errors=errors, typed=form)
    try:
        await notices.record_payment(
            page.principal,
            claim_id,
            paid_on=paid_on,
            batch_reference=str(form.get("batch_reference") or ""),
            line_ids=line_ids or None,
        )
    except (ValidationFailed, Conflict) as exc:
        return await _failed(request, page, claim_id, exc, form)
    return _back(claim_id, "paid")


@post("/claims/{claim_id:uuid}/reveal", include_in_schema=False)
async def reveal(request: Request[Any, Any, Any], claim_id: uuid.UUID, data: Form) -> Template:
    """One person's full ID number, with a reason (an audit event), shown once on this answer."""
    page = await bureau_page(request)
    form = checked_form(request, page, data)
    view = await claims.get_claim(page.principal, claim_id)
    trainee = _uuid(str(form.get("trainee") or ""))
    if trainee is None or all(line.trainee_id != trainee for line in view.lines or []):
        raise NotFound("no such person on this claim")
    try:
        number = await people.reveal_id_number(
            page.principal, request.app.state.vault, trainee, str(form.get("reason") or "").strip()
        )
    except ValidationFailed as exc:
        return await _claim_page(
            request,
            page,
            claim_id,
            problem=str(exc),
            errors={f"reveal:{trainee}": "请说明查看原因"},
            typed=form,
        )
    return await _claim_page(
        request,
        page,
        claim_id,
        revealed={str(trainee): number},
        message="完整身份证号已显示（已记入审计日志）",
    )


ROUTER = Router(
    path="/workbench",
    route_handlers=[
        line_trace,
        claim_xlsx,
        home,
        claims_list,
        claims_xlsx,
        claim_detail,
        decide,
        notice_confirm,
        publish,
        object_to,
        record_payment,
        reveal,
    ],
    exception_handlers=EXCEPTION_HANDLERS,
    include_in_schema=False,
)
