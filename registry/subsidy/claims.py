"""Subsidy claims: filed for a closed cohort, computed by a worker, withdrawn and filed again.

- :func:`file_claim` (the institution for its cohort's ``training`` claim, the assessment body
  for the ``assessment`` claim of the certificates it issued to the cohort): one unit of work
  under the cohort's lock; the claim row, its audit event and the outbox row of
  :data:`COMPUTE_CLAIM` commit together, and the API answers 202 at once.
- :func:`compute_claim` (the worker, once per outbox row): reads the claim's people, their
  certificates, their grant history from the ledger and the database checks' findings
  (OVERLAP, SHARED_PHONE, ID_INVALID) set-based, stores them as the claim's snapshot, and
  computes every line from the snapshot with the pure rule
  (:func:`registry.subsidy.rules.evaluate_batch`, in the order of DESIGN.md section 5); the
  lines go in by COPY, in the same transaction as the snapshot, the totals, the status and
  the audit event. A worker killed half-way leaves nothing; the redelivered job computes it.
- :func:`withdraw_claim`: a submitted or computed claim is withdrawn by its claimant and the
  cohort may be claimed again.
- :func:`list_claims`, :func:`get_claim`: scoped reads (an institution or an assessment body
  its own claims, a county auditor its division's, the city everyone's).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.core import outbox
from registry.core.clock import BUSINESS_TZ
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, RegistryError
from registry.core.paging import Page
from registry.core.principal import Principal, system
from registry.core.tenancy import visible_claims_sql, visible_cohorts
from registry.core.text import visible_text
from registry.core.uow import unit_of_work
from registry.enums import (
    CertificateKind,
    CertificateStatus,
    ClaimStatus,
    CohortKind,
    CohortStatus,
    EnrolmentOutcome,
    InstitutionStatus,
    Role,
    StartupCourse,
    SubsidyKind,
    TrainingMode,
)
from registry.ledger import queries as ledger
from registry.ledger.rules import GrantFact
from registry.models.subsidy import SubsidyClaim
from registry.people.queries import ID_CONTEXT
from registry.people.rules.idnumber import IdNumberError, validate
from registry.subsidy import queries, snapshot
from registry.subsidy.policy import Policy
from registry.subsidy.queries import LINE_COLUMNS
from registry.subsidy.rules import (
    CertificateFacts,
    ClaimEvent,
    ClaimTransitionError,
    CohortFacts,
    Evaluation,
    Findings,
    Grant,
    Line,
    Overlap,
    for_claimant,
    grant_of,
    judge_batch,
    line_date,
    next_claim_status,
)
from registry.subsidy.service import choose_policy, policy_of

log = logging.getLogger(__name__)

COMPUTE_CLAIM = "registry.subsidy.compute_claim"
"""The job that computes a filed claim's lines (queued by :func:`file_claim`)."""

WITHDRAWABLE = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.COMPUTED})
MAX_REASON = 2000


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    id: uuid.UUID
    seq: int
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
    outcome: str
    flags: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    policy_code: str
    decision: str | None
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str
    notice_id: uuid.UUID | None = None
    """The notice that listed it (last)."""
    grant_id: uuid.UUID | None = None
    """Its grant in the ledger, once granted."""
    occupation_name: str = ""
    paid: bool = False
    """Its grant was paid."""
    clawed_back: bool = False
    """Its grant was reversed (a clawback)."""


@dataclass(frozen=True)
class ClaimFilters:
    """The workbench's filters of a list of claims (each None: any)."""

    division: str | None = None
    institution_id: uuid.UUID | None = None
    flag: str | None = None
    year: int | None = None
    min_fen: int | None = None
    max_fen: int | None = None
    sort: str = "filed"
    """``filed`` (newest first), ``amount`` (largest first), ``waiting`` (longest first)."""


