"""Public notices (公示) of decided claims, their end (the grants), objections and payment.

DESIGN.md section 6:

- :func:`publish_notice` (an auditor of the claim's scope, once every line is decided): the
  approved lines not yet granted go on a notice that runs 5 working days on the Chinese
  calendar (:func:`registry.notices.calendar.notice_period`), from the first working day
  after the day it is published; a year the calendar does not cover is refused (422
  ``calendar_not_loaded``, naming the year). The claim becomes ``noticed``. The public page
  ``GET /notices/{id}`` shows masked names and ID numbers, amounts and the days it runs.
- :func:`record_objection` (the bureau, while the notice runs): the line goes back to review
  (its decision is cleared, an ``OBJECTION`` flag says why) and is not granted at the end.
- :func:`close_notice` / :func:`close_due_notices` (beat's ``registry.notices.close_due``,
  ``registry notices close-due``): after the last day, in ONE transaction per notice, in the
  lock order of money (the certificates, the claim, the people's ledger locks): each
  certificate's status read again under its lock, then the approved lines become grants,
  re-judged (every slot, a higher level, the cap: :func:`registry.ledger.rules.batch_conflicts`);
  a line that no longer fits goes back to review with its flag. Run twice, or after a crash
  half-way, it grants each line once (the notice's status changes in the same transaction).
- :func:`record_payment` (the city's bureau): granted lines are paid (date, batch
  reference) under the people's ledger locks; a line not granted is 409, a date before its
  grant or a line named twice 422; the database refuses paying a reversed grant.
- :func:`after_certificate_change` (called by the certificate service in its own unit of
  work, the certificate locked): every line of it not granted yet is blocked
  (``CERT_NOT_VALID``, an approval cleared; suspended or revoked) or freed (reinstated); a
  certificate revoked after its grant writes a reversing grant (a clawback) and flags the
  line ``CLAWED_BACK``.

A claim's status follows from its lines through one function
(:func:`registry.subsidy.claims.settle_status`, :func:`registry.subsidy.rules.next_claim_status`).

Every transition is an audit event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from registry.core.clock import BUSINESS_TZ, business_today
from registry.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    RegistryError,
    ValidationFailed,
)
from registry.core.paging import Page
from registry.core.principal import Principal
from registry.core.tenancy import bureau_scope, visible_claims_sql
from registry.core.text import visible_text
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import (
    CLAIM_STATUS_NAMES,
    CertificateKind,
    CertificateStatus,
    ClaimStatus,
    CohortKind,
    Role,
    StartupCourse,
    SubsidyKind,
)
from registry.ledger import queries as ledger
from registry.ledger.rules import NewGrant
from registry.notices import export, queries
from registry.notices.calendar import notice_period, working_days
from registry.people.rules.personal import mask_name
from registry.subsidy import queries as claims_queries
from registry.subsidy.claims import settle_status
from registry.subsidy.rules import ClaimEvent

log = logging.getLogger(__name__)

NOTICE_DAYS = 5
MAX_REASON = 2000
RUNNING, CLOSED = "running", "closed"
PUBLISHABLE = frozenset({ClaimStatus.DECIDED, ClaimStatus.PAYABLE, ClaimStatus.PAID})
"""A claim whose every line is decided; a payable or paid one may notice lines decided again."""


def _conflict_flag(code: str, line: dict[str, Any]) -> str:
    """The rule a ledger conflict at the notice's end breaks, as the line's flag code."""
    if code == "annual_cap":
        return "ANNUAL_CAP"
    if code == "lower_level":
        return "LOWER_LEVEL"
    if code == "cert_not_valid":
        return "CERT_NOT_VALID"
    return "STARTUP_REPEAT" if line["startup_course"] is not None else "SAME_LEVEL_REPEAT"


def _reason(reason: str, field: str = "reason") -> str:
    reason = visible_text(reason)
    if not reason:
        raise ValidationFailed(
            "a reason is required", errors=[FieldError(field, "reason_required", "give a reason")]
        )
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            "the reason is too long",
            errors=[FieldError(field, "too_long", f"at most {MAX_REASON} characters")],
        )
    return reason


def _scope(principal: Principal) -> tuple[str, list[Any]]:
    return visible_claims_sql(principal)


async def _auditor_claim(uow: UnitOfWork, principal: Principal, claim_id: uuid.UUID) -> dict[str, Any]:
    """The claim, locked, for an auditor whose scope holds it (an institution or assessment
    body: 404; an administrator: 403)."""
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        raise NotFound("no such claim")
    if principal.role is not Role.AUDITOR:
        raise PermissionDenied("the bureau's auditors publish notices and record objections")
    if await claims_queries.claim_row(_scope(principal), claim_id) is None:
        raise NotFound("no such claim")
    claim = await claims_queries.lock_claim(uow.conn, claim_id)
    assert claim is not None
    return claim


def _bureau(principal: Principal) -> None:
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        raise NotFound("no such claim")
    if not (principal.is_admin or (principal.is_auditor and principal.division_code is None)):
        raise PermissionDenied("the city's bureau records payments")


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeView:
    id: uuid.UUID
    claim_id: uuid.UUID
    status: str
    published_on: dt.date
    runs_from: dt.date
    runs_to: dt.date
    days: list[dt.date]
    published_by: str
    published_at: dt.datetime
    closed_at: dt.datetime | None
    lines: int
    total_fen: int
    granted_lines: int
    returned_lines: int


def _notice_view(row: dict[str, Any]) -> NoticeView:
    days = row["days"]
    if isinstance(days, str):
        days = json.loads(days)
    return NoticeView(
        id=row["id"],
        claim_id=row["claim_id"],
        status=row["status"],
        published_on=row["published_on"],
        runs_from=row["runs_from"],
        runs_to=row["runs_to"],
        days=[dt.date.fromisoformat(d) for d in days],
        published_by=row["published_by"],
        published_at=row["published_at"],
        closed_at=row["closed_at"],
        lines=int(row["lines"]),
        total_fen=int(row["total_fen"]),
        granted_lines=row["granted_lines"],
        returned_lines=row["returned_lines"],
    )


@dataclass(frozen=True)
class PublicLine:
    seq: int
    name: str
    """Masked: 张*."""
    id_number: str
    """Masked: 410305********123X."""
    subject: str
    """The occupation (code and name) or the startup course."""
    level: int | None
    certificate_number: str | None
    """Masked when it is an ID number."""
    total_fen: int


@dataclass(frozen=True)
class PublicNotice:
    id: uuid.UUID
    status: str
    kind: SubsidyKind
    institution_name: str
    cohort_name: str
    cohort_reference: str
    division_name: str
    published_on: dt.date
    runs_from: dt.date
    runs_to: dt.date
    days: list[dt.date]
    lines: list[PublicLine]
    total_fen: int


# ---------------------------------------------------------------------------
# Publishing, objections
# ---------------------------------------------------------------------------


async def publish_notice(
    principal: Principal, claim_id: uuid.UUID, today: dt.date | None = None
) -> NoticeView:
    """Publish the notice of a decided claim's approved lines (see the module's documentation)."""
    today = today or business_today()
    async with unit_of_work(principal) as uow:
        claim = await _auditor_claim(uow, principal, claim_id)
        status = ClaimStatus(claim["status"])
        if await queries.running_notice_of(uow.conn, claim_id) is not None:
            raise Conflict("a notice of this claim is running; wait for its end", code="notice_running")
        undecided = await claims_queries.undecided_lines(uow.conn, claim_id)
        if status not in PUBLISHABLE or undecided:
            if status in (ClaimStatus.COMPUTED, ClaimStatus.IN_REVIEW) or undecided:
                raise Conflict(
                    f"{undecided} line(s) are not decided yet: decide every line before the notice",
                    code="lines_undecided",
                )
            raise Conflict(
                f"the claim is {status.value}: there is nothing to publish", code="claim_not_decided"
            )
        lines = await queries.lines_to_notice(uow.conn, claim_id)
        if not lines:
            raise Conflict("no approved line is waiting for a notice", code="nothing_to_notice")
        days = await notice_period(today, uow.conn)
        notice_id = uuid.uuid4()
        now = dt.datetime.now(dt.UTC)
        await queries.insert_notice(
            uow.conn,
            notice_id=notice_id,
            claim_id=claim_id,
            published_on=today,
            days=days,
            actor=principal.actor,
            at=now,
            line_ids=lines,
        )
        noticed = await settle_status(uow.conn, claim_id, status, ClaimEvent.PUBLISH)
        await uow.audit(
            "subsidy_claim.notice",
            "subsidy_claim",
            claim_id,
            before={"status": status.value},
            after={
                "status": noticed.value,
                "notice_id": str(notice_id),
                "published_on": today.isoformat(),
                "runs": [days[0].isoformat(), days[-1].isoformat()],
                "lines": len(lines),
            },
        )
        row = await queries.notice_row(uow.conn, notice_id)
    assert row is not None
    return _notice_view(row)


async def record_objection(
    principal: Principal, claim_id: uuid.UUID, line_id: uuid.UUID, reason: str
) -> None:
    """An objection to a line on a running notice (recorded by the bureau): the line goes
    back to review and is not granted at the notice's end."""
    reason = _reason(reason)
    async with unit_of_work(principal) as uow:
        claim = await _auditor_claim(uow, principal, claim_id)
        notice = await queries.running_notice_of(uow.conn, claim_id)
        if notice is None:
            raise Conflict(
                "the claim has no running notice: objections are recorded while it runs",
                code="no_running_notice",
            )
        changed = await queries.return_to_review(
            uow.conn,
            [line_id],
            claim_id=claim_id,
            notice_id=notice,
            flag={
                "code": "OBJECTION",
                "severity": "review",
                "message": f"objection during the notice: {reason}",
            },
        )
        if not changed:
            raise ValidationFailed(
                "the line is not on this claim's running notice",
                errors=[FieldError("line_id", "not_on_notice", "not an approved line of the running notice")],
            )
        await settle_status(uow.conn, claim_id, ClaimStatus(claim["status"]), ClaimEvent.OBJECT)
        await uow.audit(
            "subsidy_claim.objection",
            "subsidy_claim",
            claim_id,
            after={"line_id": str(line_id), "notice_id": str(notice), "reason": reason},
        )


