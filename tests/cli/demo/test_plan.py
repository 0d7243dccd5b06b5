"""The demo plan, pure: deterministic, the city plan's shapes at a tenth of its size, valid
people, anomalies as planned, roster files the real parser accepts. No database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from functools import cache

import pytest

from cli.demo.plan import (
    DIVISIONS,
    SCALES,
    Occupation,
    Plan,
    PlanInputs,
    build_plan,
    name_for,
    roster_csv,
)
from registry.accounts.rules import uscc_with_check
from registry.core.tabular import iter_table
from registry.enums import EnrolmentOutcome
from registry.people.rules import idnumber, personal
from registry.reference.catalogue import read_divisions, read_occupations, read_reference_priority_list
from registry.training.roster.rules import parse_roster

YEAR = 2025
MID = SCALES["city"].scaled(0.1, "mid")
LUOYANG_CODES = {d.code for d in DIVISIONS} | {"410381", "410306", "410322"}


@cache
def inputs() -> PlanInputs:
    occupations = {o.code: o for o in read_occupations() if o.level == 4}
    trades = [Occupation(r.code, occupations[r.code].name) for r in read_reference_priority_list()]
    on_list = {o.code for o in trades}
    others = [Occupation(o.code, o.name) for o in occupations.values() if o.code not in on_list]
    return PlanInputs(trades, others, demo_training_uscc=uscc_with_check("91410305MA9DEMT01"))


@cache
def mid_plan() -> Plan:
    return build_plan(inputs(), year=YEAR, scale=MID, seed=7)


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=3)
    b = build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=3)
    c = build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=4)
    assert a.stats() == b.stats()
    assert [roster_csv(a, x) for x in a.cohorts] == [roster_csv(b, x) for x in b.cohorts]
    assert a.certificates == b.certificates
    assert [p.id_number for p in a.people] != [p.id_number for p in c.people]
    assert a.tag == "S3" and c.tag == "S4"


def test_counts_and_shares_at_a_tenth_of_the_city() -> None:
    plan = mid_plan()
    stats = plan.stats()
    voc = [c for c in plan.cohorts if c.kind == "vocational"]
    startup = [c for c in plan.cohorts if c.kind == "startup"]
    assert len(voc) == MID.vocational_cohorts and len(startup) == MID.startup_cohorts
    assert sum(c.cancelled for c in voc) == MID.cancelled_cohorts
    assert all(not c.enrolments for c in voc if c.cancelled)
    assert stats["vocational_enrolments"] == MID.vocational_enrolments
    assert stats["startup_enrolments"] == MID.startup_trainees
    # Institutions: training providers in every division, the assessment bodies, the demo one.
    training = [i for i in plan.institutions if "training" in i.kinds and not i.existing]
    assert len(training) == MID.training_institutions
    assert len({i.division_code for i in training}) >= min(len(training), 10)
    many = replace(SCALES["tiny"], training_institutions=SCALES["city"].training_institutions)
    city = build_plan(inputs(), year=YEAR, scale=many, seed=1).institutions
    assert {i.division_code for i in city if "training" in i.kinds} == {d.code for d in DIVISIONS}
    assert len({i.uscc for i in plan.institutions}) == len(plan.institutions)
    assert sum(i.existing for i in plan.institutions) == 1
    assert sum(1 for c in voc if plan.institutions[c.institution].existing) == MID.demo_institution_cohorts
    # Outcomes: ~90% complete.
    outcomes = stats["vocational_outcomes"]
    assert 0.86 <= outcomes["completed"] / stats["vocational_enrolments"] <= 0.94
    assert outcomes["withdrawn"] > outcomes["failed"] > 0
    # Occupations: 55-60% of the cohorts on priority trades, unevenly spread.
    assert 0.52 <= stats["priority_cohort_share"] <= 0.64
    per_trade = Counter(c.occupation.code for c in voc if c.priority and c.occupation)
    counts = sorted(per_trade.values(), reverse=True)
    assert len(per_trade) >= 80
    assert counts[0] >= 5 * counts[len(counts) // 2]
    # Certificates: the level-3+ target met within 3%; veterans as planned.
    assert abs(stats["high_skill_holders"] - MID.high_skill_holders) <= 0.03 * MID.high_skill_holders
    assert set(stats["skill_levels"]) == {"1", "2", "3", "4", "5"}
    assert stats["certificates"]["startup"] <= stats["startup_trained"]
    assert stats["veterans_trained"] >= 0.85 * MID.veterans
    shares = stats["group_shares"]
    assert 0.12 <= shares["migrant_worker"] <= 0.30
    assert 0.12 <= shares["rural_labour"] <= 0.30
    assert 0.05 <= shares["graduate"] <= 0.15
    assert 0.008 <= shares["veteran"] <= 0.012
    assert 0.005 <= shares["disabled"] <= 0.02


def test_dates_within_the_year_and_certificates_after_the_cohort() -> None:
    plan = mid_plan()
    months: Counter[int] = Counter()
    for c in plan.cohorts:
        assert dt.date(YEAR, 1, 1) <= c.start_date < c.end_date <= dt.date(YEAR, 12, 16)
        assert 12 <= (c.end_date - c.start_date).days <= 84
        assert max(len(c.enrolments), 1) <= c.capacity <= 500
        assert len(c.reference) <= 64 and c.reference.startswith(f"DEMO-{YEAR}-M7-")
        months[c.start_date.month] += 1
    assert months[2] < months[3] and months[12] < months[11]  # the seasonal shape
    by_index = {c.index: c for c in plan.cohorts}
    numbers = [cert.number for cert in plan.certificates]
    assert len(set(numbers)) == len(numbers)
    for cert in plan.certificates:
        cohort = by_index[cert.cohort]
        assert cohort.start_date <= cert.issue_date <= dt.date(YEAR, 12, 31)
        enrolment = next(e for e in cohort.enrolments if e.person == cert.person)
        assert enrolment.outcome == "completed"
        assert (cert.level is not None) == (cert.kind == "skill_level")
        assert plan.institutions[cert.issuer].kinds == ("assessment",)


def test_people_are_valid_unique_and_from_luoyang() -> None:
    plan = mid_plan()
    numbers = [p.id_number for p in plan.people]
    assert len(set(numbers)) == len(numbers)
    ages = []
    for p in plan.people:
        parsed = idnumber.validate(p.id_number, today=dt.date(YEAR, 12, 31))
        assert parsed.address_code in LUOYANG_CODES
        assert parsed.sex == p.sex and parsed.birth_date == p.birth_date
        assert personal.validate_name(p.name) == p.name == name_for(p.id_number, p.sex, p.birth_date.year)
        assert personal.validate_phone(p.phone) == p.phone
        ages.append(idnumber.age_on(p.birth_date, dt.date(YEAR, 7, 1)))
        if "unemployed_youth" in p.groups:
            assert 16 <= ages[-1] <= 24
    assert min(ages) >= 16 and max(ages) <= 64
    assert sum(16 <= a <= 59 for a in ages) / len(ages) > 0.98
    codes = Counter(p.id_number[:6] for p in plan.people)
    assert codes["410381"] > 0 and codes["410322"] > 0 and codes["410306"] > 0
    assert codes["410307"] == 0 and codes["410308"] == 0  # nobody got a number there before 2021


def test_anomalies_are_planted_as_recorded() -> None:
    plan = mid_plan()
    a = plan.anomalies
    by_index = {c.index: c for c in plan.cohorts}
    assert len(a.overlap_people) == MID.overlap_people == len(a.overlap_pairs)
    for person, (x, y) in zip(a.overlap_people, a.overlap_pairs, strict=True):
        cx, cy = by_index[x], by_index[y]
        assert cx.institution != cy.institution
        assert cx.start_date <= cy.end_date and cy.start_date <= cx.end_date
        for cohort in (cx, cy):
            assert [e.outcome for e in cohort.enrolments if e.person == person] == ["completed"]
    sharing = [p for p in plan.people if p.phone == a.shared_phone]
    assert len(sharing) == len(a.shared_phone_people) >= max(MID.shared_phone_trainees, 30)
    institutions = {
        c.institution for c in plan.cohorts for e in c.enrolments if e.person in set(a.shared_phone_people)
    }
    assert len(institutions) >= 3
    assert len(a.attendance_shortfalls) == MID.attendance_shortfalls
    low = [
        (c.index, e.person)
        for c in plan.cohorts
        for e in c.enrolments
        if e.outcome == "completed" and e.attended_hours < 0.8 * c.planned_hours
    ]
    assert sorted(low) == sorted(a.attendance_shortfalls)
    assert plan.stats()["anomalies"] == a.as_dict()


def test_rosters_parse_with_the_real_parser() -> None:
    plan = build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=1)
    divisions = {d.name: d.code for d in read_divisions()} | {d.code: d.code for d in read_divisions()}
    labels = {
        "completed": EnrolmentOutcome.COMPLETED,
        "withdrawn": EnrolmentOutcome.WITHDRAWN,
        "failed": EnrolmentOutcome.FAILED,
    }
    for cohort in plan.cohorts:
        if cohort.cancelled:
            continue
        data = roster_csv(plan, cohort)
        parsed = parse_roster(
            iter_table(data, "roster.csv"), divisions=divisions, today=dt.date(YEAR, 12, 31)
        )
        assert parsed.errors == []
        assert len(parsed.rows) == len(cohort.enrolments)
        for row, e in zip(parsed.rows, cohort.enrolments, strict=True):
            person = plan.people[e.person]
            assert row.id.number == person.id_number and row.name == person.name
            assert row.household_division == person.household
            assert tuple(sorted(g.value for g in row.groups)) == person.groups
            assert row.outcome is labels[e.outcome]
            assert float(row.attended_hours or 0) == e.attended_hours


@pytest.mark.parametrize("scale", ["tiny", "small"])
def test_small_scales(scale: str) -> None:
    plan = build_plan(inputs(), year=2019, scale=SCALES[scale], seed=1)
    stats = plan.stats()
    size = SCALES[scale]
    assert stats["vocational_enrolments"] == size.vocational_enrolments
    assert len(plan.cohorts) == size.vocational_cohorts + size.startup_cohorts
    assert stats["anomalies"]["shared_phone_trainees"] == size.shared_phone_trainees
    assert stats["anomalies"]["overlapping_enrolments_people"] == size.overlap_people


def test_a_year_still_running_ends_before_the_last_day() -> None:
    last = dt.date(YEAR, 8, 31)
    base = inputs()
    plan = build_plan(
        PlanInputs(base.priority_trades, base.other_occupations, last_day=last),
        year=YEAR,
        scale=SCALES["small"],
        seed=1,
    )
    assert max(c.end_date for c in plan.cohorts) <= last - dt.timedelta(days=15)
    assert max(c.issue_date for c in plan.certificates) <= last


@pytest.mark.parametrize("scale", ["small", "mid"])
def test_the_demo_institutions_first_cohort_shows_one_of_each_anomaly(scale: str) -> None:
    """What the demo institution's own claim shows (an overlap, a shared phone, an
    attendance shortfall), whatever the scale."""
    plan = mid_plan() if scale == "mid" else build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=1)
    demo = next(i.key for i in plan.institutions if i.uscc == inputs().demo_training_uscc)
    showcase = next(
        c
        for c in plan.cohorts
        if c.institution == demo and c.kind == "vocational" and not c.cancelled and c.enrolments
    )
    people = {e.person for e in showcase.enrolments}
    a = plan.anomalies
    assert people & set(a.overlap_people)
    assert len(people & set(a.shared_phone_people)) >= 2 and len(a.shared_phone_people) >= 5
    assert any(index == showcase.index for index, _ in a.attendance_shortfalls)
