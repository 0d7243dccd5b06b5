"""The subsidy rule, pure: every amount, every rule, the rounding and the boundaries, and
properties over generated facts (hypothesis). No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from registry.enums import (
    CertificateKind,
    CertificateStatus,
    CohortKind,
    EnrolmentOutcome,
    StartupCourse,
    TrainingMode,
)
from registry.subsidy.policy import Policy, parse_policy
from registry.subsidy.rules import (
    BatchItem,
    CertificateFacts,
    CohortFacts,
    Evaluation,
    Grant,
    Line,
    PersonFacts,
    add_months,
    age_on,
    evaluate,
    evaluate_batch,
    fact_errors,
    round_half_up_to_yuan,
)
from registry.subsidy.service import shipped_policy_files

POLICY: Policy = parse_policy(shipped_policy_files()[0].read_text(encoding="utf-8"))
OCC = "6-31-01-03"
START, END = dt.date(2025, 3, 3), dt.date(2025, 4, 30)
SKILL = CertificateKind.SKILL_LEVEL


def cohort(**overrides: Any) -> CohortFacts:
    values: dict[str, Any] = {
        "kind": CohortKind.VOCATIONAL,
        "planned_hours": 80,
        "start_date": START,
        "end_date": END,
        "occupation_code": OCC,
        "certificate_kind": SKILL,
        "certificate_level": 4,
        "training_mode": TrainingMode.GENERAL,
    }
    values.update(overrides)
    return CohortFacts(**values)


def startup_cohort(course: StartupCourse = StartupCourse.SYB, **overrides: Any) -> CohortFacts:
    values: dict[str, Any] = {
        "kind": CohortKind.STARTUP,
        "occupation_code": None,
        "certificate_kind": None,
        "certificate_level": None,
        "startup_course": course,
    }
    values.update(overrides)
    return cohort(**values)


def certificate(**overrides: Any) -> CertificateFacts:
    values: dict[str, Any] = {
        "kind": SKILL,
        "issue_date": dt.date(2025, 5, 20),
        "level": 4,
        "occupation_code": OCC,
    }
    values.update(overrides)
    return CertificateFacts(**values)


def facts(**overrides: Any) -> PersonFacts:
    values: dict[str, Any] = {
        "cohort": cohort(),
        "birth_date": dt.date(1990, 6, 15),
        "attended_hours": Decimal(80),
        "outcome": EnrolmentOutcome.COMPLETED,
        "claim_date": dt.date(2025, 6, 10),
        "certificate": certificate(),
        "history": (),
        "institution_approved": True,
    }
    values.update(overrides)
    result = PersonFacts(**values)
    assert fact_errors(result) == [], fact_errors(result)
    return result


def run(f: PersonFacts, priority: bool = False) -> Evaluation:
    return evaluate(f, POLICY, priority_trade=priority)


def training(f: PersonFacts, priority: bool = False) -> Line:
    return run(f, priority).lines[0]


def codes(line: Line) -> set[str]:
    return {flag.code for flag in line.flags}


def step(line: Line, rule: str) -> Any:
    return next(s for s in line.trace if s.rule == rule)


# --- amounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "fen"), [(5, 120000), (4, 160000), (3, 200000), (2, 400000), (1, 500000)])
def test_skill_level_amounts(level: int, fen: int) -> None:
    line = training(facts(cohort=cohort(certificate_level=level), certificate=certificate(level=level)))
    assert (line.base_fen, line.uplift_fen, line.total_fen, line.outcome) == (fen, 0, fen, "clean")


@pytest.mark.parametrize(("level", "fen"), [(5, 20000), (4, 24000), (3, 28000), (2, 35000), (1, 38000)])
def test_assessment_amounts_and_direct_recognition(level: int, fen: int) -> None:
    f = facts(cohort=cohort(certificate_level=level), certificate=certificate(level=level))
    evaluation = run(f, priority=True)
    assessment = evaluation.line("assessment")
    assert assessment is not None
    assert (assessment.base_fen, assessment.uplift_fen, assessment.total_fen) == (fen, 0, fen)
    halved = run(dataclasses.replace(f, certificate=certificate(level=level, direct_recognition=True)), True)
    line = halved.line("assessment")
    assert line is not None and line.total_fen == fen // 2
    # Direct recognition changes nothing on the training line.
    assert halved.lines[0].total_fen == evaluation.lines[0].total_fen


def test_special_ability_amounts() -> None:
    f = facts(
        cohort=cohort(
            certificate_kind=CertificateKind.SPECIAL_ABILITY, certificate_level=None, planned_hours=40
        ),
        certificate=certificate(kind=CertificateKind.SPECIAL_ABILITY, level=None),
        attended_hours=Decimal(40),
    )
    evaluation = run(f)
    assert [(line.kind, line.total_fen, line.outcome) for line in evaluation.lines] == [
        ("training", 80000, "clean"),
        ("assessment", 10000, "clean"),
    ]
    recognised = run(
        dataclasses.replace(
            f,
            certificate=certificate(
                kind=CertificateKind.SPECIAL_ABILITY, level=None, direct_recognition=True
            ),
        )
    )
    assert recognised.lines[1].total_fen == 5000


@pytest.mark.parametrize(("renewal", "fen"), [(False, 80000), (True, 30000)])
def test_special_operation_first_and_renewal(renewal: bool, fen: int) -> None:
    f = facts(
        cohort=cohort(certificate_kind=CertificateKind.SPECIAL_OPERATION, certificate_level=None),
        certificate=certificate(kind=CertificateKind.SPECIAL_OPERATION, level=None, is_renewal=renewal),
    )
    evaluation = run(f)
    assert [line.kind for line in evaluation.lines] == ["training"]  # no assessment line
    assert evaluation.lines[0].total_fen == fen


def completion(attended: str, planned: int = 80) -> PersonFacts:
    return facts(
        cohort=cohort(
            certificate_kind=CertificateKind.COMPLETION, certificate_level=None, planned_hours=planned
        ),
        certificate=certificate(kind=CertificateKind.COMPLETION, level=None),
        attended_hours=Decimal(attended),
    )


@pytest.mark.parametrize(
    ("attended", "planned", "fen"),
    [
        ("50", 60, 50000),  # 10 yuan an attended hour
        ("48.5", 60, 48500),
        ("65", 60, 60000),  # at most the planned hours
        ("70", 80, 70000),  # exactly the cap
        ("80", 80, 70000),  # 800 capped at 700
        ("90", 80, 70000),
    ],
)
def test_completion_counts_attended_hours_capped(attended: str, planned: int, fen: int) -> None:
    line = training(completion(attended, planned))
    assert line.base_fen == fen == line.total_fen
    assert line.kind == "training" and len(run(completion(attended, planned)).lines) == 1


def test_uplift_applies_on_top_of_the_capped_base() -> None:
    line = training(completion("80"), priority=True)
    assert (line.base_fen, line.uplift_fen, line.total_fen) == (70000, 21000, 91000)


@pytest.mark.parametrize(
    ("course", "fen"),
    [
        (StartupCourse.GYB, 30000),
        (StartupCourse.SYB, 120000),
        (StartupCourse.IYB, 130000),
        (StartupCourse.EYB, 150000),
    ],
)
def test_startup_amounts_never_uplifted(course: StartupCourse, fen: int) -> None:
    f = facts(cohort=startup_cohort(course), certificate=None)
    evaluation = run(f, priority=True)
    assert evaluation.priority_trade is False
    assert [
        (line.kind, line.base_fen, line.uplift_fen, line.total_fen, line.outcome) for line in evaluation.lines
    ] == [("training", fen, 0, fen, "clean")]


def test_priority_uplift_on_the_vocational_training_line_only() -> None:
    evaluation = run(facts(), priority=True)
    line, assessment = evaluation.lines
    assert (line.base_fen, line.uplift_fen, line.total_fen) == (160000, 48000, 208000)
    assert assessment.uplift_fen == 0 and assessment.total_fen == 24000
    uplift = step(line, "UPLIFT")
    assert uplift.inputs["percent"] == 30 and uplift.inputs["matching"][0]["code"] == "PRIORITY_TRADE"
    assert uplift.inputs["matching"][0]["assumed"] is True


@pytest.mark.parametrize(
    ("attended", "total"),
    [
        ("45.5", 59200),  # 455 + 136.5 = 591.5 -> 592 (half up)
        ("41.5", 54000),  # 415 + 124.5 = 539.5 -> 540
        ("41.7", 54200),  # 417 + 125.1 = 542.1 -> 542
        ("41.8", 54300),  # 418 + 125.4 = 543.4 -> 543
    ],
)
def test_total_rounded_to_whole_yuan_half_up(attended: str, total: int) -> None:
    line = training(completion(attended, 50), priority=True)
    assert line.total_fen == total
    assert line.base_fen + line.uplift_fen == line.total_fen
    assert line.total_fen % 100 == 0
    assert step(line, "TOTAL").inputs["rounding"] == "whole yuan, half up"


def test_round_half_up_helper() -> None:
    assert [round_half_up_to_yuan(x) for x in (0, 49, 50, 149, 150, 250, 13650)] == [
        0,
        0,
        100,
        100,
        200,
        300,
        13700,
    ]
    with pytest.raises(ValueError):
        round_half_up_to_yuan(-1)


# --- rules -----------------------------------------------------------------------------


def test_clean_line_trace_names_every_rule() -> None:
    line = training(facts())
    rules_traced = [s.rule for s in line.trace]
    for code in (
        "POLICY",
        "BASE",
        "UPLIFT",
        "TOTAL",
        "NOT_COMPLETED",
        "ATTENDANCE",
        "HOURS_MINIMUM",
        "AGE_RANGE",
        "INSTITUTION_NOT_APPROVED",
        "NO_CERTIFICATE",
        "CERT_NOT_VALID",
        "CERT_WINDOW",
        "CLAIM_WINDOW",
        "SAME_LEVEL_REPEAT",
        "LOWER_LEVEL",
        "STARTUP_REPEAT",
        "ANNUAL_CAP",
        "OUTCOME",
    ):
        assert code in rules_traced
    assert step(line, "POLICY").result == "henan-2022"
    assert step(line, "OUTCOME").result == "clean"
    assert "ID_INVALID" not in rules_traced  # a database check: claims apply it


@pytest.mark.parametrize(
    ("birth", "flagged"),
    [
        (dt.date(1965, 3, 3), True),  # turns 60 on the start date: outside
        (dt.date(1965, 3, 4), False),  # 59 until the next day
        (dt.date(2009, 3, 3), False),  # turns 16 on the start date
        (dt.date(2009, 3, 4), True),  # 15
    ],
)
def test_age_boundary(birth: dt.date, flagged: bool) -> None:
    line = training(facts(birth_date=birth))
    assert ("AGE_RANGE" in codes(line)) is flagged
    if flagged:
        assert line.outcome == "review"  # review only: payable after approval
        assert line.flags[0].severity == "review"
        assert line.total_fen == 160000  # computed either way


def test_age_on_leap_day() -> None:
    assert age_on(dt.date(2008, 2, 29), dt.date(2024, 2, 28)) == 15
    assert age_on(dt.date(2008, 2, 29), dt.date(2024, 2, 29)) == 16
    assert age_on(dt.date(2008, 2, 29), dt.date(2025, 3, 1)) == 17


@pytest.mark.parametrize(("attended", "flagged"), [("64", False), ("63.9", True), ("0", True)])
def test_attendance(attended: str, flagged: bool) -> None:
    line = training(facts(attended_hours=Decimal(attended)))
    assert ("ATTENDANCE" in codes(line)) is flagged
    assert line.outcome == ("blocked" if flagged else "clean")


@pytest.mark.parametrize("outcome", [EnrolmentOutcome.WITHDRAWN, EnrolmentOutcome.FAILED])
def test_not_completed(outcome: EnrolmentOutcome) -> None:
    line = training(facts(outcome=outcome))
    assert codes(line) == {"NOT_COMPLETED"} and line.outcome == "blocked" and line.total_fen == 160000


@pytest.mark.parametrize(
    ("kind", "planned", "flagged"),
    [
        (CertificateKind.SPECIAL_ABILITY, 39, True),
        (CertificateKind.SPECIAL_ABILITY, 40, False),
        (CertificateKind.COMPLETION, 39, True),
        (CertificateKind.COMPLETION, 40, False),
    ],
)
def test_hours_minimum(kind: CertificateKind, planned: int, flagged: bool) -> None:
    f = facts(
        cohort=cohort(certificate_kind=kind, certificate_level=None, planned_hours=planned),
        certificate=certificate(kind=kind, level=None),
        attended_hours=Decimal(planned),
    )
    assert ("HOURS_MINIMUM" in codes(training(f))) is flagged


def test_hours_minimum_not_for_skill_levels() -> None:
    line = training(facts(cohort=cohort(planned_hours=20), attended_hours=Decimal(20)))
    assert codes(line) == set() and step(line, "HOURS_MINIMUM").result == "not_applicable"


def test_institution_not_approved() -> None:
    evaluation = run(facts(institution_approved=False))
    assert codes(evaluation.lines[0]) == {"INSTITUTION_NOT_APPROVED"}
    assert evaluation.lines[0].outcome == "blocked"
    assert evaluation.lines[1].outcome == "clean"  # the assessment body's line does not depend on it


@pytest.mark.parametrize(
    "cert",
    [
        None,
        certificate(level=5),
        certificate(occupation_code="6-18-02-04"),
        certificate(kind=CertificateKind.SPECIAL_ABILITY, level=None),
    ],
)
def test_no_certificate(cert: CertificateFacts | None) -> None:
    evaluation = run(facts(certificate=cert))
    assert "NO_CERTIFICATE" in codes(evaluation.lines[0])
    assert evaluation.lines[0].outcome == "blocked"
    assert evaluation.lines[0].base_fen == 160000  # the cohort's target
    if cert is None:
        assert len(evaluation.lines) == 1


def test_no_certificate_is_not_a_startup_rule() -> None:
    line = training(facts(cohort=startup_cohort(), certificate=None))
    assert step(line, "NO_CERTIFICATE").result == "not_applicable" and line.outcome == "clean"


@pytest.mark.parametrize("status", [CertificateStatus.SUSPENDED, CertificateStatus.REVOKED])
def test_cert_not_valid(status: CertificateStatus) -> None:
    evaluation = run(facts(certificate=certificate(status=status)))
    for line in evaluation.lines:
        assert codes(line) == {"CERT_NOT_VALID"} and line.outcome == "blocked"


@pytest.mark.parametrize(
    ("issued", "flagged"),
    [
        (START - dt.timedelta(days=1), True),
        (START, False),
        (dt.date(2026, 4, 30), False),  # exactly 12 months after the end
        (dt.date(2026, 5, 1), True),
    ],
)
def test_cert_window(issued: dt.date, flagged: bool) -> None:
    f = facts(certificate=certificate(issue_date=issued), claim_date=issued)
    evaluation = run(f)
    for line in evaluation.lines:
        assert ("CERT_WINDOW" in codes(line)) is flagged


@pytest.mark.parametrize(
    ("claimed", "flagged"), [(dt.date(2026, 5, 20), False), (dt.date(2026, 5, 21), True)]
)
def test_claim_window_from_the_certificate_date(claimed: dt.date, flagged: bool) -> None:
    evaluation = run(facts(claim_date=claimed))
    for line in evaluation.lines:
        assert ("CLAIM_WINDOW" in codes(line)) is flagged


def test_claim_window_without_certificate_from_the_cohort_end() -> None:
    f = facts(cohort=startup_cohort(), certificate=None, claim_date=dt.date(2026, 5, 1))
    assert codes(training(f)) == {"CLAIM_WINDOW"}
    assert codes(training(dataclasses.replace(f, claim_date=dt.date(2026, 4, 30)))) == set()


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)


def grant(**overrides: Any) -> Grant:
    values: dict[str, Any] = {"kind": CohortKind.VOCATIONAL, "year": 2023, "occupation_code": OCC, "level": 4}
    values.update(overrides)
    return Grant(**values)


def test_same_level_repeat() -> None:
    assert codes(training(facts(history=(grant(),)))) == {"SAME_LEVEL_REPEAT"}
    assert codes(training(facts(history=(grant(occupation_code="6-18-02-04"),)))) == set()


def test_lower_level_level_one_is_the_highest() -> None:
    assert codes(training(facts(history=(grant(level=3),)))) == {"LOWER_LEVEL"}
    assert codes(training(facts(history=(grant(level=1),)))) == {"LOWER_LEVEL"}
    assert codes(training(facts(history=(grant(level=5),)))) == set()  # moving up is the point


def test_level_less_repeats_and_renewals() -> None:
    special = {"certificate_kind": CertificateKind.SPECIAL_OPERATION, "certificate_level": None}
    first = facts(
        cohort=cohort(**special),
        certificate=certificate(kind=CertificateKind.SPECIAL_OPERATION, level=None),
        history=(grant(level=None, certificate_kind=CertificateKind.SPECIAL_OPERATION),),
    )
    assert codes(training(first)) == {"SAME_LEVEL_REPEAT"}
    renewal = dataclasses.replace(
        first, certificate=certificate(kind=CertificateKind.SPECIAL_OPERATION, level=None, is_renewal=True)
    )
    line = training(renewal)
    assert codes(line) == set() and step(line, "SAME_LEVEL_REPEAT").result == "not_applicable"


def test_level_less_subsidies_are_granted_once_per_kind_and_occupation() -> None:
    """Issue 15, defect 1: special ability, a special-operation first certificate and
    completion are once per person for each (certificate kind, occupation); completion and
    special ability of one occupation are different subsidies."""
    for kind in (
        CertificateKind.SPECIAL_ABILITY,
        CertificateKind.COMPLETION,
        CertificateKind.SPECIAL_OPERATION,
    ):
        f = facts(
            cohort=cohort(certificate_kind=kind, certificate_level=None),
            certificate=certificate(kind=kind, level=None),
        )
        assert codes(training(f)) == set(), kind
        again = dataclasses.replace(f, history=(grant(level=None, certificate_kind=kind),))
        assert codes(training(again)) == {"SAME_LEVEL_REPEAT"}, kind
        elsewhere = dataclasses.replace(
            f, history=(grant(level=None, certificate_kind=kind, occupation_code="6-18-02-04"),)
        )
        assert codes(training(elsewhere)) == set(), kind
    ability = facts(
        cohort=cohort(certificate_kind=CertificateKind.SPECIAL_ABILITY, certificate_level=None),
        certificate=certificate(kind=CertificateKind.SPECIAL_ABILITY, level=None),
        history=(grant(level=None, certificate_kind=CertificateKind.COMPLETION),),
    )
    assert codes(training(ability)) == set()


def test_a_level_less_repeat_in_one_batch_and_a_certificate_backing_two_lines() -> None:
    """Two special-ability cohorts of one occupation in one batch: the second line repeats the
    first; two lines on one certificate: the second repeats it (a certificate backs one
    training grant, ever)."""
    import uuid

    kind = CertificateKind.SPECIAL_ABILITY
    march = facts(
        cohort=cohort(certificate_kind=kind, certificate_level=None),
        certificate=certificate(kind=kind, level=None),
    )
    april = dataclasses.replace(
        march,
        cohort=cohort(
            certificate_kind=kind,
            certificate_level=None,
            start_date=dt.date(2025, 4, 1),
            end_date=dt.date(2025, 5, 10),
        ),
        certificate=certificate(kind=kind, level=None, issue_date=dt.date(2025, 5, 25)),
    )
    first, second = evaluate_batch(
        [BatchItem("p", march, POLICY, False), BatchItem("p", april, POLICY, False)]
    )
    assert codes(first.lines[0]) == set() and codes(second.lines[0]) == {"SAME_LEVEL_REPEAT"}
    paper = uuid.uuid4()
    level4 = facts(certificate_id=paper)
    granted = grant(occupation_code="6-18-02-04", level=3, certificate_id=paper)
    assert codes(training(dataclasses.replace(level4, history=(granted,)))) == {"SAME_LEVEL_REPEAT"}


def test_a_renewal_is_paid_once_per_renewal_certificate() -> None:
    import uuid

    special = {"certificate_kind": CertificateKind.SPECIAL_OPERATION, "certificate_level": None}
    paper = uuid.uuid4()
    renewal = facts(
        cohort=cohort(**special),
        certificate=certificate(kind=CertificateKind.SPECIAL_OPERATION, level=None, is_renewal=True),
        certificate_id=paper,
    )
    first_grant = grant(level=None, certificate_kind=CertificateKind.SPECIAL_OPERATION)
    assert codes(training(dataclasses.replace(renewal, history=(first_grant,)))) == set()
    renewed = grant(
        level=None, certificate_kind=CertificateKind.SPECIAL_OPERATION, is_renewal=True, certificate_id=paper
    )
    assert codes(training(dataclasses.replace(renewal, history=(renewed,)))) == {"SAME_LEVEL_REPEAT"}
    other = dataclasses.replace(renewed, certificate_id=uuid.uuid4())
    assert codes(training(dataclasses.replace(renewal, history=(other,)))) == set()


def assessment(f: PersonFacts) -> Line:
    line = run(f).line("assessment")
    assert line is not None
    return line


def test_assessment_repeats_are_judged_at_compute() -> None:
    """Issue 15, defect 9: an assessment subsidy of an occupation and level (or a special
    ability) the body was already granted for the person is a repeat at compute."""
    assert "SAME_LEVEL_REPEAT" not in codes(assessment(facts()))
    again = facts(assessment_history=(grant(),))
    assert "SAME_LEVEL_REPEAT" in codes(assessment(again))
    assert codes(training(again)) == set()  # the training line has its own history
    ability = {"certificate_kind": CertificateKind.SPECIAL_ABILITY, "certificate_level": None}
    f = facts(
        cohort=cohort(**ability),
        certificate=certificate(kind=CertificateKind.SPECIAL_ABILITY, level=None),
        assessment_history=(grant(level=None, certificate_kind=CertificateKind.SPECIAL_ABILITY),),
    )
    assert "SAME_LEVEL_REPEAT" in codes(assessment(f))


def test_assessor_not_approved_blocks_the_assessment_line_only() -> None:
    f = facts(assessor_approved=False)
    line = assessment(f)
    assert "ASSESSOR_NOT_APPROVED" in codes(line) and line.outcome == "blocked"
    assert codes(training(f)) == set()
    assert step(assessment(facts()), "ASSESSOR_NOT_APPROVED").result == "pass"


def test_the_uplift_names_its_list_and_an_unconfirmed_list_needs_review() -> None:
    from registry.subsidy.rules import PriorityListFacts

    shipped = PriorityListFacts("reference-2025-01-01", "", confirmed=False)
    published = PriorityListFacts("luoyang-2026", "洛人社〔2026〕1号", confirmed=True)
    line = training(facts(priority_list=shipped), priority=True)
    assert codes(line) == {"PRIORITY_LIST_UNCONFIRMED"} and line.outcome == "review"
    assert step(line, "UPLIFT").inputs["priority_list"] == {
        "code": "reference-2025-01-01",
        "document": "",
        "published": False,
    }
    assert codes(training(facts(priority_list=published), priority=True)) == set()
    # No uplift from the list (not a priority trade): nothing to confirm.
    assert (
        step(training(facts(priority_list=shipped)), "PRIORITY_LIST_UNCONFIRMED").result == "not_applicable"
    )


@pytest.mark.parametrize(
    ("years", "flagged"),
    [((2025, 2025), False), ((2025, 2025, 2025), True), ((2024, 2024, 2024, 2026), False)],
)
def test_annual_cap(years: tuple[int, ...], flagged: bool) -> None:
    history = tuple(grant(occupation_code=f"4-0{i}-01-01", year=y) for i, y in enumerate(years))
    assert ("ANNUAL_CAP" in codes(training(facts(history=history)))) is flagged


def test_annual_cap_counts_startup_grants_and_the_certificate_year() -> None:
    history = (
        grant(
            kind=CohortKind.STARTUP,
            occupation_code=None,
            level=None,
            startup_course=StartupCourse.GYB,
            year=2026,
        ),
        grant(occupation_code="4-01-01-01", year=2026),
        grant(occupation_code="4-02-01-01", year=2026),
    )
    # Cohort ends 2025-12-20, certificate issued 2026-01-10: the line's year is 2026.
    late = facts(
        cohort=cohort(end_date=dt.date(2025, 12, 20)),
        certificate=certificate(issue_date=dt.date(2026, 1, 10)),
        claim_date=dt.date(2026, 2, 1),
        history=history,
    )
    line = training(late)
    assert codes(line) == {"ANNUAL_CAP"} and step(line, "ANNUAL_CAP").inputs["year"] == 2026
    # Without a certificate the line's year is the cohort's end date's (2025).
    startup = facts(cohort=startup_cohort(end_date=dt.date(2025, 12, 20)), certificate=None, history=history)
    assert "ANNUAL_CAP" not in codes(training(startup))


def test_startup_repeat() -> None:
    sy = grant(kind=CohortKind.STARTUP, occupation_code=None, level=None, startup_course=StartupCourse.SYB)
    assert codes(training(facts(cohort=startup_cohort(), certificate=None, history=(sy,)))) == {
        "STARTUP_REPEAT"
    }
    other = dataclasses.replace(sy, startup_course=StartupCourse.GYB)
    assert codes(training(facts(cohort=startup_cohort(), certificate=None, history=(other,)))) == set()


def test_severities_come_from_the_policy() -> None:
    document = msgspec.to_builtins(POLICY)
    for rule in document["rules"]:
        if rule["code"] == "AGE_RANGE":
            rule["severity"] = "block"
    policy = msgspec.convert(document, Policy)
    line = evaluate(facts(birth_date=dt.date(1940, 1, 1)), policy, priority_trade=False).lines[0]
    assert line.flags[0].severity == "block" and line.outcome == "blocked"


def test_batch_judges_repeats_against_earlier_lines() -> None:
    early = facts(certificate=certificate(issue_date=dt.date(2025, 5, 1)))
    late = facts(certificate=certificate(issue_date=dt.date(2025, 6, 1)))
    results = evaluate_batch(
        [
            BatchItem("p1", late, POLICY, False),
            BatchItem("p1", early, POLICY, False),
            BatchItem("p2", late, POLICY, False),
        ]
    )
    assert [codes(r.lines[0]) for r in results] == [{"SAME_LEVEL_REPEAT"}, set(), set()]


def test_batch_blocked_lines_are_not_grants() -> None:
    blocked = facts(
        certificate=certificate(issue_date=dt.date(2025, 5, 1)), outcome=EnrolmentOutcome.WITHDRAWN
    )
    later = facts(certificate=certificate(issue_date=dt.date(2025, 6, 1)))
    results = evaluate_batch([BatchItem("p", blocked, POLICY, False), BatchItem("p", later, POLICY, False)])
    assert results[1].lines[0].outcome == "clean"


# --- contradictory facts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cohort": startup_cohort(certificate_level=5)}, "cohort.certificate_level"),
        ({"cohort": cohort(occupation_code=None)}, "cohort.occupation_code"),
        ({"cohort": cohort(end_date=START - dt.timedelta(days=1))}, "cohort.end_date"),
        ({"cohort": cohort(planned_hours=-1)}, "cohort.planned_hours"),
        ({"attended_hours": Decimal(-1)}, "attended_hours"),
        ({"cohort": cohort(certificate_level=None)}, "cohort.certificate_level"),
        ({"cohort": cohort(startup_course=StartupCourse.GYB)}, "cohort.startup_course"),
        ({"certificate": certificate(level=None)}, "certificate.level"),
        ({"certificate": certificate(is_renewal=True)}, "certificate.is_renewal"),
        ({"birth_date": START + dt.timedelta(days=1)}, "birth_date"),
        ({"history": (grant(occupation_code=None),)}, "history[0].occupation_code"),
    ],
)
def test_fact_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    base = facts()
    broken = dataclasses.replace(base, **changes)
    assert field in [error.field for error in fact_errors(broken)]


# --- properties ------------------------------------------------------------------------

OCCUPATIONS = ("6-31-01-03", "6-18-02-04", "4-02-04-06")
DAYS = st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31))
KINDS = st.sampled_from(
    [
        CertificateKind.SKILL_LEVEL,
        CertificateKind.SPECIAL_ABILITY,
        CertificateKind.SPECIAL_OPERATION,
        CertificateKind.COMPLETION,
    ]
)


@st.composite
def person_facts(draw: st.DrawFn) -> PersonFacts:
    start = draw(DAYS)
    end = start + dt.timedelta(days=draw(st.integers(0, 120)))
    planned = draw(st.integers(1, 200))
    attended = Decimal(draw(st.integers(0, planned * 15))) / 10
    history = tuple(
        draw(
            st.lists(
                st.one_of(
                    st.builds(
                        Grant,
                        kind=st.just(CohortKind.VOCATIONAL),
                        year=st.integers(2022, 2027),
                        occupation_code=st.sampled_from(OCCUPATIONS),
                        level=st.integers(1, 5),
                    ),
                    st.builds(
                        Grant,
                        kind=st.just(CohortKind.VOCATIONAL),
                        year=st.integers(2022, 2027),
                        occupation_code=st.sampled_from(OCCUPATIONS),
                        certificate_kind=st.sampled_from(
                            [
                                CertificateKind.SPECIAL_ABILITY,
                                CertificateKind.SPECIAL_OPERATION,
                                CertificateKind.COMPLETION,
                            ]
                        ),
                    ),
                    st.builds(
                        Grant,
                        kind=st.just(CohortKind.STARTUP),
                        year=st.integers(2022, 2027),
                        startup_course=st.sampled_from(list(StartupCourse)),
                    ),
                ),
                max_size=5,
            )
        )
    )
    outcome = draw(st.sampled_from([EnrolmentOutcome.COMPLETED] * 3 + [EnrolmentOutcome.WITHDRAWN]))
    birth = start - dt.timedelta(days=draw(st.integers(14 * 365, 62 * 365)))
    issue = start + dt.timedelta(days=draw(st.integers(-10, 500)))
    common = {
        "birth_date": birth,
        "attended_hours": attended,
        "outcome": outcome,
        "claim_date": issue + dt.timedelta(days=draw(st.integers(0, 400))),
        "history": history,
        "institution_approved": draw(st.booleans()),
    }
    status = draw(st.sampled_from([CertificateStatus.VALID] * 4 + [CertificateStatus.REVOKED]))
    if draw(st.integers(0, 4)) == 0:
        course = draw(st.sampled_from(list(StartupCourse)))
        cert = draw(
            st.one_of(
                st.none(),
                st.just(
                    CertificateFacts(CertificateKind.STARTUP, issue, startup_course=course, status=status)
                ),
            )
        )
        return PersonFacts(
            cohort=CohortFacts(CohortKind.STARTUP, planned, start, end, startup_course=course),
            certificate=cert,
            **common,
        )
    kind = draw(KINDS)
    level = draw(st.integers(1, 5)) if kind is CertificateKind.SKILL_LEVEL else None
    occupation = draw(st.sampled_from(OCCUPATIONS))
    certificate_facts = CertificateFacts(
        kind,
        issue,
        level=level if draw(st.integers(0, 5)) else (level and 6 - level),
        occupation_code=occupation,
        status=status,
        is_renewal=kind is CertificateKind.SPECIAL_OPERATION and draw(st.booleans()),
        direct_recognition=draw(st.booleans()),
    )
    return PersonFacts(
        cohort=CohortFacts(
            CohortKind.VOCATIONAL,
            planned,
            start,
            end,
            occupation_code=occupation,
            certificate_kind=kind,
            certificate_level=level,
            training_mode=draw(st.sampled_from(list(TrainingMode))),
        ),
        certificate=draw(st.one_of(st.none(), st.just(certificate_facts))),
        **common,
    )


@settings(max_examples=300, deadline=None)
@given(person_facts(), st.booleans())
def test_property_never_negative_and_consistent(f: PersonFacts, priority: bool) -> None:
    assert fact_errors(f) == []
    evaluation = evaluate(f, POLICY, priority_trade=priority)
    assert evaluation.lines[0].kind == "training"
    for line in evaluation.lines:
        assert line.base_fen >= 0 and line.uplift_fen >= 0 and line.total_fen >= 0
        assert line.base_fen + line.uplift_fen == line.total_fen
        assert line.total_fen % 100 == 0
        severities = {flag.severity for flag in line.flags}
        expected = "blocked" if "block" in severities else "review" if severities else "clean"
        assert line.outcome == expected
    if f.cohort.kind is CohortKind.STARTUP:
        assert evaluation.lines[0].uplift_fen == 0
    assert all(line.uplift_fen == 0 for line in evaluation.lines[1:])


@settings(max_examples=200, deadline=None)
@given(person_facts(), st.booleans(), st.randoms(use_true_random=False))
def test_property_same_facts_same_lines_whatever_the_history_order(
    f: PersonFacts, priority: bool, rnd: Any
) -> None:
    first = evaluate(f, POLICY, priority_trade=priority)
    assert evaluate(f, POLICY, priority_trade=priority) == first
    shuffled = list(f.history)
    rnd.shuffle(shuffled)
    assert evaluate(dataclasses.replace(f, history=tuple(shuffled)), POLICY, priority_trade=priority) == first


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), person_facts(), st.booleans()), min_size=1, max_size=8
    ),
    st.randoms(use_true_random=False),
)
def test_property_batch_order_does_not_matter(people: list[tuple[str, PersonFacts, bool]], rnd: Any) -> None:
    # Two items alike in every fact are one person's same enrolment twice, which a claim
    # cannot hold (one line per enrolment): which of the two is the repeat is not a fact.
    assume(len({(key, repr(f), p) for key, f, p in people}) == len(people))
    items = [BatchItem(key, f, POLICY, p) for key, f, p in people]
    results = evaluate_batch(items)
    order = list(range(len(items)))
    rnd.shuffle(order)
    shuffled = evaluate_batch([items[i] for i in order])
    assert [shuffled[order.index(i)] for i in range(len(items))] == results


def _grants_are_within_the_rules(granted: list[tuple[PersonFacts, Line]]) -> None:
    keys = Counter()
    years = Counter()
    for f, _line in granted:
        cohort_ = f.cohort
        line_year = (f.certificate.issue_date if f.certificate else cohort_.end_date).year
        years[line_year] += 1
        renewal = f.certificate is not None and f.certificate.is_renewal
        if cohort_.kind is CohortKind.VOCATIONAL and not renewal:
            keys[(cohort_.occupation_code, cohort_.certificate_kind, cohort_.certificate_level)] += 1
        if cohort_.kind is CohortKind.STARTUP:
            keys[("startup", cohort_.startup_course)] += 1
    assert all(n <= 1 for n in keys.values()), keys
    assert all(n <= 3 for n in years.values()), years


@settings(max_examples=200, deadline=None)
@given(st.lists(person_facts(), min_size=1, max_size=12))
def test_property_sequential_grants_never_repeat_or_exceed_the_cap(people: list[PersonFacts]) -> None:
    history: list[Grant] = []
    granted: list[tuple[PersonFacts, Line]] = []
    for f in people:
        line = evaluate(dataclasses.replace(f, history=tuple(history)), POLICY, priority_trade=False).lines[0]
        if line.outcome == "clean":
            history.append(
                Grant(
                    f.cohort.kind,
                    (f.certificate.issue_date if f.certificate else f.cohort.end_date).year,
                    f.cohort.occupation_code,
                    f.cohort.certificate_level,
                    f.cohort.startup_course,
                    certificate_kind=f.cohort.certificate_kind,
                    is_renewal=f.certificate is not None and f.certificate.is_renewal,
                )
            )
            granted.append((f, line))
    _grants_are_within_the_rules(granted)


@settings(max_examples=150, deadline=None)
@given(st.lists(person_facts(), min_size=1, max_size=10))
def test_property_one_batch_never_grants_a_repeat_or_beyond_the_cap(people: list[PersonFacts]) -> None:
    items = [BatchItem("same-person", dataclasses.replace(f, history=()), POLICY, False) for f in people]
    results = evaluate_batch(items)
    granted = [
        (item.facts, r.lines[0])
        for item, r in zip(items, results, strict=True)
        if r.lines[0].outcome != "blocked"
    ]
    _grants_are_within_the_rules(granted)