# ---------------------------------------------------------------------------
# The notice's end: grants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseReport:
    notice_id: uuid.UUID
    claim_id: uuid.UUID
    granted: int
    returned: int
    granted_fen: int


def _grant_row(line: dict[str, Any], actor: str) -> NewGrant:
    def enum(kind: Any, value: Any) -> Any:
        return None if value is None else kind(value)

    return NewGrant(
        trainee_id=line["trainee_id"],
        kind=SubsidyKind(line["kind"]),
        cohort_kind=CohortKind(line["cohort_kind"]),
        year=line["year"],
        amount_fen=line["total_fen"],
        policy_code=line["policy_code"],
        granted_by=actor,
        occupation_code=line["occupation_code"],
        level=line["level"],
        certificate_kind=enum(CertificateKind, line["certificate_kind"]),
        certificate_id=line["certificate_id"],
        startup_course=enum(StartupCourse, line["startup_course"]),
        claim_id=line["claim_id"],
        line_id=line["id"],
        reason=f"notice {line['notice_id']} ended",
        is_renewal=bool(line["is_renewal"]),
    )


async def close_notice(
    principal: Principal, notice_id: uuid.UUID, today: dt.date | None = None
) -> CloseReport | None:
    """End one notice whose last day has passed: its approved lines become grants, all in one
    transaction. None when it is already closed (a second run changes nothing)."""
    today = today or business_today()
    async with unit_of_work(principal) as uow:
        notice = await queries.lock_notice(uow.conn, notice_id)
        if notice is None:
            raise NotFound("no such notice")
        if notice["status"] != RUNNING:
            return None
        if notice["runs_to"] >= today:
            raise Conflict(
                f"the notice runs until the end of {notice['runs_to'].isoformat()}", code="notice_running"
            )
        claim_id = notice["claim_id"]
        # The lock order of money: the certificates, the claim, then the people's ledger
        # locks. A status change of a certificate locks it for update first: it committed
        # before (its lines are back to review, re-read below) or it waits for this commit
        # (and then claws back what this grants).
        first = await queries.approved_lines_of_notice(uow.conn, notice_id)
        certificates = await queries.lock_certificates(
            uow.conn, [line["certificate_id"] for line in first if line["certificate_id"] is not None]
        )
        claim = await claims_queries.lock_claim(uow.conn, claim_id)
        assert claim is not None
        candidates = await queries.approved_lines_of_notice(uow.conn, notice_id)
        invalid = [
            line
            for line in candidates
            if line["certificate_id"] is not None
            and certificates.get(line["certificate_id"], "valid") != CertificateStatus.VALID.value
        ]
        lines = [line for line in candidates if line not in invalid]
        # Every repeat (a slot of the person's, a higher level), the cap and the line itself,
        # judged again under the people's ledger locks (registry.ledger.rules.batch_conflicts).
        rows = [_grant_row(line, principal.actor) for line in lines]
        granted, conflicts = await ledger.grant_what_fits(uow.conn, rows)
        returned = [(lines[e.row], e.code, e.message) for e in conflicts if e.row is not None]
        returned += [
            (line, "cert_not_valid", f"the certificate is {certificates[line['certificate_id']]}")
            for line in invalid
        ]
        marked = await queries.mark_granted(
            uow.conn, {lines[i]["id"]: grant_id for i, grant_id in granted.items()}
        )
        if marked != len(granted):
            raise Conflict("a line changed while its notice ended; run it again", code="notice_changed")
        for line, code, message in returned:
            await queries.return_to_review(
                uow.conn,
                [line["id"]],
                claim_id=claim_id,
                notice_id=notice_id,
                flag={
                    "code": _conflict_flag(code, line),
                    "severity": "block",
                    "message": f"at the notice's end: {message.split(': ', 1)[-1]}",
                },
                blocked=True,
            )
        granted_fen = sum(lines[i]["total_fen"] for i in granted)
        await queries.store_closed(uow.conn, notice_id, principal.actor, len(granted), len(returned))
        status = await settle_status(uow.conn, claim_id, ClaimStatus(claim["status"]), ClaimEvent.NOTICE_END)
        await uow.audit(
            "subsidy_claim.grant",
            "subsidy_claim",
            claim_id,
            before={"status": claim["status"]},
            after={
                "status": status.value,
                "notice_id": str(notice_id),
                "granted_lines": len(granted),
                "granted_fen": granted_fen,
                "returned_to_review": [str(line["id"]) for line, _, _ in returned],
            },
        )
    return CloseReport(notice_id, claim_id, len(granted), len(returned), granted_fen)