@dataclass(frozen=True)
class ClaimView:
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
    granted_fen: int = 0
    """What the ledger granted on this claim's lines."""
    reversed_fen: int = 0
    """What was clawed back of it since (a positive figure)."""
    paid_fen: int = 0
    lines: list[LineView] | None = None
    """With :func:`get_claim` only."""
    status_since: dt.datetime | None = None
    """When it took its status (how long it has waited there)."""
    cohort_start: dt.date | None = None
    cohort_end: dt.date | None = None
    planned_hours: int | None = None
    division_name: str = ""


def _claim_view(row: dict[str, Any], lines: list[LineView] | None = None) -> ClaimView:
    return ClaimView(
        id=row["id"],
        cohort_id=row["cohort_id"],
        cohort_reference=row["cohort_reference"],
        cohort_name=row["cohort_name"],
        kind=SubsidyKind(row["kind"]),
        institution_id=row["institution_id"],
        institution_name=row["institution_name"],
        division_code=row["division_id"],
        status=ClaimStatus(row["status"]),
        policy_code=row["policy_code"],
        line_count=row["line_count"],
        clean_lines=row["clean_lines"],
        review_lines=row["review_lines"],
        blocked_lines=row["blocked_lines"],
        total_fen=row["total_fen"],
        clean_fen=row["clean_fen"],
        review_fen=row["review_fen"],
        blocked_fen=row["blocked_fen"],
        error=row["error"],
        filed_by=row["filed_by"],
        filed_at=row["filed_at"],
        computed_at=row["computed_at"],
        withdrawn_at=row["withdrawn_at"],
        withdrawn_by=row["withdrawn_by"],
        withdraw_reason=row["withdraw_reason"],
        granted_fen=int(row["granted_fen"]),
        reversed_fen=int(row["reversed_fen"]),
        paid_fen=int(row["paid_fen"]),
        lines=lines,
        status_since=row.get("updated_at"),
        cohort_start=row.get("cohort_start"),
        cohort_end=row.get("cohort_end"),
        planned_hours=row.get("planned_hours"),
        division_name=row.get("division_name") or "",
    )


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


