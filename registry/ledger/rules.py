"""The grant ledger's rules, over plain values: what a grant looks like, which slot it holds,
and whether a batch of new grants fits a person's history.

The database enforces the same rules on its own (migration 0011): the partial unique
indexes hold the slots, a trigger counts the annual cap under the person's lock. These
functions let :func:`registry.ledger.queries.insert_grants` refuse a whole batch at once,
naming every row that does not fit, before the database would refuse its first one.

Two choices, both deliberate:

- **A slot is held for ever.** A grant of an occupation at a level (per subsidy kind), or of
  a startup course, holds its slot even after it is reversed (a clawback): the person is
  never granted it again (SAME_LEVEL_REPEAT and STARTUP_REPEAT say "ever"; a clawback is
  the answer to a revoked certificate or a fraud, not a reason to pay again).
- **The cap counts net grants.** ANNUAL_CAP counts the training grants of a year that were
  not reversed: a clawed-back grant was not received.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from registry.core.errors import FieldError
from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind

ANNUAL_CAP = 3
"""Training grants (vocational and startup together) a person may hold in one calendar year
(国办发〔2019〕24号: 每人每年不超过3次). The ledger's trigger holds the same figure: changing it
takes a migration."""

LEVELS = range(1, 6)
"""5 初级工 .. 1 高级技师."""


@dataclass(frozen=True)
class NewGrant:
    """One line to grant: what :func:`registry.ledger.queries.insert_grants` writes."""

    trainee_id: uuid.UUID
    kind: SubsidyKind
    cohort_kind: CohortKind
    year: int
    amount_fen: int
    policy_code: str
    granted_by: str
    occupation_code: str | None = None
    level: int | None = None
    certificate_kind: CertificateKind | None = None
    certificate_id: uuid.UUID | None = None
    startup_course: StartupCourse | None = None
    claim_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    reason: str = ""
    is_renewal: bool = False
    """A special-operation renewal (复审): paid once per renewal certificate."""


@dataclass(frozen=True)
class GrantFact:
    """One grant in a person's history, its reversal (if any) folded in."""

    id: uuid.UUID
    trainee_id: uuid.UUID
    kind: SubsidyKind
    cohort_kind: CohortKind
    occupation_code: str | None
    level: int | None
    certificate_kind: CertificateKind | None
    certificate_id: uuid.UUID | None
    startup_course: StartupCourse | None
    year: int
    amount_fen: int
    """What was granted (the reversal's row holds the negated amount)."""
    policy_code: str
    claim_id: uuid.UUID | None
    line_id: uuid.UUID | None
    granted_at: dt.datetime
    reversed_at: dt.datetime | None = None
    """When it was clawed back; None while it stands."""
    is_renewal: bool = False

    @property
    def reversed(self) -> bool:
        return self.reversed_at is not None

    @property
    def net_fen(self) -> int:
        """What the person holds of it today: the amount, or 0 once reversed."""
        return 0 if self.reversed else self.amount_fen


Slot = tuple[object, ...]
"""What a grant holds once and for ever (DESIGN.md section 5, SAME_LEVEL_REPEAT and
STARTUP_REPEAT), whose person is the caller's to add:

- ``("level", kind, occupation, level)``: a skill level of an occupation;
- ``("once", kind, certificate kind, occupation)``: a level-less subsidy (special ability,
  a special-operation first certificate, completion) of an occupation; completion and
  special ability of one occupation are different subsidies, so the kind is in the slot;
- ``("startup", course)``: a startup course;
- ``("certificate", kind, certificate id)``: a certificate backs one training grant and one
  assessment grant, ever (a special-operation renewal has no slot but this one: it is paid
  once per renewal certificate).

``kind`` is the subsidy's (training or assessment). The database's partial unique indexes
hold the same slots (migrations 0011 and 0019)."""