async def close_due_notices(principal: Principal, today: dt.date | None = None) -> list[CloseReport]:
    """End every running notice whose last day is before ``today`` (each in its own
    transaction; beat's ``registry.notices.close_due`` and ``registry notices close-due``)."""
    today = today or business_today()
    reports = []
    for notice_id in await queries.due_notices(today):
        try:
            report = await close_notice(principal, notice_id, today)
        except RegistryError as exc:
            # One notice that cannot end (its transaction rolled back) never keeps the others
            # running; it is tried again at the next run, and the log says why.
            log.error("notice %s could not be ended: %s", notice_id, exc)
            continue
        if report is not None:
            reports.append(report)
    return reports


# ---------------------------------------------------------------------------
# Payment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentReport:
    claim_id: uuid.UUID
    paid_lines: int
    paid_fen: int
    status: ClaimStatus


async def record_payment(
    principal: Principal,
    claim_id: uuid.UUID,
    *,
    paid_on: dt.date,
    batch_reference: str,
    line_ids: list[uuid.UUID] | None = None,
) -> PaymentReport:
    """Mark granted lines paid (all the claim's unpaid grants when ``line_ids`` is None)."""
    _bureau(principal)
    reference = visible_text(batch_reference)
    if not 1 <= len(reference) <= 64:
        raise ValidationFailed(
            "the payment batch reference is required",
            errors=[FieldError("batch_reference", "required", "1-64 characters: the bureau's payment batch")],
        )
    if paid_on > business_today():
        raise ValidationFailed(
            "a payment date is not in the future",
            errors=[FieldError("paid_on", "in_future", "not after today")],
        )
    if line_ids is not None:
        seen: dict[uuid.UUID, int] = {}
        twice = []
        for i, line_id in enumerate(line_ids):
            if line_id in seen:
                twice.append(
                    FieldError(
                        f"line_ids[{i}]", "duplicate_line", f"the same line as line_ids[{seen[line_id]}]"
                    )
                )
            seen.setdefault(line_id, i)
        if twice:
            raise ValidationFailed("a line is named twice; nothing was paid", errors=twice)
    async with unit_of_work(principal) as uow:
        if await claims_queries.claim_row(_scope(principal), claim_id) is None:
            raise NotFound("no such claim")
        claim = await claims_queries.lock_claim(uow.conn, claim_id)
        assert claim is not None
        # The people's ledger locks (after the claim's: the lock order of money), then the
        # grants read again: a clawback that committed meanwhile is seen, one that comes
        # later waits for this commit. The database refuses a reversed grant's payment too.
        first = await queries.payable_grants(uow.conn, claim_id)
        await ledger.lock_people(uow.conn, [person for _, person, _ in first.values()])
        payable = await queries.payable_grants(uow.conn, claim_id)
        if line_ids is None:
            chosen = list(payable.values())
        else:
            missing = [f"line_ids[{i}]" for i, line_id in enumerate(line_ids) if line_id not in payable]
            if missing:
                raise Conflict(
                    "only a granted line that is not paid or clawed back can be paid",
                    code="line_not_granted",
                    errors=[
                        FieldError(field, "line_not_granted", "not a granted, unpaid line of this claim")
                        for field in missing
                    ],
                )
            chosen = [payable[line_id] for line_id in line_ids]
        if not chosen:
            raise Conflict("the claim has no granted line left to pay", code="line_not_granted")
        granted_on = max(day for _, _, day in chosen)
        if paid_on < granted_on:
            raise ValidationFailed(
                "a payment is not dated before its grant",
                errors=[
                    FieldError(
                        "paid_on",
                        "before_grant",
                        f"on or after {granted_on.isoformat()}, the day it was granted",
                    )
                ],
            )
        grant_ids = [grant_id for grant_id, _, _ in chosen]
        paid_fen = await queries.insert_payments(
            uow.conn, claim_id, grant_ids, paid_on, reference, principal.actor
        )
        status = ClaimStatus(claim["status"])
        new_status = await settle_status(uow.conn, claim_id, status, ClaimEvent.PAY)
        await uow.audit(
            "subsidy_claim.paid",
            "subsidy_claim",
            claim_id,
            before={"status": status.value},
            after={
                "status": new_status.value,
                "paid_on": paid_on.isoformat(),
                "batch_reference": reference,
                "grants": [str(g) for g in grant_ids],
                "paid_fen": paid_fen,
            },
        )
    return PaymentReport(claim_id, len(chosen), paid_fen, new_status)


