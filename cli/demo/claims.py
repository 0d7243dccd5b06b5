"""The demo's subsidy claims: filed, computed, decided, noticed, granted and paid through the
services the API uses, so that the demo shows claims in every state.

:func:`plan_claims` is pure: from the year's plan, which cohorts may be claimed
(``fileable``: a policy is in force on their end date) and which of them have lines inside
the claim window on the claims' date (``claimable``: only those can be approved, noticed and
granted), it gives each cohort its claim's final state, deterministic from the seed.
Cohorts of the demo institution are never claimed: ``demo-institution`` files its own
(tests/cli/test_up.py). The shares of the fileable cohorts (:data:`SHARES`): paid 40%,
payable 10%, noticed 8% (a notice still running), decided 8%, in review 7%, computed 15%,
submitted 4% (filed last and left for the worker), withdrawn 3%, unclaimed the rest; a
state that needs a notice goes to a claimable cohort only, and at least one claim of each
state is planned where there are cohorts enough; the claims meant for a notice that find
no claimable cohort are decided instead (every line rejected). A few more claims
(:data:`REFILED_SHARE`) are first filed and withdrawn, then filed again.

:func:`load_claims` carries the claims plan out, keyed on what the database holds: each
step of a claim is taken only when its status is short of the planned one, so a second
run changes nothing and a run cut short is completed. The claims' date (what the window is
judged on, and what publication and payment dates are counted back from) is the day the
demo filed its first claim of the year, so a later run plans the same claims. The running
notice is published on the claims' date, or on the latest day before it whose five working
days the calendar covers and that still runs then (:func:`running_notice_day`: the last
days of the calendar's last year); :func:`running_notice_note` says why there is none
(a year the calendar does not cover, no claimable cohort left: docs/demo.md, "Whatever
the day").
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections

from cli.demo.plan import Plan, _largest_remainder
from registry.core.clock import BUSINESS_TZ, business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, RegistryError, ValidationFailed
from registry.core.principal import Principal
from registry.enums import ClaimStatus, Role, SubsidyKind
from registry.notices.calendar import notice_period
from registry.notices.service import close_notice, publish_notice, record_objection, record_payment
from registry.subsidy.claims import compute_claim, file_claim, get_claim, withdraw_claim
from registry.subsidy.decisions import DecisionBatch, decide
from registry.subsidy.rules import Decision, DecisionRequest, add_months
from registry.subsidy.service import choose_policy

ACTOR = "demo"

STATES = ("submitted", "computed", "in_review", "decided", "noticed", "payable", "paid", "withdrawn")
"""The claim states the demo shows (``failed`` is not planned)."""

SHARES: dict[str, float] = {
    "paid": 0.40,
    "payable": 0.10,
    "noticed": 0.08,
    "decided": 0.08,
    "in_review": 0.07,
    "computed": 0.15,
    "submitted": 0.04,
    "withdrawn": 0.03,
    "unclaimed": 0.05,
}
NOTICED_STATES = ("paid", "payable", "noticed")
"""States that need an approved line: planned for claimable cohorts only (in this order of
the cohorts' end dates: the earliest are paid)."""
EARLY_STATES = ("withdrawn", "decided", "in_review", "computed", "submitted", "unclaimed")
MINIMUM_ORDER = ("paid", "payable", "noticed", "decided", "in_review", "computed", "submitted", "withdrawn")
"""Which states get their one claim first when there are few cohorts."""
REFILED_SHARE = 0.05
RUNNING_NOTICE_LOOK_BACK = 10
"""Days :func:`running_notice_day` may go back: a notice ending on 31 December is published
at most 7 days before it (5 working days, a weekend)."""
REVIEW_APPROVED_SHARE = 0.75
"""Of the lines flagged for review, the share the auditor approves (with a reason)."""

RANK = {
    ClaimStatus.SUBMITTED: 0,
    ClaimStatus.COMPUTED: 1,
    ClaimStatus.IN_REVIEW: 2,
    ClaimStatus.DECIDED: 3,
    ClaimStatus.NOTICED: 4,
    ClaimStatus.PAYABLE: 5,
    ClaimStatus.PAID: 6,
}

WITHDRAW_REASON = "花名册信息有误，撤回后更正重报"
WITHDRAW_ONLY_REASON = "经机构自查，本期培训暂不申领补贴"
OBJECTION_REASON = "公示期间接到群众来电，反映该学员未实际参训，退回复核"

BLOCK_REASONS = {
    "ATTENDANCE": "出勤不足80%，不予补贴",
    "NOT_COMPLETED": "未完成培训（退学或考核未通过），不予补贴",
    "NO_CERTIFICATE": "未取得本期培训对应的证书，不予补贴",
    "CERT_WINDOW": "证书取得时间不在培训期内或结业后12个月内，不予补贴",
    "CERT_NOT_VALID": "证书已暂停或撤销，不予补贴",
    "SAME_LEVEL_REPEAT": "同一职业同一等级已享受过培训补贴，不予重复补贴",
    "LOWER_LEVEL": "已享受该职业更高等级的培训补贴，不予补贴",
    "ANNUAL_CAP": "本年度已享受3次培训补贴，不予补贴",
    "STARTUP_REPEAT": "已享受过同一创业培训课程的补贴，不予重复补贴",
    "INSTITUTION_NOT_APPROVED": "培训机构不在本年度补贴培训机构目录内，不予补贴",
    "CLAIM_WINDOW": "超过申领期限（取得证书后12个月内申领），不予补贴",
    "HOURS_MINIMUM": "培训计划课时不足40学时，不予补贴",
    "ID_INVALID": "身份证号码校验不通过，不予补贴",
    "CLAWED_BACK": "证书已撤销，补贴已追回",
}
REVIEW_APPROVALS = {
    "OVERLAP": "经核查两期培训课表，上课时段不冲突，同意补贴",
    "SHARED_PHONE": "经电话回访核实为本人参训，同意补贴",
    "AGE_RANGE": "经核对身份证件，确认本人参训，同意补贴",
    "OBJECTION": "经复核异议不成立，同意补贴",
}
REVIEW_REJECTIONS = {
    "OVERLAP": "同一时段在两家机构参训，不予补贴",
    "SHARED_PHONE": "多名学员共用同一手机号且无法核实本人参训，不予补贴",
    "AGE_RANGE": "开班时年龄不在16至59周岁之间，不予补贴",
    "OBJECTION": "经复核异议成立，不予补贴",
}

Say = Callable[[str], None]


# --- the plan (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedClaim:
    cohort: int
    """The cohort's index in the plan."""
    state: str
    """The final state of its (last) claim: one of :data:`STATES`."""
    refiled: bool = False
    """A first claim is filed and withdrawn before this one."""
    published_on: dt.date | None = None
    """The notice's publication day (noticed, payable, paid)."""
    paid_on: dt.date | None = None

    @property
    def batch_reference(self) -> str:
        assert self.paid_on is not None
        return f"LY-{self.paid_on.year}-{self.paid_on.month:02d}"


def _counts(total: int, states: Sequence[str], least: Sequence[str]) -> dict[str, int]:
    """``total`` split over ``states`` by :data:`SHARES`, each of ``least`` (in order, while
    there are cohorts) given at least one."""
    if total <= 0:
        return dict.fromkeys(states, 0)
    counts = dict(zip(states, _largest_remainder(total, [SHARES[s] for s in states]), strict=True))
    for state in least[:total]:
        if counts[state] == 0:
            donor = max(
                (s for s in states if counts[s] > 1 or s not in least[:total]), key=counts.__getitem__
            )
            if counts[donor] == 0:
                break
            counts[donor] -= 1
            counts[state] = 1
    return counts


def plan_claims(
    plan: Plan,
    *,
    fileable: Collection[int],
    claimable: Collection[int],
    claims_date: dt.date,
    running_notice_on: dt.date | None,
) -> list[PlannedClaim]:
    """Each fileable cohort's claim (see the module's documentation). ``claims_date`` is the
    day the claims are filed; ended notices are published from the cohort's last certificate
    and at least 21 days before it (5 working days, a holiday week), paid 1-5 weeks after.
    ``running_notice_on`` is the day a notice that is still running is published on (None:
    none can be, the calendar does not cover it; those claims stay decided)."""
    rng = random.Random(plan.seed * 1_000_003 + plan.year * 7 + 11)
    cohorts = {c.index: c for c in plan.cohorts}
    last_certificate: dict[int, dt.date] = {}
    for certificate in plan.certificates:
        day = last_certificate.get(certificate.cohort)
        if day is None or certificate.issue_date > day:
            last_certificate[certificate.cohort] = certificate.issue_date
    jitter = {i: rng.randint(-30, 30) for i in sorted(fileable)}
    order = sorted(fileable, key=lambda i: (cohorts[i].end_date + dt.timedelta(days=jitter[i]), i))
    late_states = NOTICED_STATES if running_notice_on is not None else ("paid", "payable")
    total = len(order)
    wanted = _counts(total, (*NOTICED_STATES, *EARLY_STATES), MINIMUM_ORDER)
    late_wanted = sum(wanted[s] for s in late_states)
    candidates = [i for i in order if i in claimable]
    late = candidates[:late_wanted]
    late_counts = _counts(len(late), late_states, late_states)
    if len(late) == late_wanted:
        late_counts = {s: wanted[s] for s in late_states}
    rest = [i for i in order if i not in set(late)]
    # The claims that would have been noticed but have no line inside the window are decided,
    # every line rejected (the late claims an auditor turns down).
    early_counts = {s: wanted[s] for s in EARLY_STATES}
    early_counts["decided"] += late_wanted - len(late)
    states: dict[int, str] = {}
    position = 0
    for state in late_states:
        for index in late[position : position + late_counts[state]]:
            states[index] = state
        position += late_counts[state]
    position = 0
    for state in EARLY_STATES:
        for index in rest[position : position + early_counts[state]]:
            states[index] = state
        position += early_counts[state]
    claimed = [i for i in order if states.get(i, "unclaimed") not in ("unclaimed", "withdrawn")]
    refile_count = min(len(claimed), max(1, round(total * REFILED_SHARE))) if claimed else 0
    refiled = set(rng.sample(claimed, refile_count))
    if "withdrawn" not in states.values() and claimed and not refiled:
        refiled = {claimed[-1]}
    out: list[PlannedClaim] = []
    latest_notice = claims_date - dt.timedelta(days=21)
    for index in sorted(states):
        state = states[index]
        if state == "unclaimed":
            continue
        published_on = paid_on = None
        if state in ("paid", "payable"):
            since = last_certificate.get(index, cohorts[index].end_date)
            published_on = min(since + dt.timedelta(days=rng.randint(14, 45)), latest_notice)
            if state == "paid":
                paid_on = min(published_on + dt.timedelta(days=rng.randint(12, 40)), claims_date)
        elif state == "noticed":
            published_on = running_notice_on
        out.append(PlannedClaim(index, state, index in refiled, published_on, paid_on))
    return out


def planned_states(claims: Sequence[PlannedClaim]) -> set[str]:
    """The states the plan's claims end in (a refiled claim adds ``withdrawn``)."""
    return {c.state for c in claims} | ({"withdrawn"} if any(c.refiled for c in claims) else set())


# --- what the database holds --------------------------------------------------------------------


@dataclass(frozen=True)
class HeldClaim:
    id: uuid.UUID
    status: ClaimStatus
    approved_waiting: int
    """Approved lines not granted yet (to go on a notice, or on one)."""
    unpaid_grants: int
    undecided: int


def auditor() -> Principal:
    """The city's auditor (no division): decides, publishes notices, records payments."""
    return Principal(kind="system", id=None, role=Role.AUDITOR, name=ACTOR)


def institution(institution_id: uuid.UUID) -> Principal:
    return Principal(kind="system", id=None, role=Role.INSTITUTION, institution_id=institution_id, name=ACTOR)


async def _held(plan: Plan) -> dict[str, list[HeldClaim]]:
    """The demo's training claims of the year, by cohort reference, oldest first."""
    _, rows = await connections.get("default").execute_query(
        "SELECT c.reference, s.id, s.status, "
        "(SELECT count(*) FROM subsidy_line l WHERE l.claim_id = s.id AND l.decision = 'approved' "
        " AND l.grant_id IS NULL) AS approved_waiting, "
        "(SELECT count(*) FROM subsidy_line l WHERE l.claim_id = s.id AND l.decision IS NULL) AS undecided, "
        "(SELECT count(*) FROM subsidy_grant g WHERE g.claim_id = s.id AND g.reverses_id IS NULL "
        " AND NOT EXISTS (SELECT 1 FROM subsidy_grant r WHERE r.reverses_id = g.id) "
        " AND NOT EXISTS (SELECT 1 FROM subsidy_payment p WHERE p.grant_id = g.id)) AS unpaid_grants "
        "FROM subsidy_claim s JOIN cohort c ON c.id = s.cohort_id "
        "WHERE c.reference LIKE $1 AND s.kind = 'training' AND s.filed_by = $2 ORDER BY s.filed_at, s.id",
        [f"{plan.reference_prefix}{plan.tag}-%", f"system:{ACTOR}"],
    )
    out: dict[str, list[HeldClaim]] = {}
    for r in rows:
        out.setdefault(r["reference"], []).append(
            HeldClaim(
                r["id"],
                ClaimStatus(r["status"]),
                int(r["approved_waiting"]),
                int(r["unpaid_grants"]),
                int(r["undecided"]),
            )
        )
    return out


def _open(held: Sequence[HeldClaim]) -> HeldClaim | None:
    return next((h for h in reversed(held) if h.status is not ClaimStatus.WITHDRAWN), None)


def is_done(planned: PlannedClaim, held: Sequence[HeldClaim]) -> bool:
    """Whether the cohort's claims are where the plan wants them (or as far as they can go: a
    decided claim with no approved line has nothing to notice; a failed one stops)."""
    withdrawn = any(h.status is ClaimStatus.WITHDRAWN for h in held)
    if planned.state == "withdrawn":
        return withdrawn
    if planned.refiled and not withdrawn:
        return False
    claim = _open(held)
    if claim is None:
        return False
    if claim.status is ClaimStatus.FAILED:
        return True
    target = RANK[ClaimStatus(planned.state)]
    rank = RANK[claim.status]
    if planned.state == "in_review" and claim.status is ClaimStatus.COMPUTED and claim.undecided < 2:
        return True  # one line: nothing to leave undecided
    if rank >= target:
        return not (claim.status is ClaimStatus.PAYABLE and planned.state == "paid" and claim.unpaid_grants)
    return rank == RANK[ClaimStatus.DECIDED] and claim.approved_waiting == 0 and claim.undecided == 0


# --- carrying it out ----------------------------------------------------------------------------


async def _context(
    plan: Plan, exclude: Collection[int], today: dt.date
) -> tuple[list[int], list[int], dt.date]:
    """(fileable, claimable, the claims' date)."""
    _, rows = await connections.get("default").execute_query(
        "SELECT min(s.filed_at) AS first FROM subsidy_claim s JOIN cohort c ON c.id = s.cohort_id "
        "WHERE c.reference LIKE $1 AND s.filed_by = $2",
        [f"{plan.reference_prefix}{plan.tag}-%", f"system:{ACTOR}"],
    )
    first = rows[0]["first"] if rows else None
    claims_date = min(today, first.astimezone(BUSINESS_TZ).date()) if first is not None else today
    certificates: dict[int, list[dt.date]] = {}
    for certificate in plan.certificates:
        certificates.setdefault(certificate.cohort, []).append(certificate.issue_date)
    windows: dict[dt.date, int | None] = {}
    fileable: list[int] = []
    claimable: list[int] = []
    for cohort in plan.cohorts:
        if cohort.cancelled or not cohort.enrolments or cohort.institution in exclude:
            continue
        if cohort.end_date not in windows:
            try:
                policy = await choose_policy(cohort.end_date)
                windows[cohort.end_date] = policy.limits.claim_window.months
            except ValidationFailed:
                windows[cohort.end_date] = None
        months = windows[cohort.end_date]
        if months is None:
            continue
        fileable.append(cohort.index)
        days = certificates.get(cohort.index) or [cohort.end_date]
        if any(add_months(day, months) >= claims_date for day in days):
            claimable.append(cohort.index)
    return fileable, claimable, claims_date


async def running_notice_day(claims_date: dt.date, today: dt.date) -> dt.date | None:
    """The day the demo's running notice is published on: the latest day at most
    :data:`RUNNING_NOTICE_LOOK_BACK` days before ``claims_date`` whose five working days the
    calendar covers and that still runs on ``today``; None if there is none.

    Usually ``claims_date`` itself. In the last days of the calendar's last covered year
    (a notice published on 2026-12-28 runs into 2027, which ``chinese-calendar`` 1.11 does
    not know) it is the last day whose notice ends by 31 December (2026-12-24: it runs
    12-25 to 12-31, so it still runs on 12-28 and on 12-31). None only on a day of a year the
    calendar does not cover at all (January, before the bureau loads the year): no notice
    can be published then, by the demo or anyone (:func:`running_notice_note`)."""
    for back in range(RUNNING_NOTICE_LOOK_BACK + 1):
        day = claims_date - dt.timedelta(days=back)
        try:
            days = await notice_period(day)
        except ValidationFailed:
            continue
        if days[-1] >= today:
            return day
    return None


async def running_notice_note(plan: Plan, claims: Sequence[PlannedClaim], today: dt.date) -> str | None:
    """Why the demo holds no running notice, for the operator (None: it holds one)."""
    if any(c.state == "noticed" for c in claims) or not claims:
        return None
    try:
        await notice_period(today)
    except ValidationFailed as exc:
        if exc.code == "calendar_not_loaded":
            return f"no running notice: {exc.message}; then run the demo again"
        raise
    return (
        f"no running notice: no claimable cohort of {plan.year} is left for it (certificates more "
        f"than 12 months old on {today}); run the demo for a later year (--year {today.year})"
    )


async def claims_for(plan: Plan, demo_keys: Collection[int], today: dt.date) -> list[PlannedClaim]:
    fileable, claimable, claims_date = await _context(plan, demo_keys, today)
    return plan_claims(
        plan,
        fileable=fileable,
        claimable=claimable,
        claims_date=claims_date,
        running_notice_on=await running_notice_day(claims_date, claims_date),
    )


async def pending(plan: Plan, claims: Sequence[PlannedClaim]) -> list[PlannedClaim]:
    """The planned claims not yet where the plan wants them."""
    held = await _held(plan)
    return [c for c in claims if not is_done(c, held.get(plan.cohorts[c.cohort].reference, []))]


def _reason_of(flags: Sequence[dict[str, Any]], table: dict[str, str], fallback: str) -> str:
    for flag in flags:
        text = table.get(str(flag.get("code")))
        if text:
            return text
    codes = "、".join(str(f.get("code")) for f in flags) or "?"
    return f"{codes}：{fallback}"


def decisions_for(lines: Sequence[Any], seed: str) -> list[DecisionRequest]:
    """The auditor's decision on each undecided line that is not clean (clean ones are
    approved in bulk): a review line approved (75%) or rejected with a reason naming its
    flag, a blocked line rejected with the reason of its first blocking flag."""
    out: list[DecisionRequest] = []
    for line in lines:
        if line.decision is not None or line.outcome == "clean":
            continue
        if line.outcome == "blocked":
            blocking = [f for f in line.flags if f.get("severity") == "block"]
            out.append(
                DecisionRequest(line.id, Decision.REJECTED, _reason_of(blocking, BLOCK_REASONS, "不予补贴"))
            )
            continue
        review = [f for f in line.flags if f.get("severity") == "review"]
        if random.Random(f"{seed}:{line.seq}").random() < REVIEW_APPROVED_SHARE:
            out.append(
                DecisionRequest(
                    line.id, Decision.APPROVED, _reason_of(review, REVIEW_APPROVALS, "经核实，同意补贴")
                )
            )
        else:
            out.append(
                DecisionRequest(line.id, Decision.REJECTED, _reason_of(review, REVIEW_REJECTIONS, "不予补贴"))
            )
    return out


class _Runner:
    def __init__(self, plan: Plan, vault: Vault, institution_ids: dict[str, uuid.UUID], today: dt.date):
        self.plan = plan
        self.vault = vault
        self.institution_ids = institution_ids
        self.today = today
        self.auditor = auditor()
        self.created = {"claims": 0, "claim_steps": 0}

    def _step(self) -> None:
        self.created["claim_steps"] += 1

    async def file(self, cohort_id: uuid.UUID, reference: str) -> uuid.UUID:
        view = await file_claim(institution(self.institution_ids[reference]), cohort_id, SubsidyKind.TRAINING)
        self.created["claims"] += 1
        self._step()
        return view.id

    async def compute(self, claim_id: uuid.UUID) -> ClaimStatus:
        """Compute the claim in-process (its queued job is marked done first, as a worker
        takes it, so the two never deadlock; a claim the worker computed meanwhile is
        skipped)."""
        report = await compute_claim(claim_id, vault=self.vault)
        self._step()
        if report is not None and report.status == "failed":
            return ClaimStatus.FAILED
        return ClaimStatus.COMPUTED

    async def decide_lines(self, claim_id: uuid.UUID, seed: str, *, partial: bool = False) -> ClaimStatus:
        view = await get_claim(self.auditor, claim_id)
        lines = sorted(view.lines or [], key=lambda line: line.seq)
        undecided = [line for line in lines if line.decision is None]
        if not undecided:
            return view.status
        if partial:
            # Some lines decided, the last third (at least one) still to look at.
            if len(undecided) < 2:
                return view.status
            keep = undecided[: len(undecided) - max(1, len(undecided) // 3)]
            requests = [
                DecisionRequest(line.id, Decision.APPROVED) for line in keep if line.outcome == "clean"
            ]
            requests += decisions_for(keep, seed)
            batch = DecisionBatch(lines=requests)
        else:
            batch = DecisionBatch(lines=decisions_for(undecided, seed), approve_clean=True)
        if not batch.lines and not batch.approve_clean:
            return view.status
        try:
            decided = await decide(self.auditor, claim_id, batch)
        except ValidationFailed as exc:
            if any(e.code == "required" for e in exc.errors):  # nothing clean to approve
                return view.status
            raise
        self._step()
        return decided.status

    async def advance(self, planned: PlannedClaim, held: list[HeldClaim], cohort_id: uuid.UUID) -> None:
        reference = self.plan.cohorts[planned.cohort].reference
        seed = f"{self.plan.seed}:{reference}"
        withdrawn = any(h.status is ClaimStatus.WITHDRAWN for h in held)
        claim = _open(held)
        status = None if claim is None else claim.status
        claim_id = None if claim is None else claim.id
        if (planned.refiled or planned.state == "withdrawn") and not withdrawn:
            if claim_id is None or status not in (ClaimStatus.SUBMITTED, ClaimStatus.COMPUTED):
                claim_id, status = await self.file(cohort_id, reference), ClaimStatus.SUBMITTED
            if status is ClaimStatus.SUBMITTED:
                await self.compute(claim_id)
            reason = WITHDRAW_ONLY_REASON if planned.state == "withdrawn" else WITHDRAW_REASON
            await withdraw_claim(institution(self.institution_ids[reference]), claim_id, reason)
            self._step()
            claim_id = status = None
        if planned.state == "withdrawn":
            return
        if claim_id is None or status is None:
            claim_id, status = await self.file(cohort_id, reference), ClaimStatus.SUBMITTED
        target = ClaimStatus(planned.state)
        if target is ClaimStatus.SUBMITTED or status is ClaimStatus.FAILED:
            return
        if status is ClaimStatus.SUBMITTED:
            status = await self.compute(claim_id)
            if status is ClaimStatus.FAILED:
                return
        if target is ClaimStatus.COMPUTED:
            return
        if status in (ClaimStatus.COMPUTED, ClaimStatus.IN_REVIEW):
            status = await self.decide_lines(claim_id, seed, partial=target is ClaimStatus.IN_REVIEW)
        if target is ClaimStatus.IN_REVIEW or status is not ClaimStatus.DECIDED:
            return
        if target is ClaimStatus.DECIDED or planned.published_on is None:
            return
        try:
            notice = await publish_notice(self.auditor, claim_id, today=planned.published_on)
        except (Conflict, ValidationFailed) as exc:
            if exc.code in ("nothing_to_notice", "calendar_not_loaded"):
                return  # every line rejected (late claims), or a year the calendar lacks
            raise
        self._step()
        if target is ClaimStatus.NOTICED:
            lines = (await get_claim(self.auditor, claim_id)).lines or []
            approved = [line for line in lines if line.decision == "approved"]
            if len(approved) >= 2:
                await record_objection(self.auditor, claim_id, approved[-1].id, OBJECTION_REASON)
                self._step()
            return
        await self.grant_and_pay(planned, claim_id, seed, notice.id)

    async def resume_after_notice(self, planned: PlannedClaim, claim: HeldClaim) -> None:
        """A payable claim still to pay (or a noticed one whose notice ended), as after a run
        cut short."""
        _, rows = await connections.get("default").execute_query(
            "SELECT id FROM claim_notice WHERE claim_id = $1 AND status = 'running'", [claim.id]
        )
        seed = f"{self.plan.seed}:{self.plan.cohorts[planned.cohort].reference}"
        await self.grant_and_pay(planned, claim.id, seed, rows[0]["id"] if rows else None)

    async def grant_and_pay(
        self, planned: PlannedClaim, claim_id: uuid.UUID, seed: str, notice_id: uuid.UUID | None
    ) -> None:
        if notice_id is not None and await close_notice(self.auditor, notice_id, self.today) is not None:
            self._step()
        # Lines the notice's end sent back (a repeat or the cap under the ledger's lock) are
        # blocked now: rejected, as the auditor would.
        view = await get_claim(self.auditor, claim_id)
        back = decisions_for([line for line in view.lines or [] if line.decision is None], seed)
        if back:
            await decide(self.auditor, claim_id, DecisionBatch(lines=back))
            self._step()
        if planned.state != "paid" or planned.paid_on is None:
            return
        try:
            # Never dated before the grant, which the ledger wrote today (a payment is refused
            # before its grant): the planned day, or today for a year the demo replays.
            await record_payment(
                self.auditor,
                claim_id,
                paid_on=max(planned.paid_on, business_today()),
                batch_reference=planned.batch_reference,
            )
        except Conflict as exc:
            if exc.code != "line_not_granted":
                raise
            return
        self._step()


async def load_claims(
    plan: Plan,
    vault: Vault,
    claims: Sequence[PlannedClaim],
    *,
    today: dt.date | None = None,
    tick: Callable[[Callable[[], str]], None] = lambda _message: None,
) -> dict[str, int]:
    """Carry out the planned claims not yet done (see the module's documentation); what it
    did: ``claims`` filed, ``claim_steps`` taken (each one service call that changed
    something). The claims left ``submitted`` are filed last (the worker computes them)."""
    today = today or business_today()
    todo = await pending(plan, claims)
    if not todo:
        return {"claims": 0, "claim_steps": 0}
    references = [plan.cohorts[c.cohort].reference for c in todo]
    _, rows = await connections.get("default").execute_query(
        "SELECT reference, id, institution_id FROM cohort WHERE reference = ANY($1::text[])", [references]
    )
    cohort_ids = {r["reference"]: r["id"] for r in rows}
    runner = _Runner(plan, vault, {r["reference"]: r["institution_id"] for r in rows}, today)
    held = await _held(plan)
    ordered = sorted(todo, key=lambda c: (c.state == "submitted", c.cohort))
    for done, planned in enumerate(ordered, start=1):
        reference = plan.cohorts[planned.cohort].reference
        mine = held.get(reference, [])
        claim = _open(mine)
        try:
            if (
                claim is not None
                and claim.status in (ClaimStatus.NOTICED, ClaimStatus.PAYABLE)
                and planned.state in ("payable", "paid")
            ):
                await runner.resume_after_notice(planned, claim)
            else:
                await runner.advance(planned, mine, cohort_ids[reference])
        except RegistryError as exc:
            exc.add_note(f"the demo claim of {reference} (planned {planned.state})")
            raise
        message = f"claims {done}/{len(todo)} ({runner.created['claims']} filed)"
        tick(lambda: message)  # noqa: B023 - called at once
    return runner.created


# --- the summary --------------------------------------------------------------------------------


async def claims_summary(plan: Plan) -> dict[str, Any]:
    """The year's training claims (everyone's, the demo institution's too) by status, and the
    money: claimed (the computed lines of the claims not withdrawn or failed), granted (net of
    clawbacks) and paid, in fen."""
    conn = connections.get("default")
    refs = f"{plan.reference_prefix}{plan.tag}-%"
    _, by_status = await conn.execute_query(
        "SELECT s.status, count(*) AS n FROM subsidy_claim s JOIN cohort c ON c.id = s.cohort_id "
        "WHERE c.reference LIKE $1 GROUP BY 1",
        [refs],
    )
    _, money = await conn.execute_query(
        "SELECT "
        "(SELECT coalesce(sum(s.total_fen), 0) FROM subsidy_claim s JOIN cohort c ON c.id = s.cohort_id "
        " WHERE c.reference LIKE $1 AND s.status NOT IN ('withdrawn', 'failed')) AS claimed_fen, "
        "(SELECT coalesce(sum(g.amount_fen), 0) FROM subsidy_grant g JOIN subsidy_claim s ON s.id = g.claim_id "
        " JOIN cohort c ON c.id = s.cohort_id WHERE c.reference LIKE $1) AS granted_fen, "
        "(SELECT coalesce(sum(p.amount_fen), 0) FROM subsidy_payment p JOIN subsidy_claim s ON s.id = p.claim_id "
        " JOIN cohort c ON c.id = s.cohort_id WHERE c.reference LIKE $1) AS paid_fen",
        [refs],
    )
    counts = {r["status"]: int(r["n"]) for r in by_status}
    return {
        "by_status": {s: counts[s] for s in (*STATES, "failed") if counts.get(s)},
        "claimed_fen": int(money[0]["claimed_fen"]),
        "granted_fen": int(money[0]["granted_fen"]),
        "paid_fen": int(money[0]["paid_fen"]),
    }


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"
