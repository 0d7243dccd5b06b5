"""The ledger's pure rules: shapes, slots, the batch judged against a history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import pytest

from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind
from registry.ledger import rules
from registry.ledger.rules import GrantFact, NewGrant

PERSON = uuid.uuid4()
ELECTRICIAN = "6-31-01-03"


def level_grant(level: int = 5, occupation: str = ELECTRICIAN, **overrides: object) -> NewGrant:
    values: dict[str, object] = {
        "trainee_id": PERSON,
        "kind": SubsidyKind.TRAINING,
        "cohort_kind": CohortKind.VOCATIONAL,
        "year": 2025,
        "amount_fen": 120000,
        "policy_code": "henan-2022",
        "granted_by": "system:test",
        "occupation_code": occupation,
        "level": level,
        "certificate_kind": CertificateKind.SKILL_LEVEL,
    }
    values.update(overrides)
    return NewGrant(**values)  # type: ignore[arg-type]


def startup_grant(course: StartupCourse = StartupCourse.SYB, **overrides: object) -> NewGrant:
    values: dict[str, object] = {
        "cohort_kind": CohortKind.STARTUP,
        "occupation_code": None,
        "level": None,
        "certificate_kind": CertificateKind.STARTUP,
        "startup_course": course,
    }
    values.update(overrides)
    return dataclasses.replace(level_grant(), **values)  # type: ignore[arg-type]


def fact_of(row: NewGrant, *, reversed_: bool = False) -> GrantFact:
    now = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    return GrantFact(
        id=uuid.uuid4(),
        trainee_id=row.trainee_id,
        kind=row.kind,
        cohort_kind=row.cohort_kind,
        occupation_code=row.occupation_code,
        level=row.level,
        certificate_kind=row.certificate_kind,
        certificate_id=None,
        startup_course=row.startup_course,
        year=row.year,
        amount_fen=row.amount_fen,
        policy_code=row.policy_code,
        claim_id=None,
        line_id=row.line_id,
        granted_at=now,
        reversed_at=now if reversed_ else None,
    )


def codes(
    rows: list[NewGrant], history: Sequence[GrantFact] = (), lines: Sequence[uuid.UUID] = ()
) -> list[str | None]:
    held: dict[tuple[uuid.UUID, int], int] = {}
    for fact in history:
        if rules.counts_towards_cap(fact):
            held[(fact.trainee_id, fact.year)] = held.get((fact.trainee_id, fact.year), 0) + 1
    taken = [s for s in map(rules.slot_of_fact, history) if s is not None]
    errors = {e.row: e.code for e in rules.batch_conflicts(rows, taken=taken, granted_lines=lines, held=held)}
    return [errors.get(i) for i in range(len(rows))]


def test_good_shapes_pass() -> None:
    assert rules.shape_errors([level_grant(), startup_grant()]) == []
    completion = level_grant(level=None, certificate_kind=CertificateKind.COMPLETION)  # type: ignore[arg-type]
    assert rules.shape_errors([completion]) == []


@pytest.mark.parametrize(
    "row",
    [
        level_grant(amount_fen=-1),
        level_grant(occupation_code=None),
        level_grant(level=6),
        level_grant(level=None),
        level_grant(certificate_kind=CertificateKind.SPECIAL_ABILITY),
        level_grant(policy_code=" "),
        level_grant(year=1999),
        startup_grant(level=5),
        startup_grant(occupation_code=ELECTRICIAN),
        startup_grant(kind=SubsidyKind.ASSESSMENT),
        startup_grant(startup_course=None),
    ],
)
def test_bad_shapes_are_named(row: NewGrant) -> None:
    [error] = rules.shape_errors([level_grant(), row])
    assert (error.row, error.code, error.field) == (1, "invalid_grant", "rows[1]")


def test_a_slot_is_per_kind_occupation_and_level_or_course() -> None:
    assert rules.slot_of_new(level_grant()) == ("level", PERSON, SubsidyKind.TRAINING, ELECTRICIAN, 5)
    assert rules.slot_of_new(level_grant()) != rules.slot_of_new(level_grant(kind=SubsidyKind.ASSESSMENT))
    assert rules.slot_of_new(startup_grant()) == ("startup", PERSON, StartupCourse.SYB)
    completion = level_grant(level=None, certificate_kind=CertificateKind.COMPLETION)  # type: ignore[arg-type]
    assert rules.slot_of_new(completion) is None


def test_the_second_row_of_one_slot_in_a_batch_is_refused() -> None:
    assert codes([level_grant(), level_grant(4), level_grant()]) == [None, None, "already_granted"]
    assert codes([startup_grant(), startup_grant()]) == [None, "already_granted"]


def test_a_slot_held_in_the_history_is_refused_even_reversed() -> None:
    history = [fact_of(level_grant(), reversed_=True), fact_of(startup_grant())]
    assert codes([level_grant(), startup_grant(), level_grant(4)], history) == [
        "already_granted",
        "already_granted",
        None,
    ]


def test_another_persons_slot_does_not_count() -> None:
    history = [fact_of(level_grant(trainee_id=uuid.uuid4()))]
    assert codes([level_grant()], history) == [None]


def test_a_line_is_granted_once() -> None:
    line = uuid.uuid4()
    assert codes([level_grant(line_id=line)], lines=[line]) == ["already_granted"]
    assert codes([level_grant(line_id=line), level_grant(4, line_id=line)]) == [None, "already_granted"]


def test_the_cap_counts_net_training_grants_of_the_year() -> None:
    history = [
        fact_of(level_grant(5, "a")),
        fact_of(level_grant(5, "b")),
        fact_of(level_grant(5, "c"), reversed_=True),
        fact_of(level_grant(5, "d", kind=SubsidyKind.ASSESSMENT)),
        fact_of(level_grant(5, "e", year=2024)),
    ]
    assert rules.cap_count(history, 2025) == 2
    assert codes(
        [level_grant(4, "x"), startup_grant(), level_grant(4, "y", kind=SubsidyKind.ASSESSMENT)], history
    ) == [
        None,
        "annual_cap",
        None,
    ]
    assert codes([level_grant(4, "x", year=2026)] * 1 + [level_grant(3, "x", year=2026)], history) == [
        None,
        None,
    ]


def test_four_in_a_year_in_one_batch() -> None:
    batch = [level_grant(5, o) for o in "abc"] + [startup_grant()]
    assert codes(batch) == [None, None, None, "annual_cap"]


def test_facts_net_amount() -> None:
    assert fact_of(level_grant()).net_fen == 120000
    assert fact_of(level_grant(), reversed_=True).net_fen == 0


def test_messages_name_the_row_and_slot_never_a_number() -> None:
    [error] = rules.batch_conflicts([level_grant(), level_grant()], taken=[], granted_lines=[], held={})
    assert (
        error.message
        == f"row 1: the person was already granted the training subsidy of occupation {ELECTRICIAN} at level 5"
    )