# ---------------------------------------------------------------------------
# A certificate suspended, revoked or reinstated
# ---------------------------------------------------------------------------


async def after_certificate_change(
    uow: UnitOfWork, certificate_id: uuid.UUID, action: str, reason: str
) -> None:
    """In the certificate service's unit of work, the certificate locked for update: every
    line of it not granted yet, in a claim being audited, is blocked (``CERT_NOT_VALID``,
    an approval cleared, off its notice: suspended or revoked) or loses that flag (valid
    again); a revocation claws back its standing grants; each claim's status follows. The
    lock order of money: the certificate, the claims, the lines, the people's ledger locks."""
    status = {"suspend": "suspended", "revoke": "revoked", "reinstate": "valid"}.get(action)
    if status is None:
        return
    conn = uow.conn
    grants = await queries.standing_grants_of_certificate(conn, certificate_id) if action == "revoke" else []
    claims = await queries.lock_claims(
        conn,
        [
            *await queries.claims_of_certificate(conn, certificate_id),
            *(c for _, _, c in grants if c is not None),
        ],
    )
    audited = [
        claim_id
        for claim_id, claim_status in claims.items()
        if claim_status not in ("submitted", "withdrawn", "failed")
    ]
    if action == "reinstate":
        changed = await queries.unblock_lines_of_certificate(conn, certificate_id, audited)
    else:
        changed = await queries.block_lines_of_certificate(
            conn,
            certificate_id,
            audited,
            {
                "code": "CERT_NOT_VALID",
                "severity": "block",
                "message": f"the certificate was {status} after the claim was computed: {reason}",
            },
        )
    for grant_id, granted_line, granted_claim in grants:
        reversal = await ledger.reverse_grant(
            conn, grant_id, f"certificate revoked: {reason}", uow.principal.actor
        )
        if granted_line is not None:
            await queries.add_flag(
                conn,
                granted_line,
                {
                    "code": "CLAWED_BACK",
                    "severity": "block",
                    "message": f"clawed back: the certificate was revoked ({reason})",
                },
            )
        await uow.audit(
            "ledger.reverse",
            "subsidy_grant",
            grant_id,
            after={
                "reversal_id": str(reversal),
                "reason": f"certificate revoked: {reason}",
                "claim_id": str(granted_claim),
            },
        )
    touched: dict[uuid.UUID, list[str]] = {}
    for line_id, claim_id in changed:
        touched.setdefault(claim_id, []).append(str(line_id))
    for claim_id in sorted(set(touched) | {c for _, _, c in grants if c is not None}):
        before = ClaimStatus(claims[claim_id])
        event = ClaimEvent.CERTIFICATE_CHANGE if claim_id in touched else ClaimEvent.CLAW_BACK
        after = await settle_status(conn, claim_id, before, event)
        await uow.audit(
            "subsidy_claim.certificate_changed" if claim_id in touched else "subsidy_claim.clawback",
            "subsidy_claim",
            claim_id,
            before={"status": before.value},
            after={
                "status": after.value,
                "certificate_id": str(certificate_id),
                "certificate": status,
                "lines": touched.get(claim_id, []),
            },
        )


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