def slots(
    kind: SubsidyKind,
    *,
    occupation_code: str | None,
    level: int | None,
    certificate_kind: CertificateKind | None,
    startup_course: StartupCourse | None,
    is_renewal: bool = False,
    certificate_id: uuid.UUID | None = None,
) -> tuple[Slot, ...]:
    """Every slot a grant of these facts holds (the subsidy's, then its certificate's)."""
    kind = SubsidyKind(kind)
    held: list[Slot] = []
    if startup_course is not None:
        held.append(("startup", StartupCourse(startup_course)))
    elif level is not None:
        held.append(("level", kind, occupation_code, level))
    elif certificate_kind is not None and not is_renewal:
        held.append(("once", kind, CertificateKind(certificate_kind), occupation_code))
    if certificate_id is not None:
        held.append(("certificate", kind, certificate_id))
    return tuple(held)


def outranks(
    granted_occupation: str | None, granted_level: int | None, occupation_code: str | None, level: int | None
) -> bool:
    """LOWER_LEVEL's predicate, the one place it is written: a grant of a higher skill level
    (a smaller number: 1 is the highest) of the same occupation than ``level``."""
    return (
        level is not None
        and granted_level is not None
        and granted_occupation == occupation_code
        and granted_level < level
    )


def person_slots(
    trainee_id: uuid.UUID,
    kind: SubsidyKind,
    occupation_code: str | None,
    level: int | None,
    startup_course: StartupCourse | None,
    certificate_kind: CertificateKind | None = None,
    is_renewal: bool = False,
    certificate_id: uuid.UUID | None = None,
) -> tuple[Slot, ...]:
    """A person's slots of a grant: :func:`slots`, each with the person first (a certificate
    is one person's: its slot is the same with or without the person)."""
    return tuple(
        (trainee_id, *slot)
        for slot in slots(
            kind,
            occupation_code=occupation_code,
            level=level,
            certificate_kind=certificate_kind,
            startup_course=startup_course,
            is_renewal=is_renewal,
            certificate_id=certificate_id,
        )
    )


def slots_of_new(row: NewGrant) -> tuple[Slot, ...]:
    return person_slots(
        row.trainee_id,
        row.kind,
        row.occupation_code,
        row.level,
        row.startup_course,
        row.certificate_kind,
        row.is_renewal,
        row.certificate_id,
    )


def slots_of_fact(fact: GrantFact) -> tuple[Slot, ...]:
    return person_slots(
        fact.trainee_id,
        fact.kind,
        fact.occupation_code,
        fact.level,
        fact.startup_course,
        fact.certificate_kind,
        fact.is_renewal,
        fact.certificate_id,
    )


def describe_slot(slot: Slot) -> str:
    """For a message: the occupation and level, the course, the certificate (never the
    person's numbers). ``slot`` is a person's slot (:func:`person_slots`)."""
    what = slot[1]
    if what == "startup":
        return f"the startup course {slot[2]}"
    if what == "level":
        return f"the {slot[2]} subsidy of occupation {slot[3]} at level {slot[4]}"
    if what == "once":
        return f"the {slot[2]} subsidy of a {slot[3]} certificate of occupation {slot[4]}"
    return f"a {slot[2]} subsidy on this certificate"


def counts_towards_cap(fact: GrantFact) -> bool:
    """A training grant not reversed counts towards its year's ANNUAL_CAP."""
    return fact.kind == SubsidyKind.TRAINING and not fact.reversed


def cap_count(facts: Iterable[GrantFact], year: int) -> int:
    """The person's net training grants in ``year``."""
    return sum(1 for fact in facts if fact.year == year and counts_towards_cap(fact))


def shape_errors(rows: Sequence[NewGrant]) -> list[FieldError]:
    """Rows that could not be a grant at all (the table's CHECKs, said first and for every row)."""
    errors: list[FieldError] = []
    for i, row in enumerate(rows):
        field = f"rows[{i}]"
        problem = _shape_problem(row)
        if problem is not None:
            errors.append(FieldError(field, "invalid_grant", problem, row=i))
    return errors


