"""The subsidy rule, pure: a person's lines from plain facts and a policy document.

One function computes the lines of one person's enrolment, :func:`evaluate`; the calculator
endpoint calls it for one person, and the claims engine calls :func:`evaluate_batch` for the
people of a claim, so every yuan is computed by the same code. Nothing here reads the
database: the caller resolves the policy in force on the cohort's end date
(:func:`registry.subsidy.policy.in_force`) and whether the occupation is on the priority list
in force on the cohort's start date.

Lines (DESIGN.md section 5):

- a ``training`` line, always: the base from the policy's table for the cohort's target
  (vocational: skill level 5..1, special ability, special operation first/renewal, completion
  per attended hour capped; startup: the course), plus the uplifts that match (vocational
  lines only, where the policy says so), total rounded to whole yuan half up, in fen;
- an ``assessment`` line (to the assessment body) where the certificate is a skill-level or a
  special-ability certificate: the amount for its level, the policy's share of it for direct
  recognition (直接认定), no uplift.

Each line carries its flags (the rule's code, the severity the policy gives it, a message) and
its trace: one step per rule, with its inputs and result, so anyone can read why. The outcome
is ``blocked`` with any ``block`` flag, ``review`` with only ``review`` flags, else ``clean``;
the amounts are computed either way.

Which rules apply to which line:

=========================  ==============  ================
rule                       training line   assessment line
=========================  ==============  ================
NOT_COMPLETED              yes             no
ATTENDANCE                 yes             no
HOURS_MINIMUM              vocational      no
AGE_RANGE                  yes             yes
INSTITUTION_NOT_APPROVED   yes             no (the training institution's approval)
ASSESSOR_NOT_APPROVED      no              yes (the assessment body's approval)
PRIORITY_LIST_UNCONFIRMED  list uplift     no (no uplift)
NO_CERTIFICATE             vocational      yes (the certificate must be the cohort's)
CERT_NOT_VALID             with a cert.    yes
CERT_WINDOW                with a cert.    yes
CLAIM_WINDOW               yes             yes
SAME_LEVEL_REPEAT          vocational      yes (against the assessment grants)
LOWER_LEVEL                skill level     no
STARTUP_REPEAT             startup         no
ANNUAL_CAP                 yes             no (the cap counts training grants)
ID_INVALID                 claims          claims
OVERLAP                    claims          claims
SHARED_PHONE               claims          claims
=========================  ==============  ================

"claims": judged from what the claims engine found in the database (:class:`Findings`); the
calculator has no such facts and its lines carry no such step. "list uplift": a step on
every training line, judged (not ``not_applicable``) only where an uplift that depends on
the priority list matched and the list is known (:class:`PriorityListFacts`).

Decided where the design is silent (docs/subsidy-policy.md holds the notes generated with
the published document, which predate the later rules; docs/auditors.md, section 4, the
flags as auditors read them):

- NO_CERTIFICATE fires when there is no certificate or it is not of the cohort's occupation,
  kind and level; a matching certificate that is suspended or revoked is CERT_NOT_VALID
  (one flag per fault). A completion certificate without an occupation matches any cohort
  occupation (the certificate rules make its occupation optional).
- The training base is the cohort's target (its certificate kind and level), so a mismatched
  certificate still shows what was at stake; special operation uses the renewal amount when
  the certificate is a renewal.
- A line's date is its certificate's issue date, else the cohort's end date: it gives the
  line's year (ANNUAL_CAP) and the start of CLAIM_WINDOW.
- Repeats (SAME_LEVEL_REPEAT): a line repeats a grant (or an earlier line) that holds one of
  its slots (:func:`registry.ledger.rules.slots`, the same slots as the ledger's partial
  unique indexes): a skill level of an occupation at a level; a level-less subsidy (special
  ability, a special-operation first certificate, completion) per certificate kind and
  occupation, so completion and special ability of one occupation are different subsidies;
  and its certificate, which backs one training grant and one assessment grant, ever. A
  special-operation renewal holds only its certificate's slot: it is paid once per renewal
  certificate, so without a certificate id (the calculator) it repeats nothing and its step
  is ``not_applicable``. A calculator history item with a level and no certificate kind is a
  skill level. Training lines are judged against the training history, assessment lines
  against the assessment history (:attr:`PersonFacts.assessment_history`).
- LOWER_LEVEL's predicate is :func:`registry.ledger.rules.outranks`, the one the notice's
  end uses too (:func:`registry.ledger.rules.batch_conflicts`, under the people's ledger
  locks, with the slots and the cap).
- Within a batch, an earlier line of the same person counts as a grant unless it is blocked
  (a review line may be approved: the cap and the repeats assume it will be); earlier
  assessment lines likewise for the assessment line's repeats.
- Rules added after a published policy (:data:`LATER_RULES`: ASSESSOR_NOT_APPROVED, block;
  PRIORITY_LIST_UNCONFIRMED, review) take the registry's severity while a policy document
  does not list them (a published document is immutable).
- ASSESSOR_NOT_APPROVED's fact (:attr:`PersonFacts.assessor_approved`) is the assessment
  body's standing: active and approved for the year the cohort started; the calculator has
  no such fact (it passes). PRIORITY_LIST_UNCONFIRMED flags an uplift from a list the bureau
  neither loaded nor confirmed; the UPLIFT step names the list (code, document, published).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

import msgspec

from registry.core.errors import FieldError
from registry.core.text import visible_text
from registry.enums import (
    CertificateKind,
    CertificateStatus,
    ClaimStatus,
    CohortKind,
    EnrolmentOutcome,
    StartupCourse,
    SubsidyKind,
    TrainingMode,
)
from registry.ledger.rules import Slot, outranks, slots
from registry.subsidy.policy import Policy, Uplift

Outcome = Literal["clean", "review", "blocked"]
LineKind = Literal["training", "assessment"]

VOCATIONAL_KINDS = frozenset(
    {
        CertificateKind.SKILL_LEVEL,
        CertificateKind.SPECIAL_ABILITY,
        CertificateKind.SPECIAL_OPERATION,
        CertificateKind.COMPLETION,
    }
)
ASSESSED_KINDS = frozenset({CertificateKind.SKILL_LEVEL, CertificateKind.SPECIAL_ABILITY})
PASS, FLAG, NOT_APPLICABLE = "pass", "flag", "not_applicable"


# ---------------------------------------------------------------------------
# Facts in
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFacts:
    kind: CohortKind
    planned_hours: int
    start_date: dt.date
    end_date: dt.date
    occupation_code: str | None = None
    certificate_kind: CertificateKind | None = None
    certificate_level: int | None = None
    startup_course: StartupCourse | None = None
    training_mode: TrainingMode | None = None


@dataclass(frozen=True)
class CertificateFacts:
    kind: CertificateKind
    issue_date: dt.date
    level: int | None = None
    occupation_code: str | None = None
    startup_course: StartupCourse | None = None
    status: CertificateStatus = CertificateStatus.VALID
    is_renewal: bool = False
    direct_recognition: bool = False


@dataclass(frozen=True)
class Grant:
    """A training grant the person already has (the ledger), or an earlier line of the same
    batch. ``kind`` is the cohort kind it was granted for."""

    kind: CohortKind
    year: int
    occupation_code: str | None = None
    level: int | None = None
    startup_course: StartupCourse | None = None
    counts_towards_cap: bool = True
    """False for a grant the ledger has clawed back: it keeps its slot (the repeat rules
    still see it) but no longer counts towards ANNUAL_CAP."""
    certificate_kind: CertificateKind | None = None
    """The certificate kind it was granted for (the cohort's target); None with a level
    means ``skill_level`` (the calculator's history may leave it out then)."""
    is_renewal: bool = False
    """A special-operation renewal (复审): it repeats only on the same certificate."""
    certificate_id: uuid.UUID | None = None
    """The certificate it was granted on (the ledger's; the calculator has none)."""

    def slots(self, kind: SubsidyKind = SubsidyKind.TRAINING) -> tuple[Slot, ...]:
        """The slots it holds (:func:`registry.ledger.rules.slots`)."""
        certificate_kind = self.certificate_kind
        if certificate_kind is None and self.level is not None:
            certificate_kind = CertificateKind.SKILL_LEVEL
        return slots(
            kind,
            occupation_code=self.occupation_code,
            level=self.level,
            certificate_kind=certificate_kind,
            startup_course=self.startup_course,
            is_renewal=self.is_renewal,
            certificate_id=self.certificate_id,
        )


@dataclass(frozen=True)
class PriorityListFacts:
    """The priority-trade list an uplift comes from, as the UPLIFT step names it."""

    code: str
    document: str = ""
    confirmed: bool = False
    """Published by the bureau (loaded by it) or confirmed by it (``registry priority-list
    confirm``); False for the shipped reference selection until then."""


@dataclass(frozen=True)
class PersonFacts:
    cohort: CohortFacts
    birth_date: dt.date
    attended_hours: Decimal
    outcome: EnrolmentOutcome
    claim_date: dt.date
    certificate: CertificateFacts | None = None
    history: tuple[Grant, ...] = ()
    """The person's training grants."""
    institution_approved: bool = True
    certificate_id: uuid.UUID | None = None
    """The certificate's id where it is known (claims): it holds a slot of its own."""
    assessment_history: tuple[Grant, ...] = ()
    """The person's assessment grants (claims: the assessment line's repeats)."""
    assessor_approved: bool = True
    """ASSESSOR_NOT_APPROVED's fact: the assessment body is approved for the year and active."""
    priority_list: PriorityListFacts | None = None
    """The priority-trade list in force on the cohort's start date (None: no list)."""


# ---------------------------------------------------------------------------
# Lines out
# ---------------------------------------------------------------------------


class Flag(msgspec.Struct, frozen=True, gc=False):
    code: str
    severity: str
    message: str


class Step(msgspec.Struct, frozen=True, gc=False):
    """One rule's step of a line's trace. Steps whose inputs are the same (the cohort's, the
    policy's) are built once per batch and shared by the lines that have them: never
    mutate ``inputs``."""

    rule: str
    inputs: dict[str, Any]
    result: Any


class Line(msgspec.Struct, frozen=True, gc=False):
    kind: LineKind
    base_fen: int
    uplift_fen: int
    total_fen: int
    outcome: Outcome
    flags: tuple[Flag, ...]
    trace: tuple[Step, ...]


class Evaluation(msgspec.Struct, frozen=True, gc=False):
    policy_code: str
    priority_trade: bool
    lines: tuple[Line, ...]

    def line(self, kind: LineKind) -> Line | None:
        return next((line for line in self.lines if line.kind == kind), None)


@dataclass(frozen=True)
class Overlap:
    """Another institution's cohort the person was enrolled in at the same time."""

    start_date: dt.date
    end_date: dt.date


@dataclass(frozen=True)
class Findings:
    """What the claims engine found in the database about one person (the checks the
    calculator cannot make): whether the ID number is valid (``id_problem``: why not), the
    overlapping enrolments at other institutions, and how many people (at how many
    institutions) were enrolled with the same phone number."""

    id_problem: str | None = None
    overlaps: tuple[Overlap, ...] = ()
    shared_phone_trainees: int = 0
    shared_phone_institutions: int = 0


SHARED_PHONE_MIN_TRAINEES = 5
"""SHARED_PHONE: a phone number given for this many people or more (the rule's title in the
policy document says 5; the rule has no amount to keep in the document)."""


@dataclass(frozen=True)
class BatchItem:
    """One person's facts in a batch; ``person_key`` is the ID blind index (it orders the
    batch and tells whose earlier lines count as grants). ``findings`` (claims only) adds
    the database checks ID_INVALID, OVERLAP and SHARED_PHONE to every line."""

    person_key: str
    facts: PersonFacts
    policy: Policy
    priority_trade: bool
    findings: Findings | None = None


# ---------------------------------------------------------------------------
# Arithmetic and dates
# ---------------------------------------------------------------------------


def round_half_up_to_yuan(fen: Fraction | int) -> int:
    """A non-negative amount in fen rounded to whole yuan, half up (150 fen -> 200 fen)."""
    value = Fraction(fen)
    if value < 0:
        raise ValueError("amounts are never negative")
    return math.floor(value / 100 + Fraction(1, 2)) * 100


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; the month's last day where it is shorter (01-31 + 1 =
    02-28 or 02-29)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on ``day``: a person born 1965-03-01 is 60 on 2025-03-01."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _fraction_text(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else str(Decimal(value.numerator) / value.denominator)
    )