async def notices_of_claim(principal: Principal, claim_id: uuid.UUID) -> list[NoticeView]:
    if await claims_queries.claim_row(_scope(principal), claim_id) is None:
        raise NotFound("no such claim")
    return [_notice_view(row) for row in await queries.notices_of_claim(claim_id)]


async def _public_lines(notice_id: uuid.UUID) -> list[PublicLine]:
    return [
        PublicLine(
            seq=i,
            name=mask_name(line["name"]),
            id_number=line["id_masked"],
            subject=line["subject"],
            level=line["level"],
            certificate_number=line["certificate_number"],
            total_fen=line["total_fen"],
        )
        for i, line in enumerate(await queries.public_notice_lines(notice_id), start=1)
    ]


async def public_notice(notice_id: uuid.UUID) -> PublicNotice:
    """What anyone may read of a notice: masked names and ID numbers, amounts, the days."""
    row = await queries.public_notice_row(notice_id)
    if row is None:
        raise NotFound("no such notice")
    lines = await _public_lines(notice_id)
    days = row["days"] if not isinstance(row["days"], str) else json.loads(row["days"])
    return PublicNotice(
        id=row["id"],
        status=row["status"],
        kind=SubsidyKind(row["kind"]),
        institution_name=row["institution_name"],
        cohort_name=row["cohort_name"],
        cohort_reference=row["cohort_reference"],
        division_name=row["division_name"],
        published_on=row["published_on"],
        runs_from=row["runs_from"],
        runs_to=row["runs_to"],
        days=[dt.date.fromisoformat(d) for d in days],
        lines=lines,
        total_fen=sum(line.total_fen for line in lines),
    )


