"""Subsidy claims: ``POST /cohorts/{id}/claims`` (202: a worker computes it), ``GET /claims``,
``GET /claims/{id}`` with its lines, traces and flags, ``POST /claims/{id}/withdraw``.

Who: the institution files and withdraws the ``training`` claim of its closed cohort, the
assessment body the ``assessment`` claim of the certificates it issued to the cohort; each
sees its own claims, a county auditor its division's, the city's auditors and admins all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec

from api.idempotency import idempotent
from api.pagination import Limit, Offset, Page
from api.subsidy.evaluate import FlagOut, StepOut
from registry.core.principal import Principal
from registry.enums import (
    CertificateKind,
    ClaimStatus,
    CohortKind,
    LineOutcome,
    StartupCourse,
    SubsidyKind,
)
from registry.subsidy import claims as service
from registry.subsidy import decisions
from registry.subsidy.rules import MAX_DECISION_REASON, Decision, DecisionRequest

MAX_LINES = 500
"""A claim has at most one line per enrolment (a cohort holds at most 500)."""


class ClaimCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: SubsidyKind = SubsidyKind.TRAINING
    """``training`` (the institution that ran the cohort) or ``assessment`` (the assessment
    body, for the certificates it issued to the cohort)."""


class ClaimWithdraw(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=service.MAX_REASON)] = ""


class LineDecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    line_id: uuid.UUID
    decision: Decision
    reason: Annotated[str, msgspec.Meta(max_length=MAX_DECISION_REASON)] = ""
    """Required to reject, and to approve a line flagged for review."""


class DecisionsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    lines: Annotated[list[LineDecisionIn], msgspec.Meta(max_length=MAX_LINES)] = []
    approve_clean: bool = False
    """Also approve every clean line not yet decided."""
    reason: Annotated[str, msgspec.Meta(max_length=MAX_DECISION_REASON)] = ""
    """Kept with the clean lines approved by ``approve_clean`` (optional)."""


class LineRead(msgspec.Struct):
    id: uuid.UUID
    seq: int
    """The line's place in the judging order (certificate date, then ID blind index)."""
    kind: SubsidyKind
    enrolment_id: uuid.UUID
    trainee_id: uuid.UUID
    name: str
    id_number_masked: str
    certificate_id: uuid.UUID | None
    cohort_kind: CohortKind
    occupation_code: str | None
    level: int | None
    certificate_kind: CertificateKind | None
    startup_course: StartupCourse | None
    year: int
    base_fen: int
    uplift_fen: int
    total_fen: int
    outcome: LineOutcome
    flags: list[FlagOut]
    trace: list[StepOut]
    policy_code: str
    decision: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str
    notice_id: uuid.UUID | None
    """The public notice that listed it (last)."""
    grant_id: uuid.UUID | None
    """Its grant in the ledger, once its notice ended."""


class ClaimRead(msgspec.Struct):
    id: uuid.UUID
    cohort_id: uuid.UUID
    cohort_reference: str
    cohort_name: str
    kind: SubsidyKind
    institution_id: uuid.UUID
    institution_name: str
    division_code: str
    status: ClaimStatus
    policy_code: str
    line_count: int
    clean_lines: int
    review_lines: int
    blocked_lines: int
    total_fen: int
    clean_fen: int
    review_fen: int
    blocked_fen: int
    error: str
    filed_by: str
    filed_at: dt.datetime
    computed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None
    withdraw_reason: str
    granted_fen: int
    """What the ledger granted on the claim's lines (at its notices' end)."""
    reversed_fen: int
    """What was clawed back since (a revoked certificate): a positive figure."""
    net_fen: int
    """granted_fen - reversed_fen."""
    paid_fen: int

    @classmethod
    def of(cls, view: service.ClaimView) -> ClaimRead:
        return cls(**_summary(view))