# ---------------------------------------------------------------------------
# Facts that contradict each other (the caller answers 422)
# ---------------------------------------------------------------------------


def fact_errors(facts: PersonFacts) -> list[FieldError]:
    """What makes the facts impossible to judge: fields that must or must not be there for the
    cohort's kind, dates out of order, negative hours. Empty when the facts are coherent."""
    errors: list[FieldError] = []
    cohort = facts.cohort

    def err(path: str, code: str, message: str) -> None:
        errors.append(FieldError(path, code, message))

    if cohort.planned_hours <= 0:
        err("cohort.planned_hours", "out_of_range", "planned hours are a positive number")
    if cohort.end_date < cohort.start_date:
        err("cohort.end_date", "before_start", "the cohort ends before it starts")
    if cohort.kind is CohortKind.VOCATIONAL:
        if cohort.occupation_code is None:
            err("cohort.occupation_code", "required", "a vocational cohort names its occupation")
        if cohort.certificate_kind is None:
            err("cohort.certificate_kind", "required", "a vocational cohort names its certificate kind")
        elif cohort.certificate_kind not in VOCATIONAL_KINDS:
            err("cohort.certificate_kind", "invalid", "a vocational cohort leads to a vocational certificate")
        elif cohort.certificate_kind is CertificateKind.SKILL_LEVEL and cohort.certificate_level is None:
            err("cohort.certificate_level", "required", "a skill-level cohort names its level (1-5)")
        elif (
            cohort.certificate_kind is not CertificateKind.SKILL_LEVEL
            and cohort.certificate_level is not None
        ):
            err("cohort.certificate_level", "not_applicable", "only a skill-level cohort has a level")
        if cohort.startup_course is not None:
            err("cohort.startup_course", "not_applicable", "a vocational cohort has no startup course")
    else:
        if cohort.startup_course is None:
            err("cohort.startup_course", "required", "a startup cohort names its course (GYB, SYB, IYB, EYB)")
        if cohort.occupation_code is not None:
            err("cohort.occupation_code", "not_applicable", "a startup cohort has no occupation")
        if cohort.certificate_kind not in (None, CertificateKind.STARTUP):
            err(
                "cohort.certificate_kind", "not_applicable", "a startup cohort leads to a startup certificate"
            )
        if cohort.certificate_level is not None:
            err("cohort.certificate_level", "not_applicable", "a startup cohort has no skill level")
    if facts.attended_hours < 0:
        err("attended_hours", "out_of_range", "attended hours are not negative")
    if facts.birth_date > cohort.start_date:
        err("birth_date", "after_start", "the person was born after the cohort started")
    certificate = facts.certificate
    if certificate is not None:
        if certificate.kind is CertificateKind.SKILL_LEVEL and certificate.level is None:
            err("certificate.level", "required", "a skill-level certificate has a level (1-5)")
        if certificate.kind is not CertificateKind.SKILL_LEVEL and certificate.level is not None:
            err("certificate.level", "not_applicable", "only a skill-level certificate has a level")
        if certificate.is_renewal and certificate.kind is not CertificateKind.SPECIAL_OPERATION:
            err("certificate.is_renewal", "not_applicable", "only a special-operation certificate is renewed")
        if certificate.kind is CertificateKind.STARTUP:
            if cohort.kind is CohortKind.VOCATIONAL:
                err(
                    "certificate.kind",
                    "invalid",
                    "a vocational cohort does not lead to a startup certificate",
                )
            if certificate.startup_course is None:
                err("certificate.startup_course", "required", "a startup certificate names its course")
            elif (
                cohort.startup_course is not None and certificate.startup_course is not cohort.startup_course
            ):
                err("certificate.startup_course", "mismatch", "the certificate is not of the cohort's course")
            if certificate.occupation_code is not None:
                err(
                    "certificate.occupation_code", "not_applicable", "a startup certificate has no occupation"
                )
        else:
            if cohort.kind is CohortKind.STARTUP:
                err("certificate.kind", "invalid", "a startup cohort leads to a startup certificate")
            if certificate.startup_course is not None:
                err("certificate.startup_course", "not_applicable", "only a startup certificate has a course")
            if certificate.occupation_code is None and certificate.kind is not CertificateKind.COMPLETION:
                err("certificate.occupation_code", "required", "the certificate names its occupation")
    for index, grant in enumerate(facts.history):
        where = f"history[{index}]"
        if grant.kind is CohortKind.VOCATIONAL:
            if grant.occupation_code is None:
                err(f"{where}.occupation_code", "required", "a vocational grant names its occupation")
            if grant.startup_course is not None:
                err(f"{where}.startup_course", "not_applicable", "a vocational grant has no startup course")
            if grant.certificate_kind is None and grant.level is None:
                err(
                    f"{where}.certificate_kind",
                    "required",
                    "a vocational grant names its certificate kind (skill_level, special_ability, "
                    "special_operation or completion), or its level for a skill level",
                )
            elif grant.certificate_kind not in (None, *VOCATIONAL_KINDS):
                err(
                    f"{where}.certificate_kind",
                    "invalid",
                    "a vocational grant is of a vocational certificate",
                )
            elif grant.certificate_kind is CertificateKind.SKILL_LEVEL and grant.level is None:
                err(f"{where}.level", "required", "a skill-level grant has a level (1-5)")
            elif (
                grant.certificate_kind not in (None, CertificateKind.SKILL_LEVEL) and grant.level is not None
            ):
                err(f"{where}.level", "not_applicable", "only a skill-level grant has a level")
            if grant.is_renewal and grant.certificate_kind is not CertificateKind.SPECIAL_OPERATION:
                err(f"{where}.is_renewal", "not_applicable", "only a special-operation grant is a renewal")
        else:
            if grant.startup_course is None:
                err(f"{where}.startup_course", "required", "a startup grant names its course")
            if grant.occupation_code is not None or grant.level is not None:
                err(f"{where}.level", "not_applicable", "a startup grant has no occupation or level")
            if grant.certificate_kind is not None or grant.is_renewal:
                err(
                    f"{where}.certificate_kind",
                    "not_applicable",
                    "a startup grant has no vocational certificate kind",
                )
    return errors