async def claim_export(principal: Principal, claim_id: uuid.UUID) -> tuple[str, bytes]:
    """The claim's lines as XLSX for auditors (file name, bytes)."""
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        raise NotFound("no such claim")
    row = await claims_queries.claim_row(_scope(principal), claim_id)
    if row is None:
        raise NotFound("no such claim")
    heading = [
        f"补贴申请 {row['cohort_reference']} {row['cohort_name']}".strip(),
        f"{row['institution_name']} · 状态 {row['status']} · 政策 {row['policy_code']}",
    ]
    data = export.claim_workbook(heading, await queries.export_lines(claim_id))
    return f"claim-{row['cohort_reference']}-{claim_id.hex[:8]}.xlsx", data


LIST_EXPORT_LIMIT = 5000
"""Claims in one list spreadsheet at the most (the filters narrow a longer list)."""


async def claims_list_export(
    principal: Principal, filters: Any, *, status: ClaimStatus | None = None
) -> tuple[str, bytes]:
    """The list of claims as the workbench filters it, as XLSX for the bureau (file name,
    bytes); ``filters``: :class:`registry.subsidy.claims.ClaimFilters`."""
    from registry.subsidy.claims import list_claims

    if bureau_scope(principal) is None:
        raise NotFound("no such list")
    items: list[Any] = []
    total = 0
    while len(items) < LIST_EXPORT_LIMIT:
        page = await list_claims(principal, limit=500, offset=len(items), status=status, filters=filters)
        items += page.items
        total = page.total
        if not page.items or len(items) >= total:
            break
    kinds = {SubsidyKind.TRAINING: "培训补贴", SubsidyKind.ASSESSMENT: "评价补贴"}
    rows = [
        (
            c.institution_name,
            c.cohort_reference,
            c.cohort_name,
            c.division_code,
            kinds[c.kind],
            CLAIM_STATUS_NAMES[c.status],
            c.line_count,
            c.total_fen,
            c.granted_fen,
            c.reversed_fen,
            c.paid_fen,
            c.filed_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M"),
        )
        for c in items[:LIST_EXPORT_LIMIT]
    ]
    heading = [
        f"补贴申请列表（共 {total} 件，导出 {len(rows)} 件）",
        f"导出日期 {business_today().isoformat()}",
    ]
    return f"claims-{business_today().isoformat()}.xlsx", export.claims_workbook(heading, rows)


