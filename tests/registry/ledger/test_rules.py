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
        is_renewal=row.is_renewal,
    )


def codes(
    rows: list[NewGrant], history: Sequence[GrantFact] = (), lines: Sequence[uuid.UUID] = ()
) -> list[str | None]:
    errors = {e.row: e.code for e in rules.batch_conflicts(rows, history=history, granted_lines=lines)}
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
    assert rules.slots_of_new(level_grant()) == ((PERSON, "level", SubsidyKind.TRAINING, ELECTRICIAN, 5),)
    assert rules.slots_of_new(level_grant()) != rules.slots_of_new(level_grant(kind=SubsidyKind.ASSESSMENT))
    assert rules.slots_of_new(startup_grant()) == ((PERSON, "startup", StartupCourse.SYB),)
    completion = level_grant(level=None, certificate_kind=CertificateKind.COMPLETION)  # type: ignore[arg-type]
    assert rules.slots_of_new(completion) == (
        (PERSON, "once", SubsidyKind.TRAINING, CertificateKind.COMPLETION, ELECTRICIAN),
    )


def test_level_less_grants_hold_a_slot_per_certificate_kind_and_occupation() -> None:
    """Issue 15, defect 1: a level-less subsidy once per person, kind of certificate and
    occupation; completion and special ability of one occupation are two subsidies; a
    renewal once per renewal certificate; a certificate backs one grant of each kind."""
    ability = level_grant(level=None, certificate_kind=CertificateKind.SPECIAL_ABILITY)  # type: ignore[arg-type]
    completion = level_grant(level=None, certificate_kind=CertificateKind.COMPLETION)  # type: ignore[arg-type]
    assert codes([ability, ability]) == [None, "already_granted"]
    assert codes([ability, completion]) == [None, None]
    paper = uuid.uuid4()
    renewal = level_grant(
        level=None,  # type: ignore[arg-type]
        certificate_kind=CertificateKind.SPECIAL_OPERATION,
        is_renewal=True,
        certificate_id=paper,
    )
    first = level_grant(level=None, certificate_kind=CertificateKind.SPECIAL_OPERATION)  # type: ignore[arg-type]
    assert codes([first, renewal]) == [None, None]
    assert codes([renewal, dataclasses.replace(renewal, line_id=uuid.uuid4())]) == [None, "already_granted"]
    on_paper = level_grant(certificate_id=paper, occupation="6-31-01-03")
    assert codes([on_paper, dataclasses.replace(on_paper, level=4)]) == [None, "already_granted"]
    assert codes([on_paper, dataclasses.replace(on_paper, kind=SubsidyKind.ASSESSMENT)]) == [None, None]


def test_a_lower_level_after_a_higher_one_is_refused() -> None:
    assert codes([level_grant(3), level_grant(4)]) == [None, "lower_level"]
    assert codes([level_grant(4), level_grant(3)]) == [None, None]


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
    [error] = rules.batch_conflicts([level_grant(), level_grant()], history=[])
    assert (
        error.message
        == f"row 1: the person was already granted the training subsidy of occupation {ELECTRICIAN} at level 5"
    )