# ---------------------------------------------------------------------------
# Computing one person's lines
# ---------------------------------------------------------------------------


LATER_RULES = {"ASSESSOR_NOT_APPROVED": "block", "PRIORITY_LIST_UNCONFIRMED": "review"}
"""Rules added after a published policy document (DESIGN.md section 5), with their severity:
a policy is immutable once published, so a document that predates a rule does not list it
and the rule applies with this severity; a later document that lists it sets its own."""


class _Tables:
    """What a batch looks up in its policy, built once per policy and batch: the rules'
    severities by code, and the memo of the steps that repeat (:func:`_memo`)."""

    __slots__ = ("memo", "policy", "severity")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.severity = {rule.code: rule.severity for rule in policy.rules}
        self.memo: dict[Any, tuple[Any, tuple[Step, ...], tuple[Flag, ...]]] = {}

    def flag(self, code: str, message: str) -> Flag:
        severity = self.severity.get(code) or LATER_RULES.get(code)
        if severity is None:
            severity = self.policy.rule(code).severity  # raises KeyError, as policy.rule does
        return Flag(code, severity, message)


class _Judge:
    """Collects one line's flags and trace."""

    __slots__ = ("flags", "policy", "tables", "trace")

    def __init__(self, tables: _Tables) -> None:
        self.tables = tables
        self.policy = tables.policy
        self.flags: list[Flag] = []
        self.trace: list[Step] = []

    def step(self, rule: str, inputs: dict[str, Any], result: Any) -> None:
        self.trace.append(Step(rule, inputs, result))

    def check(self, code: str, inputs: dict[str, Any], failed: bool | None, message: str = "") -> None:
        """A rule's step: ``failed`` None = the rule does not apply to this line."""
        if failed is None:
            self.trace.append(Step(code, inputs, NOT_APPLICABLE))
            return
        if failed:
            self.trace.append(Step(code, inputs, FLAG))
            self.flags.append(self.tables.flag(code, message))
        else:
            self.trace.append(Step(code, inputs, PASS))

    def outcome(self) -> Outcome:
        severities = {flag.severity for flag in self.flags}
        return "blocked" if "block" in severities else "review" if severities else "clean"

    def line(self, kind: LineKind, base_fen: int, total_fen: int) -> Line:
        flags = tuple(self.flags)
        memo = self.tables.memo
        key = ("OUTCOME", flags)
        hit = memo.get(key)
        if hit is None:
            outcome = self.outcome()
            step = Step("OUTCOME", {"flags": [f"{flag.code}:{flag.severity}" for flag in flags]}, outcome)
            hit = memo[key] = (outcome, (step,), ())
        self.trace.append(hit[1][0])
        return Line(kind, base_fen, total_fen - base_fen, total_fen, hit[0], flags, tuple(self.trace))