@dataclass(frozen=True)
class NoticePreview:
    """What publishing a claim's notice today would do: its lines, amount and working days."""

    claim_id: uuid.UUID
    lines: int
    total_fen: int
    days: list[dt.date]


async def notice_preview(
    principal: Principal, claim_id: uuid.UUID, today: dt.date | None = None
) -> NoticePreview:
    """The confirmation before :func:`publish_notice`: the approved lines waiting and the five
    working days from the calendar (``calendar_not_loaded`` as publishing would say)."""
    today = today or business_today()
    async with unit_of_work(principal) as uow:
        await _auditor_claim(uow, principal, claim_id)
        line_ids = await queries.lines_to_notice(uow.conn, claim_id)
        total = await queries.total_of_lines(uow.conn, line_ids)
        days = await notice_period(today, uow.conn)
    return NoticePreview(claim_id, len(line_ids), total, days)


async def ending_soon(today: dt.date, working_days_ahead: int = 2) -> dt.date:
    """The last of the next ``working_days_ahead`` working days from ``today`` (today counted
    when it is one): a notice ending by then ends "in the next two working days". Past the
    calendar's years, calendar days."""
    try:
        return (await working_days(today, working_days_ahead))[-1]
    except ValidationFailed:
        return today + dt.timedelta(days=working_days_ahead)


