"""The claims audit after the decisions: the public notice (公示), objections, payment, the
claim's spreadsheet; and the public notice page.

Under ``/api/v1`` (signed in): ``POST /claims/{id}/notice`` (an auditor of the claim's scope,
201), ``GET /claims/{id}/notices``, ``POST /claims/{id}/objections`` (the bureau, while the
notice runs), ``POST /claims/{id}/paid`` (the city's bureau), ``GET /claims/{id}/export.xlsx``
(auditors). Outside it, for anyone: ``GET /notices/{id}`` (a zh-CN page: masked names and ID
numbers, amounts, the working days it runs) and ``GET /notices/{id}/notice.xlsx``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.response import Template

from api.certificates.verify import PAGE_HEADERS, limit_page
from api.downloads import XLSX, download
from api.subsidy.claims import ClaimDetail
from registry.core.principal import Principal
from registry.enums import ClaimStatus
from registry.notices import service
from registry.subsidy.claims import get_claim

MAX_REASON = service.MAX_REASON


class NoticeRead(msgspec.Struct):
    id: uuid.UUID
    claim_id: uuid.UUID
    status: str
    """``running`` or ``closed``."""
    published_on: dt.date
    runs_from: dt.date
    runs_to: dt.date
    """The notice ends at the end of this day (Asia/Shanghai)."""
    days: list[dt.date]
    """The working days it runs (the Chinese calendar: holidays and make-up working days)."""
    published_by: str
    published_at: dt.datetime
    closed_at: dt.datetime | None
    lines: int
    total_fen: int
    granted_lines: int
    returned_lines: int
    public_url: str

    @classmethod
    def of(cls, view: service.NoticeView) -> NoticeRead:
        fields = {
            f.name: getattr(view, f.name) for f in msgspec.structs.fields(cls) if f.name != "public_url"
        }
        return cls(**fields, public_url=f"/notices/{view.id}")


class ObjectionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    line_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON)]


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    paid_on: dt.date
    batch_reference: Annotated[str, msgspec.Meta(max_length=64)]
    """The bureau's payment batch (拨付批次)."""
    line_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] | None = None
    """The lines paid; none given: every granted line not paid yet."""


class PaymentRead(msgspec.Struct):
    claim_id: uuid.UUID
    paid_lines: int
    paid_fen: int
    status: ClaimStatus


@post(
    "/claims/{claim_id:uuid}/notice",
    status_code=201,
    summary="Publish the public notice (公示) of a decided claim's approved lines (5 working days)",
    description=(
        "409 `notice_running` (one notice of a claim at a time), `lines_undecided` while a line is not "
        "decided, `claim_not_decided` (nothing decided to publish), `nothing_to_notice` (no approved line "
        "waiting); "
        "422 `calendar_not_loaded` naming the year to load when the notice would run into it."
    ),
    tags=["claims"],
)
async def publish(principal: Principal, claim_id: uuid.UUID) -> NoticeRead:
    return NoticeRead.of(await service.publish_notice(principal, claim_id))


@get("/claims/{claim_id:uuid}/notices", summary="A claim's notices", tags=["claims"])
async def notices_of(principal: Principal, claim_id: uuid.UUID) -> list[NoticeRead]:
    return [NoticeRead.of(view) for view in await service.notices_of_claim(principal, claim_id)]


@post(
    "/claims/{claim_id:uuid}/objections",
    status_code=200,
    summary="Record an objection to a line on the running notice: the line goes back to review",
    tags=["claims"],
)
async def object_to(principal: Principal, claim_id: uuid.UUID, data: ObjectionIn) -> ClaimDetail:
    await service.record_objection(principal, claim_id, data.line_id, data.reason)
    return ClaimDetail.detail(await get_claim(principal, claim_id))


@post(
    "/claims/{claim_id:uuid}/paid",
    status_code=200,
    summary="Record the payment of granted lines (the city's bureau)",
    description="409 `line_not_granted` for a line that is not granted (or already paid, or clawed back).",
    tags=["claims"],
)
async def paid(principal: Principal, claim_id: uuid.UUID, data: PaymentIn) -> PaymentRead:
    report = await service.record_payment(
        principal,
        claim_id,
        paid_on=data.paid_on,
        batch_reference=data.batch_reference,
        line_ids=data.line_ids,
    )
    return PaymentRead(report.claim_id, report.paid_lines, report.paid_fen, report.status)


@get(
    "/claims/{claim_id:uuid}/export.xlsx",
    summary="The claim's lines as a spreadsheet (auditors; ID numbers masked)",
    tags=["claims"],
    media_type=XLSX,
)
async def export(principal: Principal, claim_id: uuid.UUID) -> Response[bytes]:
    return download(*await service.claim_export(principal, claim_id))


HANDLERS: list[Any] = [publish, notices_of, object_to, paid, export]


# --- the public page (no sign-in) -----------------------------------------------------------


@get(
    "/notices/{notice_id:uuid}",
    summary="The public notice (公示)",
    include_in_schema=False,
    before_request=limit_page,
)
async def notice_page(notice_id: uuid.UUID) -> Template:
    notice = await service.public_notice(notice_id)
    return Template(
        template_name="notice.html",
        context={
            "notice": notice,
            "title": service.notice_heading(notice)[0],
            "runs_from": f"{notice.runs_from.year}年{notice.runs_from.month}月{notice.runs_from.day}日",
            "runs_to": f"{notice.runs_to.year}年{notice.runs_to.month}月{notice.runs_to.day}日",
            "days": "、".join(f"{d.month}月{d.day}日" for d in notice.days),
        },
        headers=PAGE_HEADERS,
    )


@get(
    "/notices/{notice_id:uuid}/notice.xlsx",
    summary="The public notice as a spreadsheet",
    include_in_schema=False,
    before_request=limit_page,
)
async def notice_xlsx(notice_id: uuid.UUID) -> Response[bytes]:
    return download(*await service.public_notice_xlsx(notice_id))


PAGE_HANDLERS: list[Any] = [notice_page, notice_xlsx]