def _memo(judge: _Judge, key: tuple[Any, ...], build: Any, *args: Any) -> Any:
    """``build(judge, *args)``, its steps and flags recorded once per batch under ``key``
    (which names everything they depend on besides the policy) and replayed on the lines
    that have the same key: the same trace, flags and result, built once."""
    memo = judge.tables.memo
    hit = memo.get(key)
    if hit is None:
        sub = _Judge(judge.tables)
        value = build(sub, *args)
        hit = memo[key] = (value, tuple(sub.trace), tuple(sub.flags))
    judge.trace.extend(hit[1])
    if hit[2]:
        judge.flags.extend(hit[2])
    return hit[0]


def line_date(facts: PersonFacts) -> dt.date:
    """The certificate's issue date, else the cohort's end date."""
    return facts.certificate.issue_date if facts.certificate is not None else facts.cohort.end_date


def _is_renewal(facts: PersonFacts) -> bool:
    certificate = facts.certificate
    return (
        facts.cohort.certificate_kind is CertificateKind.SPECIAL_OPERATION
        and certificate is not None
        and certificate.kind is CertificateKind.SPECIAL_OPERATION
        and certificate.is_renewal
    )


def _whole_yuan_base(judge: _Judge, raw: Fraction, inputs: dict[str, Any]) -> int:
    base = int(raw) if raw.denominator == 1 and int(raw) % 100 == 0 else round_half_up_to_yuan(raw)
    inputs = {**inputs, "amount_fen": _fraction_text(raw)}
    if base != raw:
        inputs["rounding"] = "whole yuan, half up"
    judge.step("BASE", inputs, base)
    return base