async def running_notices(principal: Principal) -> list[NoticeView]:
    """The running notices of the claims the caller may see, ending first."""
    if bureau_scope(principal) is None:
        raise NotFound("nothing here")
    return [_notice_view(row) for row in await queries.running_notices(_scope(principal))]


def notice_heading(notice: PublicNotice) -> list[str]:
    kind = "职业技能培训补贴" if notice.kind is SubsidyKind.TRAINING else "职业技能评价补贴"
    return [
        f"{kind}公示",
        f"{notice.institution_name} · {notice.cohort_name or notice.cohort_reference} · {notice.division_name}",
        f"公示期: {notice.runs_from.isoformat()} 至 {notice.runs_to.isoformat()} ({len(notice.days)} 个工作日)",
    ]


async def public_notice_xlsx(notice_id: uuid.UUID) -> tuple[str, bytes]:
    notice = await public_notice(notice_id)
    return f"notice-{notice_id.hex[:8]}.xlsx", export.notice_workbook(notice_heading(notice), notice.lines)


# ---------------------------------------------------------------------------
# The bureau's list of notices (the workbench's 公示 pages)
# ---------------------------------------------------------------------------

NOTICE_STATUSES = (RUNNING, CLOSED)


@dataclass(frozen=True)
class ListedNotice:
    """A notice with its claim's institution, cohort and division."""

    notice: NoticeView
    kind: SubsidyKind
    claim_status: ClaimStatus
    institution_name: str
    cohort_reference: str
    cohort_name: str
    division_name: str | None


def _listed(row: dict[str, Any]) -> ListedNotice:
    return ListedNotice(
        notice=_notice_view(row),
        kind=SubsidyKind(row["kind"]),
        claim_status=ClaimStatus(row["claim_status"]),
        institution_name=row["institution_name"],
        cohort_reference=row["cohort_reference"],
        cohort_name=row["cohort_name"],
        division_name=row["division_name"],
    )


async def list_notices(
    principal: Principal, *, limit: int, offset: int, status: str | None = None
) -> Page[ListedNotice]:
    """The notices of the claims the caller may see (the bureau: a county auditor its
    county's; anyone else 404), running and ended or one of them (``status``: ``running``,
    ``closed``), newest first."""
    if bureau_scope(principal) is None:
        raise NotFound("nothing here")
    if status is not None and status not in NOTICE_STATUSES:
        raise ValidationFailed(
            "no such status",
            errors=[FieldError("status", "not_a_status", f"one of {', '.join(NOTICE_STATUSES)}")],
        )
    page = await queries.notices_page(_scope(principal), status, limit, offset)
    return page.map(_listed)


@dataclass(frozen=True)
class NoticeRecord:
    """A notice for the bureau: what its list shows and the lines the public page lists
    (masked names and ID numbers, amounts)."""

    listed: ListedNotice
    lines: list[PublicLine]


async def notice_record(principal: Principal, notice_id: uuid.UUID) -> NoticeRecord:
    """One notice of a claim the caller may see (else 404), with its lines."""
    if bureau_scope(principal) is None:
        raise NotFound("no such notice")
    row = await queries.notice_in_scope(_scope(principal), notice_id)
    if row is None:
        raise NotFound("no such notice")
    return NoticeRecord(listed=_listed(row), lines=await _public_lines(notice_id))
