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
from collections.abc import Iterable, Mapping, Sequence
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

    @property
    def reversed(self) -> bool:
        return self.reversed_at is not None

    @property
    def net_fen(self) -> int:
        """What the person holds of it today: the amount, or 0 once reversed."""
        return 0 if self.reversed else self.amount_fen


Slot = tuple[object, ...]
"""What a grant holds once and for ever: ``("level", trainee, kind, occupation, level)``,
``("startup", trainee, course)``; the database's partial unique indexes hold the same."""


def slot_of(
    trainee_id: uuid.UUID,
    kind: SubsidyKind,
    occupation_code: str | None,
    level: int | None,
    startup_course: StartupCourse | None,
) -> Slot | None:
    """The slot a grant holds (None: a grant without a level or course holds none, e.g. a
    completion or special-operation grant: those repeats are the claims engine's to judge)."""
    if startup_course is not None:
        return ("startup", trainee_id, StartupCourse(startup_course))
    if level is not None:
        return ("level", trainee_id, SubsidyKind(kind), occupation_code, level)
    return None


def slot_of_new(row: NewGrant) -> Slot | None:
    return slot_of(row.trainee_id, row.kind, row.occupation_code, row.level, row.startup_course)


def slot_of_fact(fact: GrantFact) -> Slot | None:
    return slot_of(fact.trainee_id, fact.kind, fact.occupation_code, fact.level, fact.startup_course)


def describe_slot(slot: Slot) -> str:
    """For a message: the occupation and level, or the course (never the person's numbers)."""
    if slot[0] == "startup":
        return f"the startup course {slot[2]}"
    return f"the {slot[2]} subsidy of occupation {slot[3]} at level {slot[4]}"


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
    is_level = row.certificate_kind == CertificateKind.SKILL_LEVEL
    if row.level is None and is_level:
        return "a skill-level grant has a level"
    if row.level is not None and (not is_level or row.level not in LEVELS):
        return "a level (1 to 5) goes with a skill-level certificate"
    return None


def batch_conflicts(
    rows: Sequence[NewGrant],
    *,
    taken: Iterable[Slot],
    granted_lines: Iterable[uuid.UUID],
    held: Mapping[tuple[uuid.UUID, int], int],
) -> list[FieldError]:
    """Every row of ``rows`` that does not fit the ledger as it stands: its slot is
    ``taken`` (or held by an earlier row of the batch), its line was already granted, or it
    would take its person past ANNUAL_CAP in its year (``held``: net training grants per
    (person, year)). Rows are judged in order: the first of two rows for one slot fits."""
    errors: list[FieldError] = []
    slots = set(taken)
    lines = set(granted_lines)
    counts: Counter[tuple[uuid.UUID, int]] = Counter(held)
    for i, row in enumerate(rows):
        field = f"rows[{i}]"
        slot = slot_of_new(row)
        if slot is not None and slot in slots:
            errors.append(
                FieldError(
                    field,
                    "already_granted",
                    f"row {i}: the person was already granted {describe_slot(slot)}",
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
        if slot is not None:
            slots.add(slot)
        if row.line_id is not None:
            lines.add(row.line_id)
        if row.kind == SubsidyKind.TRAINING:
            counts[key] += 1
    return errors