def _training_base(judge: _Judge, facts: PersonFacts) -> int:
    cohort, policy, training = facts.cohort, judge.policy, judge.policy.training
    if cohort.kind is CohortKind.STARTUP:
        entry = next(e for e in training.startup if e.course is cohort.startup_course)
        return _whole_yuan_base(
            judge,
            Fraction(entry.amount_fen),
            {"kind": "startup", "course": str(entry.course), **_provenance(entry.source, entry.assumed)},
        )
    kind = cohort.certificate_kind
    if kind is CertificateKind.SKILL_LEVEL:
        level = next(e for e in training.skill_level if e.level == cohort.certificate_level)
        inputs: dict[str, Any] = {"certificate_kind": str(kind), "level": level.level}
        return _whole_yuan_base(
            judge, Fraction(level.amount_fen), {**inputs, **_provenance(level.source, level.assumed)}
        )
    if kind is CertificateKind.SPECIAL_ABILITY:
        ability = training.special_ability
        return _whole_yuan_base(
            judge,
            Fraction(ability.amount_fen),
            {"certificate_kind": str(kind), **_provenance(ability.source, ability.assumed)},
        )
    if kind is CertificateKind.SPECIAL_OPERATION:
        operation = training.special_operation
        renewal = _is_renewal(facts)
        amount = operation.renewal_fen if renewal else operation.first_fen
        return _whole_yuan_base(
            judge,
            Fraction(amount),
            {
                "certificate_kind": str(kind),
                "renewal": renewal,
                **_provenance(operation.source, operation.assumed),
            },
        )
    completion = training.completion
    counted = min(facts.attended_hours, Decimal(cohort.planned_hours))
    raw = (counted * completion.per_hour_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    capped = min(int(raw), completion.cap_fen)
    del policy
    return _whole_yuan_base(
        judge,
        Fraction(capped),
        {
            "certificate_kind": "completion",
            "attended_hours": str(facts.attended_hours),
            "planned_hours": cohort.planned_hours,
            "counted_hours": str(counted),
            "per_hour_fen": completion.per_hour_fen,
            "before_cap_fen": int(raw),
            "cap_fen": completion.cap_fen,
            **_provenance(completion.source, completion.assumed),
        },
    )


def _provenance(source: str | None, assumed: bool) -> dict[str, Any]:
    return {"source": source, "assumed": assumed}


def _uplift_matches(uplift: Uplift, facts: PersonFacts, priority_trade: bool) -> bool:
    if facts.cohort.kind not in uplift.applies_to:
        return False
    if uplift.priority_trade is not None and uplift.priority_trade != priority_trade:
        return False
    mode = facts.cohort.training_mode or TrainingMode.GENERAL
    return uplift.training_modes is None or mode in uplift.training_modes


def _list_inputs(listed: PriorityListFacts | None) -> dict[str, Any] | None:
    if listed is None:
        return None
    return {"code": listed.code, "document": listed.document, "published": listed.confirmed}


def _total_with_uplift(judge: _Judge, facts: PersonFacts, base: int, priority_trade: bool) -> int:
    matching = [u for u in judge.policy.uplifts if _uplift_matches(u, facts, priority_trade)]
    percent = sum(u.percent for u in matching)
    exact = Fraction(base * percent, 100)
    judge.step(
        "UPLIFT",
        {
            "base_fen": base,
            "cohort_kind": str(facts.cohort.kind),
            "priority_trade": priority_trade,
            "priority_list_date": facts.cohort.start_date.isoformat(),
            "training_mode": str(facts.cohort.training_mode or TrainingMode.GENERAL),
            "priority_list": _list_inputs(facts.priority_list),
            "matching": [
                {"code": u.code, "percent": u.percent, **_provenance(u.source, u.assumed)} for u in matching
            ],
            "percent": percent,
        },
        _fraction_text(exact),
    )
    from_list = [u.code for u in matching if u.priority_trade]
    listed = facts.priority_list
    judge.check(
        "PRIORITY_LIST_UNCONFIRMED",
        {"uplifts_from_the_list": from_list, "priority_list": _list_inputs(listed)},
        None if not from_list or listed is None else not listed.confirmed,
        f"the priority-trade uplift comes from the list {listed and listed.code}, "
        "which the bureau has not published or confirmed",
    )
    total = round_half_up_to_yuan(base + exact)
    judge.step(
        "TOTAL",
        {"base_fen": base, "uplift_fen": _fraction_text(exact), "rounding": "whole yuan, half up"},
        total,
    )
    return total


def _certificate_matches(facts: PersonFacts) -> bool:
    cohort, certificate = facts.cohort, facts.certificate
    if certificate is None or certificate.kind is not cohort.certificate_kind:
        return False
    if certificate.kind is CertificateKind.SKILL_LEVEL and certificate.level != cohort.certificate_level:
        return False
    if certificate.kind is CertificateKind.COMPLETION and certificate.occupation_code is None:
        return True
    return certificate.occupation_code == cohort.occupation_code


def _certificate_checks(judge: _Judge, facts: PersonFacts) -> None:
    """NO_CERTIFICATE, CERT_NOT_VALID, CERT_WINDOW (all need the certificate, or its absence)."""
    cohort, certificate = facts.cohort, facts.certificate
    limits = judge.policy.limits
    if cohort.kind is CohortKind.VOCATIONAL:
        wanted = {
            "occupation_code": cohort.occupation_code,
            "certificate_kind": str(cohort.certificate_kind),
            "certificate_level": cohort.certificate_level,
        }
        given = (
            None
            if certificate is None
            else {
                "occupation_code": certificate.occupation_code,
                "kind": str(certificate.kind),
                "level": certificate.level,
            }
        )
        matches = _certificate_matches(facts)
        judge.check(
            "NO_CERTIFICATE",
            {"cohort": wanted, "certificate": given},
            not matches,
            "no certificate"
            if certificate is None
            else "the certificate is not of the cohort's occupation and kind/level",
        )
    else:
        judge.check("NO_CERTIFICATE", {"cohort_kind": "startup"}, None)
    if certificate is None:
        judge.check("CERT_NOT_VALID", {"certificate": None}, None)
        judge.check("CERT_WINDOW", {"certificate": None}, None)
        return
    judge.check(
        "CERT_NOT_VALID",
        {"status": str(certificate.status)},
        certificate.status is not CertificateStatus.VALID,
        f"the certificate is {certificate.status}",
    )
    latest = add_months(cohort.end_date, limits.certificate_window.months)
    early = certificate.issue_date < cohort.start_date
    judge.check(
        "CERT_WINDOW",
        {
            "issue_date": certificate.issue_date.isoformat(),
            "cohort_start": cohort.start_date.isoformat(),
            "latest": latest.isoformat(),
            "months_after_end": limits.certificate_window.months,
        },
        early or certificate.issue_date > latest,
        f"the certificate was issued on {certificate.issue_date}, before the cohort started ({cohort.start_date})"
        if early
        else f"the certificate was issued on {certificate.issue_date}, more than "
        f"{limits.certificate_window.months} months after the cohort ended ({cohort.end_date})",
    )


def _age_check(judge: _Judge, facts: PersonFacts) -> None:
    limits = judge.policy.limits.age
    age = age_on(facts.birth_date, facts.cohort.start_date)
    judge.check(
        "AGE_RANGE",
        {
            "birth_date": facts.birth_date.isoformat(),
            "on": facts.cohort.start_date.isoformat(),
            "age": age,
            "min_age": limits.min_age,
            "max_age": limits.max_age,
        },
        not limits.min_age <= age <= limits.max_age,
        f"age {age} on the cohort's start ({facts.cohort.start_date}) is outside "
        f"{limits.min_age}-{limits.max_age}",
    )


def _claim_window_check(judge: _Judge, facts: PersonFacts) -> None:
    months = judge.policy.limits.claim_window.months
    since = line_date(facts)
    latest = add_months(since, months)
    judge.check(
        "CLAIM_WINDOW",
        {
            "claim_date": facts.claim_date.isoformat(),
            "since": since.isoformat(),
            "since_what": "certificate issue date" if facts.certificate is not None else "cohort end date",
            "latest": latest.isoformat(),
            "months": months,
        },
        facts.claim_date > latest,
        f"the claim ({facts.claim_date}) is more than {months} months after {since}",
    )


def grant_of(facts: PersonFacts) -> Grant:
    """The training grant a line would become."""
    cohort = facts.cohort
    return Grant(
        kind=cohort.kind,
        year=line_date(facts).year,
        occupation_code=cohort.occupation_code,
        level=cohort.certificate_level,
        startup_course=cohort.startup_course,
        certificate_kind=cohort.certificate_kind if cohort.kind is CohortKind.VOCATIONAL else None,
        is_renewal=_is_renewal(facts),
        certificate_id=facts.certificate_id,
    )


def assessment_grant_of(facts: PersonFacts) -> Grant | None:
    """The assessment grant a line would become (None: the certificate earns none)."""
    certificate = facts.certificate
    if certificate is None or certificate.kind not in ASSESSED_KINDS:
        return None
    return Grant(
        kind=CohortKind.VOCATIONAL,
        year=line_date(facts).year,
        occupation_code=certificate.occupation_code,
        level=certificate.level,
        certificate_kind=certificate.kind,
        certificate_id=facts.certificate_id,
    )


def _repeat_check(
    judge: _Judge, kind: SubsidyKind, line: Grant, sources: Mapping[str, Sequence[Grant]]
) -> None:
    """SAME_LEVEL_REPEAT: a slot of ``line`` (its level, its level-less subsidy of a kind and
    occupation, its certificate: :func:`registry.ledger.rules.slots`) is held by a grant of
    the history or an earlier line of the batch."""
    wanted = set(line.slots(kind))
    matching = {
        name: sum(1 for g in grants if wanted & set(g.slots(kind))) for name, grants in sources.items()
    }
    judge.check(
        "SAME_LEVEL_REPEAT",
        {
            "occupation_code": line.occupation_code,
            "certificate_kind": None if line.certificate_kind is None else str(line.certificate_kind),
            "level": line.level,
            "special_operation_renewal": line.is_renewal,
            "matching_grants": matching,
        },
        None if not wanted else sum(matching.values()) > 0,
        f"already granted the {kind.value} subsidy of {line.occupation_code}"
        + (
            f" at level {line.level}"
            if line.level is not None
            else " on this certificate"
            if line.is_renewal
            else f" ({line.certificate_kind}, once per person)"
        ),
    )


def _history_checks(judge: _Judge, facts: PersonFacts, earlier: Sequence[Grant]) -> None:
    """SAME_LEVEL_REPEAT, LOWER_LEVEL, STARTUP_REPEAT, ANNUAL_CAP against the history and the
    earlier lines of the same batch (``earlier``)."""
    cohort = facts.cohort
    line = grant_of(facts)
    history = facts.history
    sources = {"history": history, "earlier_lines": tuple(earlier)}

    def count(pred: Any) -> dict[str, int]:
        return {name: sum(1 for g in grants if pred(g)) for name, grants in sources.items()}

    if cohort.kind is CohortKind.VOCATIONAL:
        _repeat_check(judge, SubsidyKind.TRAINING, line, sources)
        if line.level is not None:
            level = line.level
            higher = count(
                lambda g: (
                    g.kind is CohortKind.VOCATIONAL
                    and outranks(g.occupation_code, g.level, line.occupation_code, level)
                )
            )
            judge.check(
                "LOWER_LEVEL",
                {"occupation_code": line.occupation_code, "level": level, "higher_level_grants": higher},
                sum(higher.values()) > 0,
                f"already granted a higher level of {line.occupation_code} than level {level} "
                "(level 1 is the highest)",
            )
        else:
            judge.check("LOWER_LEVEL", {"level": None}, None)
        judge.check("STARTUP_REPEAT", {"cohort_kind": "vocational"}, None)
    else:
        judge.check("SAME_LEVEL_REPEAT", {"cohort_kind": "startup"}, None)
        judge.check("LOWER_LEVEL", {"cohort_kind": "startup"}, None)
        same_course = count(
            lambda g: g.kind is CohortKind.STARTUP and g.startup_course is cohort.startup_course
        )
        judge.check(
            "STARTUP_REPEAT",
            {"course": str(cohort.startup_course), "matching_grants": same_course},
            sum(same_course.values()) > 0,
            f"already granted the {cohort.startup_course} course",
        )
    cap = judge.policy.limits.annual_cap.count
    in_year = count(lambda g: g.year == line.year and g.counts_towards_cap)
    judge.check(
        "ANNUAL_CAP",
        {"year": line.year, "grants_in_year": in_year, "cap": cap},
        sum(in_year.values()) >= cap,
        f"already {sum(in_year.values())} training grants in {line.year} (at most {cap} a year)",
    )


def _policy_step(judge: _Judge, end_date: dt.date) -> None:
    policy = judge.policy
    judge.step(
        "POLICY",
        {
            "cohort_end_date": end_date.isoformat(),
            "effective_from": policy.effective_from.isoformat(),
            "effective_to": None if policy.effective_to is None else policy.effective_to.isoformat(),
        },
        policy.code,
    )


def _training_amounts(judge: _Judge, facts: PersonFacts, priority_trade: bool) -> tuple[int, int]:
    base = _training_base(judge, facts)
    return base, _total_with_uplift(judge, facts, base, priority_trade)


def _completed_check(judge: _Judge, outcome: EnrolmentOutcome) -> None:
    judge.check(
        "NOT_COMPLETED",
        {"outcome": str(outcome)},
        outcome is not EnrolmentOutcome.COMPLETED,
        f"the enrolment's outcome is {outcome}, not completed",
    )


def _attendance_check(judge: _Judge, facts: PersonFacts) -> None:
    cohort = facts.cohort
    percent = judge.policy.limits.attendance.percent
    judge.check(
        "ATTENDANCE",
        {
            "attended_hours": str(facts.attended_hours),
            "planned_hours": cohort.planned_hours,
            "min_percent": percent,
        },
        facts.attended_hours * 100 < Decimal(cohort.planned_hours) * percent,
        f"attended {facts.attended_hours} of {cohort.planned_hours} planned hours, below {percent}%",
    )


def _hours_minimum_check(judge: _Judge, cohort: CohortFacts) -> None:
    policy = judge.policy
    minimum = (
        {
            CertificateKind.SPECIAL_ABILITY: policy.training.special_ability.min_hours,
            CertificateKind.COMPLETION: policy.training.completion.min_hours,
        }.get(cohort.certificate_kind)
        if cohort.kind is CohortKind.VOCATIONAL and cohort.certificate_kind
        else None
    )
    judge.check(
        "HOURS_MINIMUM",
        {
            "certificate_kind": None if cohort.certificate_kind is None else str(cohort.certificate_kind),
            "planned_hours": cohort.planned_hours,
            "min_hours": minimum,
        },
        None if minimum is None else cohort.planned_hours < minimum,
        f"the cohort is planned for {cohort.planned_hours} hours, under {minimum}",
    )


def _institution_check(judge: _Judge, approved: bool) -> None:
    judge.check(
        "INSTITUTION_NOT_APPROVED",
        {"institution_approved": approved},
        not approved,
        "the institution is not on the approved list for the cohort's year, or is suspended",
    )


_FIXED_AMOUNT_KINDS = (
    CertificateKind.SKILL_LEVEL,
    CertificateKind.SPECIAL_ABILITY,
    CertificateKind.SPECIAL_OPERATION,
)


def _training_line(
    facts: PersonFacts,
    tables: _Tables,
    priority_trade: bool,
    earlier: Sequence[Grant],
    findings: Findings | None,
) -> Line:
    # The memo keys name everything each group of steps reads besides the policy; the
    # cohort by identity (one object for every person of a batch, alive while it runs).
    judge = _Judge(tables)
    cohort = facts.cohort
    cohort_id = id(cohort)
    _memo(judge, ("POLICY", cohort.end_date), _policy_step, cohort.end_date)
    renewal = _is_renewal(facts)
    hours = str(facts.attended_hours)
    per_hour = cohort.kind is not CohortKind.STARTUP and cohort.certificate_kind not in _FIXED_AMOUNT_KINDS
    base, total = _memo(
        judge,
        ("TRAINING", cohort_id, renewal, hours if per_hour else None, priority_trade, facts.priority_list),
        _training_amounts,
        facts,
        priority_trade,
    )
    _memo(judge, ("NOT_COMPLETED", facts.outcome), _completed_check, facts.outcome)
    _memo(judge, ("ATTENDANCE", hours, cohort.planned_hours), _attendance_check, facts)
    _memo(judge, ("HOURS_MINIMUM", cohort_id), _hours_minimum_check, cohort)
    _age_check(judge, facts)
    approved = facts.institution_approved
    _memo(judge, ("INSTITUTION_NOT_APPROVED", approved), _institution_check, approved)
    _memo(judge, ("CERTIFICATE", cohort_id, facts.certificate), _certificate_checks, facts)
    date = line_date(facts)
    _memo(
        judge,
        ("CLAIM_WINDOW", facts.claim_date, date, facts.certificate is None),
        _claim_window_check,
        facts,
    )
    if not facts.history and not earlier:
        _memo(
            judge,
            ("HISTORY", cohort_id, renewal, facts.certificate_id is None, date.year),
            _history_checks,
            facts,
            (),
        )
    else:
        _history_checks(judge, facts, earlier)
    if findings is not None:
        _memo(judge, ("DATABASE", findings), _database_checks, findings)
    return judge.line("training", base, total)


def _database_checks(judge: _Judge, findings: Findings | None) -> None:
    """ID_INVALID, OVERLAP and SHARED_PHONE from what the claims engine found (nothing in
    the calculator, which reads no database facts)."""
    if findings is None:
        return
    judge.check(
        "ID_INVALID",
        {"id_number": "checked (GB 11643-1999 check digit and birth date)"},
        findings.id_problem is not None,
        f"the ID number is not valid: {findings.id_problem}",
    )
    periods = sorted(findings.overlaps, key=lambda o: (o.start_date, o.end_date))
    judge.check(
        "OVERLAP",
        {"other_cohorts": [f"{o.start_date.isoformat()}/{o.end_date.isoformat()}" for o in periods]},
        bool(periods),
        "also enrolled, at another institution, in "
        + ", ".join(f"a cohort from {o.start_date.isoformat()} to {o.end_date.isoformat()}" for o in periods),
    )
    judge.check(
        "SHARED_PHONE",
        {
            "people_with_this_phone": findings.shared_phone_trainees,
            "institutions": findings.shared_phone_institutions,
            "min_people": SHARED_PHONE_MIN_TRAINEES,
        },
        findings.shared_phone_trainees >= SHARED_PHONE_MIN_TRAINEES,
        f"the phone number was given for {findings.shared_phone_trainees} people "
        f"at {findings.shared_phone_institutions} institutions",
    )


def _assessment_amounts(judge: _Judge, certificate: CertificateFacts) -> int:
    assessment = judge.policy.assessment
    if certificate.kind is CertificateKind.SKILL_LEVEL:
        entry = next(e for e in assessment.skill_level if e.level == certificate.level)
        amount, inputs = entry.amount_fen, {"level": entry.level, **_provenance(entry.source, entry.assumed)}
    else:
        ability = assessment.special_ability
        amount, inputs = ability.amount_fen, _provenance(ability.source, ability.assumed)
    share = assessment.direct_recognition.percent if certificate.direct_recognition else 100
    base = _whole_yuan_base(
        judge,
        Fraction(amount * share, 100),
        {
            "certificate_kind": str(certificate.kind),
            **inputs,
            "full_amount_fen": amount,
            "direct_recognition": certificate.direct_recognition,
            "percent": share,
        },
    )
    judge.step("UPLIFT", {"line": "assessment"}, NOT_APPLICABLE)
    judge.step("TOTAL", {"base_fen": base, "uplift_fen": "0"}, base)
    return base


def _assessor_check(judge: _Judge, approved: bool) -> None:
    judge.check(
        "ASSESSOR_NOT_APPROVED",
        {"assessor_approved": approved},
        not approved,
        "the assessment body is not on the approved list for the cohort's year, or is suspended",
    )


def _assessment_line(
    facts: PersonFacts, tables: _Tables, earlier: Sequence[Grant], findings: Findings | None
) -> Line | None:
    certificate = facts.certificate
    grant = assessment_grant_of(facts)
    if certificate is None or grant is None or facts.cohort.kind is not CohortKind.VOCATIONAL:
        return None
    judge = _Judge(tables)
    cohort = facts.cohort
    _memo(judge, ("POLICY", cohort.end_date), _policy_step, cohort.end_date)
    base = _memo(
        judge,
        ("ASSESSMENT", certificate.kind, certificate.level, certificate.direct_recognition),
        _assessment_amounts,
        certificate,
    )
    _age_check(judge, facts)
    approved = facts.assessor_approved
    _memo(judge, ("ASSESSOR_NOT_APPROVED", approved), _assessor_check, approved)
    _memo(judge, ("CERTIFICATE", id(cohort), certificate), _certificate_checks, facts)
    _memo(
        judge,
        ("CLAIM_WINDOW", facts.claim_date, line_date(facts), False),
        _claim_window_check,
        facts,
    )
    _repeat_check(
        judge,
        SubsidyKind.ASSESSMENT,
        grant,
        {"history": facts.assessment_history, "earlier_lines": tuple(earlier)},
    )
    if findings is not None:
        _memo(judge, ("DATABASE", findings), _database_checks, findings)
    return judge.line("assessment", base, base)


def _evaluate(
    facts: PersonFacts,
    tables: _Tables,
    priority_trade: bool,
    earlier: Sequence[Grant],
    findings: Findings | None,
    earlier_assessment: Sequence[Grant] = (),
) -> Evaluation:
    priority = priority_trade and facts.cohort.kind is CohortKind.VOCATIONAL
    training = _training_line(facts, tables, priority, earlier, findings)
    assessment = _assessment_line(facts, tables, earlier_assessment, findings)
    lines = (training,) if assessment is None else (training, assessment)
    return Evaluation(tables.policy.code, priority, lines)


def evaluate(
    facts: PersonFacts,
    policy: Policy,
    *,
    priority_trade: bool,
    earlier: Sequence[Grant] = (),
    findings: Findings | None = None,
) -> Evaluation:
    """One person's lines. ``policy`` is the policy in force on the cohort's end date;
    ``priority_trade`` whether the occupation is on the list in force on its start date;
    ``earlier`` the grants earlier lines of the same batch would become. The facts must be
    coherent (:func:`fact_errors` empty). ``findings`` (claims only): the database checks."""
    return _evaluate(facts, _Tables(policy), priority_trade, earlier, findings)


def _canonical(facts: PersonFacts) -> str:
    history = tuple(sorted(facts.history, key=repr))
    return repr(dataclasses.replace(facts, history=history))


def batch_order(items: Sequence[BatchItem]) -> list[int]:
    """The order a batch is judged in: by line date (certificate date, else cohort end date),
    then the person's blind index, then the facts themselves (so equal keys never depend on
    the order given). The facts' canonical form is built only for items whose date and
    blind index are equal (a person twice on the same date): the same order as sorting by
    all three keys at once, without a ``repr`` of every item's facts."""
    keys = [(line_date(item.facts), item.person_key) for item in items]
    order = sorted(range(len(items)), key=keys.__getitem__)
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and keys[order[end]] == keys[order[start]]:
            end += 1
        if end - start > 1:
            order[start:end] = sorted(
                order[start:end], key=lambda i: (_canonical(items[i].facts), items[i].priority_trade)
            )
        start = end
    return order


def judge_batch(items: Sequence[BatchItem]) -> tuple[list[int], list[Evaluation]]:
    """:func:`batch_order` and :func:`evaluate_batch` in one: the judging order (sorted once)
    and the evaluations in the order given."""
    results: list[Evaluation | None] = [None] * len(items)
    pending: dict[str, list[Grant]] = {}
    pending_assessment: dict[str, list[Grant]] = {}
    order = batch_order(items)
    # One policy's lookups and memo for the whole batch (the items keep what the memo keys
    # name by identity alive until it returns).
    tables: dict[int, _Tables] = {}
    for index in order:
        item = items[index]
        policy_tables = tables.get(id(item.policy))
        if policy_tables is None:
            policy_tables = tables[id(item.policy)] = _Tables(item.policy)
        earlier = pending.setdefault(item.person_key, [])
        earlier_assessment = pending_assessment.setdefault(item.person_key, [])
        evaluation = _evaluate(
            item.facts,
            policy_tables,
            item.priority_trade,
            tuple(earlier),
            item.findings,
            tuple(earlier_assessment),
        )
        results[index] = evaluation
        training = evaluation.lines[0]
        if training.outcome != "blocked":
            earlier.append(grant_of(item.facts))
        assessment = evaluation.line("assessment")
        if assessment is not None and assessment.outcome != "blocked":
            grant = assessment_grant_of(item.facts)
            assert grant is not None
            earlier_assessment.append(grant)
    return order, [evaluation for evaluation in results if evaluation is not None]


def evaluate_batch(items: Sequence[BatchItem]) -> list[Evaluation]:
    """The lines of a claim's people (or any batch), in the order given. Repeats and the
    annual cap count, for each person, the grants their earlier lines (in :func:`batch_order`)
    would become, unless those lines are blocked."""
    return judge_batch(items)[1]


# ---------------------------------------------------------------------------
# The audit: deciding lines
# ---------------------------------------------------------------------------


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


MAX_DECISION_REASON = 2000


@dataclass(frozen=True)
class DecisionRequest:
    line_id: Any
    """The line's id (a UUID)."""
    decision: Decision
    reason: str = ""


def decision_errors(
    requests: Sequence[DecisionRequest], outcomes: dict[Any, str]
) -> tuple[list[FieldError], list[str]]:
    """What is wrong with a batch of decisions on a claim whose lines have ``outcomes``
    (line id -> clean/review/blocked): (field errors, 422) and (the fields of blocked lines
    asked to be approved, 409). A rejection needs a reason; so does approving a ``review``
    line; a line is decided once per batch; a line must be the claim's."""
    errors: list[FieldError] = []
    blocked: list[str] = []
    seen: set[Any] = set()
    for index, request in enumerate(requests):
        field = f"lines[{index}]"
        reason = visible_text(request.reason)
        outcome = outcomes.get(request.line_id)
        if outcome is None:
            errors.append(FieldError(f"{field}.line_id", "unknown_line", "not a line of this claim"))
            continue
        if request.line_id in seen:
            errors.append(
                FieldError(f"{field}.line_id", "duplicate_line", "this line is decided twice in one call")
            )
        seen.add(request.line_id)
        if len(reason) > MAX_DECISION_REASON:
            errors.append(
                FieldError(f"{field}.reason", "too_long", f"at most {MAX_DECISION_REASON} characters")
            )
        if request.decision is Decision.REJECTED and not reason:
            errors.append(FieldError(f"{field}.reason", "reason_required", "a rejection needs a reason"))
        elif request.decision is Decision.APPROVED and outcome == "review" and not reason:
            errors.append(
                FieldError(
                    f"{field}.reason", "reason_required", "approving a flagged (review) line needs a reason"
                )
            )
        if request.decision is Decision.APPROVED and outcome == "blocked":
            blocked.append(f"{field}.decision")
    return errors, blocked


# ---------------------------------------------------------------------------
# The claim's status: one transition function (DESIGN.md section 6)
# ---------------------------------------------------------------------------


class ClaimEvent(StrEnum):
    """What happens to a claim; every place that changes a claim's status names one."""

    COMPUTE = "compute"
    FAIL = "fail"
    WITHDRAW = "withdraw"
    DECIDE = "decide"
    PUBLISH = "publish"
    OBJECT = "object"
    CERTIFICATE_CHANGE = "certificate_change"
    NOTICE_END = "notice_end"
    PAY = "pay"
    CLAW_BACK = "claw_back"


@dataclass(frozen=True)
class LineTally:
    """What a claim's status follows from: its lines, their notices and their grants."""

    lines: int = 0
    undecided: int = 0
    """Lines with no decision (never decided, or sent back to review) and no grant."""
    touched: int = 0
    """Lines decided, noticed or granted at least once (and the claim's notices): the audit began."""
    waiting: int = 0
    """Approved lines not granted and on no running notice (the next notice's)."""
    on_notice: int = 0
    """Running notices of the claim (one at the most): the claim is noticed until its end,
    even when objections have taken every line off it."""
    unpaid: int = 0
    """Grants that stand (not clawed back) and are not paid."""
    paid: int = 0
    """Grants paid."""


_AUDITED = frozenset(
    {
        ClaimStatus.COMPUTED,
        ClaimStatus.IN_REVIEW,
        ClaimStatus.DECIDED,
        ClaimStatus.NOTICED,
        ClaimStatus.PAYABLE,
        ClaimStatus.PAID,
    }
)
TRANSITIONS: dict[ClaimEvent, frozenset[ClaimStatus]] = {
    ClaimEvent.COMPUTE: frozenset({ClaimStatus.SUBMITTED}),
    ClaimEvent.FAIL: frozenset({ClaimStatus.SUBMITTED}),
    ClaimEvent.WITHDRAW: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.COMPUTED}),
    ClaimEvent.DECIDE: _AUDITED,
    ClaimEvent.PUBLISH: frozenset({ClaimStatus.DECIDED, ClaimStatus.PAYABLE, ClaimStatus.PAID}),
    ClaimEvent.OBJECT: frozenset({ClaimStatus.NOTICED}),
    ClaimEvent.CERTIFICATE_CHANGE: _AUDITED,
    ClaimEvent.NOTICE_END: frozenset({ClaimStatus.NOTICED}),
    ClaimEvent.PAY: frozenset({ClaimStatus.NOTICED, ClaimStatus.PAYABLE}),
    ClaimEvent.CLAW_BACK: _AUDITED,
}
"""The statuses each event may happen in; the status after it is :func:`status_of` the
lines (withdraw and fail excepted: those are the claim's own)."""