def _shape_problem(row: NewGrant) -> str | None:
    kind, cohort_kind = SubsidyKind(row.kind), CohortKind(row.cohort_kind)
    if row.amount_fen < 0:
        return "a grant's amount is never negative (a reversal is written by reverse_grant)"
    if not row.policy_code.strip() or not row.granted_by.strip():
        return "a grant names its policy and who granted it"
    if not 2000 <= row.year <= 2100:
        return f"year {row.year} is not a plausible grant year"
    if cohort_kind == CohortKind.VOCATIONAL:
        if not row.occupation_code or row.startup_course is not None:
            return "a vocational grant has an occupation and no startup course"
    elif (
        kind != SubsidyKind.TRAINING
        or row.occupation_code
        or row.startup_course is None
        or row.level is not None
    ):
        return "a startup grant is a training grant of a startup course, without occupation or level"
    if cohort_kind == CohortKind.VOCATIONAL and row.certificate_kind is None:
        return "a vocational grant names its certificate kind (it decides the grant's slot)"
    if row.is_renewal and row.certificate_kind != CertificateKind.SPECIAL_OPERATION:
        return "only a special-operation grant is a renewal"
    is_level = row.certificate_kind == CertificateKind.SKILL_LEVEL
    if row.level is None and is_level:
        return "a skill-level grant has a level"
    if row.level is not None and (not is_level or row.level not in LEVELS):
        return "a level (1 to 5) goes with a skill-level certificate"
    return None


def batch_conflicts(
    rows: Sequence[NewGrant],
    *,
    history: Iterable[GrantFact],
    granted_lines: Iterable[uuid.UUID] = (),
) -> list[FieldError]:
    """Every row of ``rows`` that does not fit the people's ledger as it stands
    (``history``, their grants with reversals folded in): one of its slots is taken (or
    held by an earlier row of the batch: ``already_granted``), its line was already granted
    (``already_granted``), the person holds a higher level of the occupation (``lower_level``,
    :func:`outranks`; training grants, as the rule judges LOWER_LEVEL), or it would take its person past ANNUAL_CAP in its
    year (``annual_cap``). Rows are judged in order: the first of two rows for one slot fits.
    The notice's end re-judges its lines with this, under the people's ledger locks."""
    errors: list[FieldError] = []
    facts = list(history)
    taken = {slot for fact in facts for slot in slots_of_fact(fact)}
    levels = [(f.trainee_id, f.kind, f.occupation_code, f.level) for f in facts if f.level is not None]
    lines = set(granted_lines)
    counts: Counter[tuple[uuid.UUID, int]] = Counter(
        (fact.trainee_id, fact.year) for fact in facts if counts_towards_cap(fact)
    )
    for i, row in enumerate(rows):
        field = f"rows[{i}]"
        held_slot = next((slot for slot in slots_of_new(row) if slot in taken), None)
        if held_slot is not None:
            errors.append(
                FieldError(
                    field,
                    "already_granted",
                    f"row {i}: the person was already granted {describe_slot(held_slot)}",
                    row=i,
                )
            )
            continue
        if row.line_id is not None and row.line_id in lines:
            errors.append(
                FieldError(
                    field, "already_granted", f"row {i}: the line {row.line_id} was already granted", row=i
                )
            )
            continue
        if row.kind == SubsidyKind.TRAINING and any(
            person == row.trainee_id
            and kind == row.kind
            and outranks(occupation, level, row.occupation_code, row.level)
            for person, kind, occupation, level in levels
        ):
            errors.append(
                FieldError(
                    field,
                    "lower_level",
                    f"row {i}: the person was already granted a higher level of {row.occupation_code}",
                    row=i,
                )
            )
            continue
        key = (row.trainee_id, row.year)
        if row.kind == SubsidyKind.TRAINING and counts[key] >= ANNUAL_CAP:
            errors.append(
                FieldError(
                    field,
                    "annual_cap",
                    f"row {i}: the person already holds {ANNUAL_CAP} training grants in {row.year}",
                    row=i,
                )
            )
            continue
        taken.update(slots_of_new(row))
        if row.level is not None:
            levels.append((row.trainee_id, row.kind, row.occupation_code, row.level))
        if row.line_id is not None:
            lines.add(row.line_id)
        if row.kind == SubsidyKind.TRAINING:
            counts[key] += 1
    return errors