def _summary(view: service.ClaimView) -> dict[str, Any]:
    summary = {
        f.name: getattr(view, f.name) for f in msgspec.structs.fields(ClaimRead) if f.name != "net_fen"
    }
    return {**summary, "net_fen": view.granted_fen - view.reversed_fen}


class ClaimDetail(ClaimRead):
    lines: list[LineRead] = []
    """In judging order; empty until the claim is computed."""

    @classmethod
    def detail(cls, view: service.ClaimView) -> ClaimDetail:
        # Straight from the views' attributes (not through builtins first: a third of the time).
        lines = msgspec.convert(view.lines or [], list[LineRead], from_attributes=True)
        return cls(**_summary(view), lines=lines)


@post(
    "/cohorts/{cohort_id:uuid}/claims",
    status_code=202,
    summary="File a subsidy claim for a closed cohort (a worker computes it)",
    description=(
        "Answers 202 at once with the claim `submitted`; poll `GET /claims/{id}` until it is `computed`. "
        "409 `cohort_not_closed`, 409 `claim_already_open` (one open claim per cohort, kind and claimant: it names the "
        "caller's own open claim), 404 for a cohort the caller may not see, "
        "422 `no_policy_in_force` naming the cohort's end date. Accepts an `Idempotency-Key`."
    ),
    tags=["claims"],
    responses={202: ResponseSpec(ClaimRead, description="Filed; a worker computes it")},
)
async def file_claim(
    request: Request[Any, Any, Any], principal: Principal, cohort_id: uuid.UUID, data: ClaimCreate
) -> Response[ClaimRead]:
    async def run() -> tuple[int, ClaimRead]:
        return 202, ClaimRead.of(await service.file_claim(principal, cohort_id, data.kind))

    return await idempotent(request, principal, run)


class ClaimController(Controller):
    path = "/claims"
    tags = ["claims"]

    @get("/", summary="Claims the caller may see, newest first")
    async def list(
        self,
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
        status: ClaimStatus | None = None,
        kind: SubsidyKind | None = None,
        cohort_id: uuid.UUID | None = None,
    ) -> Page[ClaimRead]:
        page = await service.list_claims(
            principal, limit=limit, offset=offset, status=status, kind=kind, cohort_id=cohort_id
        )
        return Page.of(page, ClaimRead.of)

    @get("/{claim_id:uuid}", summary="One claim with its lines, their amounts, flags and traces")
    async def read(self, principal: Principal, claim_id: uuid.UUID) -> ClaimDetail:
        return ClaimDetail.detail(await service.get_claim(principal, claim_id))

    @post(
        "/{claim_id:uuid}/withdraw",
        status_code=200,
        summary="Withdraw a submitted or computed claim (the claimant); the cohort may be claimed again",
    )
    async def withdraw(
        self, principal: Principal, claim_id: uuid.UUID, data: ClaimWithdraw | None = None
    ) -> ClaimRead:
        reason = "" if data is None else data.reason
        return ClaimRead.of(await service.withdraw_claim(principal, claim_id, reason))

    @post(
        "/{claim_id:uuid}/decisions",
        status_code=200,
        summary="Decide lines (auditor of the claim's scope): approve or reject, or approve every clean line",
        description=(
            "A rejection, and approving a `review` line, need a `reason` (422 `reason_required` naming the line); "
            "approving a `blocked` line is 409 `line_blocked`; a submitted, withdrawn or failed claim is 409 "
            "`claim_not_decidable`; once noticed, only the lines sent back to review are decided again (409 "
            "`line_not_decidable` for the others). Answers the claim with its lines."
        ),
    )
    async def decide(self, principal: Principal, claim_id: uuid.UUID, data: DecisionsIn) -> ClaimDetail:
        batch = decisions.DecisionBatch(
            lines=[DecisionRequest(d.line_id, d.decision, d.reason) for d in data.lines],
            approve_clean=data.approve_clean,
            clean_reason=data.reason,
        )
        return ClaimDetail.detail(await decisions.decide(principal, claim_id, batch))


HANDLERS: list[Any] = [file_claim, ClaimController]