def _line_view(row: dict[str, Any]) -> LineView:
    return LineView(
        id=row["id"],
        seq=row["seq"],
        kind=SubsidyKind(row["kind"]),
        enrolment_id=row["enrolment_id"],
        trainee_id=row["trainee_id"],
        name=row["name"],
        id_number_masked=row["id_masked"],
        certificate_id=row["certificate_id"],
        cohort_kind=CohortKind(row["cohort_kind"]),
        occupation_code=row["occupation_code"],
        level=row["level"],
        certificate_kind=None
        if row["certificate_kind"] is None
        else CertificateKind(row["certificate_kind"]),
        startup_course=None if row["startup_course"] is None else StartupCourse(row["startup_course"]),
        year=row["year"],
        base_fen=row["base_fen"],
        uplift_fen=row["uplift_fen"],
        total_fen=row["total_fen"],
        outcome=row["outcome"],
        flags=_json(row["flags"]),
        trace=_json(row["trace"]) if row["trace"] is not None else [],
        policy_code=row["policy_code"],
        decision=row["decision"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
        notice_id=row["notice_id"],
        grant_id=row["grant_id"],
        occupation_name=row.get("occupation_name") or "",
        paid=bool(row.get("paid")),
        clawed_back=bool(row.get("clawed_back")),
    )


async def settle_status(
    conn: Any, claim_id: uuid.UUID, status: ClaimStatus, event: ClaimEvent, **columns: Any
) -> ClaimStatus:
    """The one way a claim's status changes: ``event`` happened to the claim (locked by the
    caller, ``status`` as read under the lock); its new status is
    :func:`registry.subsidy.rules.next_claim_status` of its lines, stored when it changed
    (with ``columns``, see :func:`registry.subsidy.queries.store_status`). An event the
    status does not allow is a :class:`Conflict` (``claim_status``)."""
    tally = await queries.line_tally(conn, claim_id)
    try:
        new = next_claim_status(status, event, tally)
    except ClaimTransitionError as exc:
        raise Conflict(str(exc), code="claim_status") from None
    if new is not status or columns:
        await queries.store_status(conn, claim_id, new.value, **columns)
    return new


def _scope(principal: Principal) -> tuple[str, list[Any]]:
    return visible_claims_sql(principal)


# ---------------------------------------------------------------------------
# Filing and withdrawing
# ---------------------------------------------------------------------------


def _claimant_refusal(principal: Principal, kind: SubsidyKind) -> PermissionDenied | None:
    if kind is SubsidyKind.TRAINING and principal.role is not Role.INSTITUTION:
        return PermissionDenied("a training claim is filed by the institution that ran the cohort")
    if kind is SubsidyKind.ASSESSMENT and principal.role is not Role.ASSESSOR:
        return PermissionDenied(
            "an assessment claim is filed by the assessment body that issued the certificates"
        )
    if principal.institution_id is None:
        return PermissionDenied("this account belongs to no institution")
    return None


async def file_claim(principal: Principal, cohort_id: uuid.UUID, kind: SubsidyKind) -> ClaimView:
    """File a claim for a closed cohort; a worker computes it (:data:`COMPUTE_CLAIM`)."""
    async with unit_of_work(principal) as uow:
        cohort = await queries.lock_cohort_for_claim(uow.conn, cohort_id)
        institution_id = principal.institution_id
        visible = cohort is not None and (
            (principal.role is Role.INSTITUTION and cohort["institution_id"] == institution_id)
            or (
                principal.role is Role.ASSESSOR
                and institution_id is not None
                and await queries.certificates_issued_to(uow.conn, cohort_id, institution_id) > 0
            )
            or (
                principal.role in (Role.ADMIN, Role.AUDITOR)
                and await visible_cohorts(principal).using_db(uow.conn).filter(id=cohort_id).exists()
            )
        )
        if cohort is None or not visible:
            raise NotFound("no such cohort")
        refusal = _claimant_refusal(principal, kind)
        if refusal is not None:
            raise refusal
        assert institution_id is not None
        if kind is SubsidyKind.TRAINING and cohort["institution_id"] != institution_id:
            raise NotFound("no such cohort")
        if cohort["status"] != CohortStatus.CLOSED:
            raise Conflict(
                f"the cohort is {cohort['status']}: a claim is filed for a closed cohort "
                "(record every outcome and close it first)",
                code="cohort_not_closed",
            )
        policy = await choose_policy(cohort["end_date"])
        existing = await queries.open_claim_of(uow.conn, cohort_id, kind.value, institution_id)
        if existing is not None:
            raise Conflict(
                f"the cohort already has an open {kind.value} claim ({existing}); withdraw it to file again",
                code="claim_already_open",
            )
        claim = await SubsidyClaim.create(
            using_db=uow.conn,
            cohort_id=cohort_id,
            kind=kind,
            institution_id=institution_id,
            division_id=cohort["division_id"],
            status=ClaimStatus.SUBMITTED,
            policy_code=policy.code,
            filed_by=principal.actor,
            filed_at=dt.datetime.now(dt.UTC),
        )
        claim_id = claim.id
        claim.outbox_id = await uow.enqueue(COMPUTE_CLAIM, claim_id=claim_id)
        await claim.save(using_db=uow.conn, update_fields=["outbox_id"])
        await uow.audit(
            "subsidy_claim.file",
            "subsidy_claim",
            claim_id,
            after={"cohort_id": str(cohort_id), "kind": kind.value, "policy_code": policy.code},
        )
        row = await _row_on(uow.conn, claim_id)
    return _claim_view(row)


async def _row_on(conn: Any, claim_id: uuid.UUID) -> dict[str, Any]:
    row = await queries.claim_row_on(conn, claim_id)
    assert row is not None
    return row


async def withdraw_claim(principal: Principal, claim_id: uuid.UUID, reason: str = "") -> ClaimView:
    """Submitted or computed -> withdrawn, by the claimant; the cohort may be claimed again."""
    reason = visible_text(reason)[:MAX_REASON]
    async with unit_of_work(principal) as uow:
        if await queries.claim_row(_scope(principal), claim_id) is None:
            raise NotFound("no such claim")
        claim = await queries.lock_claim(uow.conn, claim_id)
        assert claim is not None
        if (
            principal.role not in (Role.INSTITUTION, Role.ASSESSOR)
            or claim["institution_id"] != principal.institution_id
        ):
            raise PermissionDenied("only the claimant withdraws a claim")
        status = ClaimStatus(claim["status"])
        if status not in WITHDRAWABLE:
            raise Conflict(
                f"the claim is {status.value}: only a submitted or computed claim can be withdrawn",
                code="claim_not_withdrawable",
            )
        await settle_status(
            uow.conn,
            claim_id,
            status,
            ClaimEvent.WITHDRAW,
            withdrawn_at=dt.datetime.now(dt.UTC),
            withdrawn_by=principal.actor,
            withdraw_reason=reason,
        )
        await uow.audit(
            "subsidy_claim.withdraw",
            "subsidy_claim",
            claim_id,
            before={"status": status.value},
            after={"status": ClaimStatus.WITHDRAWN.value, "reason": reason},
        )
        row = await _row_on(uow.conn, claim_id)
    return _claim_view(row)


# ---------------------------------------------------------------------------
# Computing (the worker)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ComputeReport:
    claim_id: uuid.UUID
    status: str
    """``computed``, ``failed``, or ``skipped`` (not submitted any more: withdrawn, or
    already computed by an earlier delivery)."""
    lines: int = 0
    total_fen: int = 0


def _history(facts: Iterable[GrantFact], kind: SubsidyKind = SubsidyKind.TRAINING) -> list[Grant]:
    """The ledger's grants of ``kind`` as the rule reads them: a clawed-back grant keeps its
    slots but no longer counts towards the cap."""
    return [
        Grant(
            kind=fact.cohort_kind,
            year=fact.year,
            occupation_code=fact.occupation_code,
            level=fact.level,
            startup_course=fact.startup_course,
            counts_towards_cap=not fact.reversed,
            certificate_kind=fact.certificate_kind,
            is_renewal=fact.is_renewal,
            certificate_id=fact.certificate_id,
        )
        for fact in facts
        if fact.kind is kind
    ]


def _id_problem(vault: Vault, cipher: bytes) -> str | None:
    """ID_INVALID's fact: why the stored number fails GB 11643-1999 (check digit, birth date,
    length: a 15-digit number is refused), or None. Never the number itself."""
    try:
        validate(vault.decrypt(bytes(cipher), context=ID_CONTEXT))
    except IdNumberError as exc:
        return f"{exc.code}: {exc}"
    return None


def _cohort_facts(cohort: dict[str, Any]) -> CohortFacts:
    def enum(kind: Any, value: Any) -> Any:
        return None if value is None else kind(value)

    return CohortFacts(
        kind=CohortKind(cohort["kind"]),
        planned_hours=cohort["planned_hours"],
        start_date=cohort["start_date"],
        end_date=cohort["end_date"],
        occupation_code=cohort["occupation_id"],
        certificate_kind=enum(CertificateKind, cohort["certificate_kind"]),
        certificate_level=cohort["certificate_level"],
        startup_course=enum(StartupCourse, cohort["startup_course"]),
        training_mode=enum(TrainingMode, cohort["training_mode"]),
    )


def _certificate(row: dict[str, Any]) -> CertificateFacts | None:
    if row["certificate_id"] is None:
        return None
    return CertificateFacts(
        kind=CertificateKind(row["certificate_kind"]),
        issue_date=row["issue_date"],
        level=row["certificate_level"],
        occupation_code=row["certificate_occupation"],
        status=CertificateStatus(row["certificate_status"]),
        is_renewal=bool(row["is_renewal"]),
        direct_recognition=bool(row["direct_recognition"]),
    )


def _approved(status: str, approved_years: Any, year: int) -> bool:
    """INSTITUTION_NOT_APPROVED's and ASSESSOR_NOT_APPROVED's fact: active and on the
    approved list for the cohort's year."""
    return status == InstitutionStatus.ACTIVE and year in (_json(approved_years) or [])


async def take_snapshot(
    conn: Any, claim: dict[str, Any], cohort: dict[str, Any], policy_sha256: str, vault: Vault
) -> snapshot.Snapshot:
    """Everything a claim's lines are computed from, read set-based in the caller's
    transaction (a handful of queries whatever the claim's size)."""
    cohort_id = claim["cohort_id"]
    facts = _cohort_facts(cohort)
    people = await queries.claim_people(conn, cohort_id, claim["kind"], claim["institution_id"])
    # The history is read without the ledger's lock: computing writes no grant, and the
    # payable transition judges repeats and caps again under the lock when it writes them.
    history = await ledger.history_of(conn, [row["trainee_id"] for row in people])
    # OVERLAP and SHARED_PHONE come with the people (claim_people), the priority list
    # with the cohort (lock_cohort_for_claim).
    on_list = cohort.get("on_priority_list")
    priority = (
        facts.kind is CohortKind.VOCATIONAL
        and facts.occupation_code is not None
        and (
            bool(on_list)
            if on_list is not None
            else await queries.is_priority_trade(facts.occupation_code, facts.start_date, conn)
        )
    )
    assessor_approved = True
    if claim["kind"] == SubsidyKind.ASSESSMENT:
        standing = await queries.institution_standing(conn, claim["institution_id"])
        assessor_approved = standing is not None and _approved(*standing, facts.start_date.year)
    return snapshot.Snapshot(
        claim_kind=SubsidyKind(claim["kind"]),
        policy_code=claim["policy_code"],
        policy_sha256=policy_sha256,
        cohort=facts,
        division_code=cohort["division_id"],
        priority_trade=priority,
        institution_approved=_approved(
            cohort["institution_status"], cohort["approved_years"], cohort["start_date"].year
        ),
        assessor_approved=assessor_approved,
        priority_list=await queries.priority_list_facts(conn, facts.start_date) if priority else None,
        claim_date=claim["filed_at"].astimezone(BUSINESS_TZ).date(),
        people=[
            snapshot.Person(
                enrolment_id=row["enrolment_id"],
                trainee_id=row["trainee_id"],
                person_key=row["person_key"],
                birth_date=row["birth_date"],
                attended_hours=row["attended_hours"],
                outcome=EnrolmentOutcome(row["outcome"]),
                groups=list(_json(row["groups"]) or []),
                certificate_id=row["certificate_id"],
                certificate=_certificate(row),
                history=_history(history[row["trainee_id"]]),
                assessment_history=_history(history[row["trainee_id"]], SubsidyKind.ASSESSMENT),
                findings=Findings(
                    id_problem=_id_problem(vault, row["id_cipher"]),
                    overlaps=tuple(Overlap(start, end) for start, end in row["overlaps"] or ()),
                    shared_phone_trainees=int(row["phone_people"] or 0),
                    shared_phone_institutions=int(row["phone_institutions"] or 0),
                ),
            )
            for row in people
        ],
    )


def claim_line(snap: snapshot.Snapshot, evaluation: Evaluation) -> Line | None:
    """The line of a claim's kind in one person's evaluation (an assessment claim has none for
    a certificate that earns no assessment subsidy)."""
    return evaluation.line("training" if snap.claim_kind is SubsidyKind.TRAINING else "assessment")


_flags_encoder = msgspec.json.Encoder()


def line_records(claim_id: uuid.UUID, snap: snapshot.Snapshot, policy: Policy) -> list[tuple[Any, ...]]:
    """The claim's lines under ``policy``, as rows in :data:`LINE_COLUMNS` order, numbered in
    the judging order (DESIGN.md section 5)."""
    batch = snapshot.items(snap, policy)
    order, evaluations = judge_batch(batch)
    records: list[tuple[Any, ...]] = []
    # The rule shares the steps (and flags) that repeat between lines: each is encoded once
    # and the lines' JSON arrays are joined from the pieces (the same text as encoding the
    # whole array: msgspec writes no whitespace).
    encoded: dict[int, str] = {}

    def json_array(values: tuple[Any, ...]) -> str:
        parts = []
        for value in values:
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = _flags_encoder.encode(value).decode()
            parts.append(text)
        return "[" + ",".join(parts) + "]"

    for seq, index in enumerate(order, start=1):
        person = snap.people[index]
        line = claim_line(snap, evaluations[index])
        if line is None:
            continue
        facts = batch[index].facts
        grant = grant_of(facts)
        certificate = facts.certificate
        assessment = line.kind == "assessment"
        records.append(
            (
                uuid.uuid4(),
                claim_id,
                line.kind,
                person.enrolment_id,
                person.trainee_id,
                person.certificate_id,
                seq,
                snap.cohort.kind.value,
                grant.occupation_code,
                (certificate.level if assessment and certificate else grant.level),
                _kind_text(certificate.kind if assessment and certificate else snap.cohort.certificate_kind),
                None if grant.startup_course is None else grant.startup_course.value,
                line_date(facts).year,
                line.base_fen,
                line.uplift_fen,
                line.total_fen,
                line.outcome,
                json_array(line.flags),
                json_array(line.trace),
                policy.code,
                "",
            )
        )
    assert len(LINE_COLUMNS) == 21
    return records


def _kind_text(kind: CertificateKind | None) -> str | None:
    return None if kind is None else kind.value


def totals_of(records: Iterable[tuple[Any, ...]]) -> dict[str, int]:
    totals = dict.fromkeys(
        (
            "line_count",
            "clean_lines",
            "review_lines",
            "blocked_lines",
            "total_fen",
            "clean_fen",
            "review_fen",
            "blocked_fen",
        ),
        0,
    )
    outcome_at, total_at = LINE_COLUMNS.index("outcome"), LINE_COLUMNS.index("total_fen")
    for record in records:
        outcome, total = record[outcome_at], record[total_at]
        totals["line_count"] += 1
        totals[f"{outcome}_lines"] += 1
        totals["total_fen"] += total
        totals[f"{outcome}_fen"] += total
    return totals


async def compute_claim(
    claim_id: uuid.UUID, *, vault: Vault, outbox_id: uuid.UUID | str | None = None
) -> ComputeReport | None:
    """Compute a submitted claim's lines (the worker's task). Once per outbox row: a
    duplicate delivery returns None and changes nothing; a claim no longer submitted is
    skipped. A claim that cannot be computed (a rule error, not a transient one) is marked
    failed with the reason, in a transaction of its own, and may be filed again."""
    principal = system("claims")
    try:
        async with unit_of_work(principal) as uow:
            if outbox_id is None:
                # Computed directly (an operator, the demo, a test): its queued job is done
                # too, so the relay never sends it (a later delivery would change nothing
                # anyway). The job's row is locked first, as the worker does, so the two
                # never deadlock.
                job = await queries.claim_outbox_id(uow.conn, claim_id)
                if job is not None:
                    await outbox.record_done(uow.conn, job)
            elif not await outbox.record_done(uow.conn, outbox_id):
                return None
            claim = await queries.lock_claim(uow.conn, claim_id)
            if claim is None or claim["status"] != ClaimStatus.SUBMITTED:
                return ComputeReport(claim_id, "skipped")
            cohort = await queries.lock_cohort_for_claim(uow.conn, claim["cohort_id"])
            assert cohort is not None
            row = await queries.policy_by_code(claim["policy_code"], uow.conn)
            if row is None:
                raise NotFound(f"the claim's policy {claim['policy_code']} is not loaded")
            policy = policy_of(row)
            snap = await take_snapshot(uow.conn, claim, cohort, row.sha256, vault)
            records = line_records(claim_id, snap, policy)
            await queries.insert_lines(uow.conn, records)
            totals = totals_of(records)
            encoded = snapshot.encode(snap)
            await queries.store_computed(uow.conn, claim_id, totals, encoded.decode())
            computed = await settle_status(uow.conn, claim_id, ClaimStatus.SUBMITTED, ClaimEvent.COMPUTE)
            await uow.audit(
                "subsidy_claim.compute",
                "subsidy_claim",
                claim_id,
                before={"status": ClaimStatus.SUBMITTED.value},
                after={
                    "status": computed.value,
                    **totals,
                    "snapshot_sha256": hashlib.sha256(encoded).hexdigest(),
                },
            )
        return ComputeReport(claim_id, "computed", totals["line_count"], totals["total_fen"])
    except RegistryError as exc:
        log.warning("claim %s could not be computed: %s", claim_id, exc)
        await _mark_failed(principal, claim_id, str(exc), outbox_id)
        return ComputeReport(claim_id, "failed")


async def _mark_failed(
    principal: Principal, claim_id: uuid.UUID, reason: str, outbox_id: uuid.UUID | str | None
) -> None:
    async with unit_of_work(principal) as uow:
        if outbox_id is not None:
            await outbox.record_done(uow.conn, outbox_id)
        claim = await queries.lock_claim(uow.conn, claim_id)
        if claim is None or claim["status"] != ClaimStatus.SUBMITTED:
            return
        await settle_status(
            uow.conn, claim_id, ClaimStatus.SUBMITTED, ClaimEvent.FAIL, error=reason[:MAX_REASON]
        )
        await uow.audit(
            "subsidy_claim.fail",
            "subsidy_claim",
            claim_id,
            before={"status": ClaimStatus.SUBMITTED.value},
            after={"status": ClaimStatus.FAILED.value, "error": reason[:MAX_REASON]},
        )


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


async def list_claims(
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: ClaimStatus | None = None,
    kind: SubsidyKind | None = None,
    cohort_id: uuid.UUID | None = None,
    filters: ClaimFilters | None = None,
) -> Page[ClaimView]:
    """A page of the claims the caller may see; ``filters`` adds the workbench's (county,
    institution, flag, year, amount range, sort)."""
    more = filters or ClaimFilters()
    page = await queries.claim_page(
        _scope(principal),
        limit=limit,
        offset=offset,
        status=None if status is None else status.value,
        kind=None if kind is None else kind.value,
        cohort_id=cohort_id,
        division=more.division,
        institution_id=more.institution_id,
        flag=more.flag,
        year=more.year,
        min_fen=more.min_fen,
        max_fen=more.max_fen,
        sort=more.sort,
    )
    return page.map(_claim_view)


async def get_claim(
    principal: Principal, claim_id: uuid.UUID, *, traces: bool | Collection[uuid.UUID] = True
) -> ClaimView:
    """A claim with its lines; its claimant reads them without other institutions' facts
    (:func:`registry.subsidy.rules.for_claimant`). ``traces``: every line's trace (True), none
    (False: a page that shows a trace only when it is opened), or only these lines'."""
    row = await queries.claim_row(_scope(principal), claim_id)
    if row is None:
        raise NotFound("no such claim")
    lines = [_line_view(line) for line in await queries.claim_lines(claim_id, traces=traces)]
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        lines = [dataclasses.replace(line, **_claimant_facts(line)) for line in lines]
    return _claim_view(row, lines)


async def traces_of(
    principal: Principal, claim_id: uuid.UUID, line_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Some lines' traces of a claim the caller may see (a claimant's without other
    institutions' facts): line id -> trace."""
    if await queries.claim_row(_scope(principal), claim_id) is None:
        raise NotFound("no such claim")
    traces = {
        line_id: _json(trace)
        for line_id, trace in (await queries.line_traces(claim_id, list(line_ids))).items()
    }
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        traces = {line_id: for_claimant([], trace)[1] for line_id, trace in traces.items()}
    return traces


def _claimant_facts(line: LineView) -> dict[str, Any]:
    flags, trace = for_claimant(line.flags, line.trace)
    return {"flags": flags, "trace": trace}