class ClaimTransitionError(ValueError):
    def __init__(self, status: ClaimStatus, event: ClaimEvent) -> None:
        super().__init__(f"a {status.value} claim cannot {event.value}")
        self.status, self.event = status, event


def status_of(tally: LineTally) -> ClaimStatus:
    """A computed claim's status from its lines: a running notice first; then money owed
    (payable); then lines to decide (in review once the audit began, else computed); then
    approved lines waiting for a notice (decided); then paid, once something was paid and
    nothing stands unpaid; else decided (every line decided, nothing to pay: all rejected, or
    every grant clawed back before payment)."""
    if tally.on_notice:
        return ClaimStatus.NOTICED
    if tally.unpaid:
        return ClaimStatus.PAYABLE
    if tally.undecided:
        return ClaimStatus.IN_REVIEW if tally.touched else ClaimStatus.COMPUTED
    if tally.waiting:
        return ClaimStatus.DECIDED
    if tally.paid:
        return ClaimStatus.PAID
    return ClaimStatus.DECIDED if tally.lines else ClaimStatus.COMPUTED


def next_claim_status(status: ClaimStatus, event: ClaimEvent, tally: LineTally) -> ClaimStatus:
    """The claim's status after ``event`` (:data:`TRANSITIONS`); :class:`ClaimTransitionError`
    when the event cannot happen in ``status``."""
    if status not in TRANSITIONS[event]:
        raise ClaimTransitionError(status, event)
    if event is ClaimEvent.FAIL:
        return ClaimStatus.FAILED
    if event is ClaimEvent.WITHDRAW:
        return ClaimStatus.WITHDRAWN
    new = status_of(tally)
    if new is ClaimStatus.COMPUTED and status is not ClaimStatus.COMPUTED and event is not ClaimEvent.COMPUTE:
        # The audit began (a decision since cleared by a certificate's change): it goes on.
        return ClaimStatus.IN_REVIEW
    return new


