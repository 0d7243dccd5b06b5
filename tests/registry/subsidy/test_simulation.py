"""The what-if's comparison (pure): costs, blocked lines, breakdowns and their order."""

from __future__ import annotations

import uuid

from registry.subsidy.simulation import (
    ClaimLines,
    Comparison,
    LineAmount,
    compare,
    cost_of,
    sector_of,
)

YEAR = 2025


def line(
    enrolment: uuid.UUID,
    total: int,
    outcome: str = "clean",
    *,
    kind: str = "training",
    year: int = YEAR,
    policy: str = "henan-2022",
    cohort_kind: str = "vocational",
    occupation: str | None = "4-02-04-06",
) -> LineAmount:
    return LineAmount(
        enrolment_id=enrolment,
        kind=kind,
        year=year,
        total_fen=total,
        outcome=outcome,
        policy_code=policy,
        cohort_kind=cohort_kind,
        occupation_code=occupation,
    )


def test_a_blocked_line_costs_nothing_and_is_reported_apart() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    claim = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[line(a, 156_000), line(b, 156_000, "blocked")],
        draft=[line(a, 180_000, policy="draft"), line(b, 180_000, "blocked", policy="draft")],
    )
    result = compare(YEAR, "draft", [claim])
    assert (result.total_fen_in_force, result.total_fen_draft, result.difference_fen) == (
        156_000,
        180_000,
        24_000,
    )
    assert (result.blocked_fen_in_force, result.blocked_fen_draft) == (156_000, 180_000)
    assert result.lines == 2 and result.claims == 1 and result.in_force == ["henan-2022"]
    assert result.outcomes_in_force.clean == 1 and result.outcomes_in_force.blocked == 1
    assert result.outcome_changes == 0
    assert cost_of(None) == 0 and cost_of(line(a, 5, "review")) == 5


def test_an_outcome_that_changes_moves_the_cost() -> None:
    """A draft that lowers the attendance threshold unblocks a line: its whole amount is new cost."""
    a = uuid.uuid4()
    claim = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[line(a, 156_000, "blocked")],
        draft=[line(a, 156_000, "review")],
    )
    result = compare(YEAR, "draft", [claim])
    assert result.difference_fen == 156_000 and result.outcome_changes == 1
    assert result.outcomes_draft.review == 1 and result.outcomes_draft.blocked == 0


def test_only_the_years_lines_count_and_claims_without_any_are_not_counted() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    this_year = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[line(a, 100), line(b, 100, year=YEAR - 1)],
        draft=[line(a, 150), line(b, 150, year=YEAR - 1)],
    )
    last_year = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[line(a, 100, year=YEAR - 1)],
        draft=[line(a, 100, year=YEAR - 1)],
    )
    result = compare(YEAR, "draft", [this_year, last_year])
    assert result.claims == 1 and result.lines == 1 and result.difference_fen == 50


def test_a_line_under_one_policy_only_is_absent_under_the_other() -> None:
    a = uuid.uuid4()
    claim = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[line(a, 20_000, kind="assessment")],
        draft=[],
    )
    result = compare(YEAR, "draft", [claim])
    assert result.lines == 1 and result.difference_fen == -20_000
    assert result.outcomes_draft.absent == 1 and result.outcome_changes == 1


def test_breakdowns_by_sector_division_and_priority_group_in_key_order() -> None:
    people = [uuid.uuid4() for _ in range(4)]
    voc = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410323",
        in_force=[line(people[0], 100), line(people[1], 200, occupation="6-31-01-03")],
        draft=[line(people[0], 130), line(people[1], 260, occupation="6-31-01-03")],
        groups={people[0]: ["veteran", "graduate"], people[1]: []},
    )
    startup = ClaimLines(
        claim_id=uuid.uuid4(),
        division_code="410305",
        in_force=[
            line(people[2], 120_000, cohort_kind="startup", occupation=None),
            line(people[3], 10, occupation=None),
        ],
        draft=[
            line(people[2], 120_000, cohort_kind="startup", occupation=None),
            line(people[3], 10, occupation=None),
        ],
        groups={people[2]: ["graduate"]},
    )
    result = compare(
        YEAR,
        "draft",
        [voc, startup],
        sector_names={"4": "社会生产服务和生活服务人员", "6": "生产制造及有关人员"},
        division_names={"410305": "涧西区"},
    )
    sectors = [
        (b.key, b.name, b.lines, b.in_force_fen, b.draft_fen, b.difference_fen) for b in result.by_sector
    ]
    assert sectors == [
        ("4", "社会生产服务和生活服务人员", 1, 100, 130, 30),
        ("6", "生产制造及有关人员", 1, 200, 260, 60),
        ("startup", "创业培训", 1, 120_000, 120_000, 0),
        ("unknown", None, 1, 10, 10, 0),
    ]
    divisions = [(b.key, b.name, b.lines, b.difference_fen) for b in result.by_division]
    assert divisions == [("410305", "涧西区", 2, 0), ("410323", None, 2, 90)]
    groups = [(b.key, b.lines, b.in_force_fen, b.difference_fen) for b in result.by_priority_group]
    # people[0] counts in both of its groups; people[1] and people[3] have none.
    assert groups == [("graduate", 2, 120_100, 30), ("none", 2, 210, 60), ("veteran", 1, 100, 30)]
    assert sum(b.difference_fen for b in result.by_sector) == result.difference_fen == 90
    assert sum(b.in_force_fen for b in result.by_division) == result.total_fen_in_force


def test_adding_claim_by_claim_gives_the_same_result_whatever_the_order() -> None:
    people = [uuid.uuid4() for _ in range(3)]
    claims = [
        ClaimLines(
            claim_id=uuid.uuid4(),
            division_code=code,
            in_force=[line(person, 100 * n)],
            draft=[line(person, 90 * n)],
        )
        for n, (code, person) in enumerate(zip(("410305", "410302", "410323"), people, strict=True), start=1)
    ]
    forward = compare(YEAR, "draft", claims)
    assert forward.lines == 3 and forward.difference_fen == -60
    backward = Comparison(YEAR, "draft")
    for claim in reversed(claims):
        backward.add(claim)
    assert backward.result() == forward
    assert [b.key for b in forward.by_division] == ["410302", "410305", "410323"]


def test_the_sector_is_the_major_group() -> None:
    assert sector_of(line(uuid.uuid4(), 1, occupation="4-02-04-06")) == "4"
    assert sector_of(line(uuid.uuid4(), 1, cohort_kind="startup", occupation=None)) == "startup"
    assert sector_of(line(uuid.uuid4(), 1, occupation=None)) == "unknown"