# ---------------------------------------------------------------------------
# What a claimant reads of its own lines
# ---------------------------------------------------------------------------

OTHER_TENANTS_FACTS = {
    "OVERLAP": (
        "other_cohorts",
        "the person was enrolled, at the same time, in another institution's cohort: "
        "the bureau checks it and may ask for the attendance records",
    ),
    "SHARED_PHONE": (
        "people_with_this_phone",
        "the phone number given for this person was given for several other people: "
        "the bureau checks it and may ask for the person's own number",
    ),
}
"""The flags whose facts are other institutions' (where a person trains elsewhere, who else
gave a phone number): a claimant sees that the flag fired and what it must answer, the
bureau sees the facts. Enrolling chosen ID numbers would otherwise look people up."""
WITHHELD = "withheld: facts of other institutions, for the bureau"


def for_claimant(
    flags: Sequence[dict[str, Any]], trace: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A line's flags and trace as its claimant reads them (:data:`OTHER_TENANTS_FACTS`
    withheld); plain JSON values in and out."""
    shown_flags = [
        {**flag, "message": OTHER_TENANTS_FACTS[flag["code"]][1]}
        if flag.get("code") in OTHER_TENANTS_FACTS
        else flag
        for flag in flags
    ]
    shown_trace = [
        {**step, "inputs": dict.fromkeys(step.get("inputs") or {}, WITHHELD)}
        if step.get("rule") in OTHER_TENANTS_FACTS
        else step
        for step in trace
    ]
    return shown_flags, shown_trace
