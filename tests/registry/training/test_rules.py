from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from registry.enums import CohortStatus
from registry.people.rules.idnumber import make_number
from registry.training import rules
from registry.training.rules import Action, CohortFacts, EnrolmentRequest

TODAY = date(2025, 6, 1)


def facts(**overrides: Any) -> CohortFacts:
    base = CohortFacts(
        reference="LY-2025-001",
        kind="vocational",
        division_code="410305",
        planned_hours=80,
        start_date=date(2025, 3, 1),
        end_date=date(2025, 4, 30),
        capacity=40,
        occupation_code="4-02-04-06",
        certificate_kind="skill_level",
        certificate_level=4,
    )
    return dataclasses.replace(base, **overrides)


def startup(**overrides: Any) -> CohortFacts:
    values: dict[str, Any] = {
        "kind": "startup",
        "occupation_code": None,
        "certificate_kind": None,
        "certificate_level": None,
        "startup_course": "SYB",
    }
    return facts(**{**values, **overrides})


def errors(f: CohortFacts, *, level: int | None = 4, division: bool = True) -> set[tuple[str, str]]:
    return {
        (e.field, e.code)
        for e in rules.cohort_errors(rules.normalise(f), occupation_level=level, division_known=division)
    }


def test_valid_vocational_and_startup_cohorts() -> None:
    assert errors(facts()) == set()
    assert errors(facts(certificate_kind="special_ability", certificate_level=None)) == set()
    assert errors(facts(certificate_kind="special_operation", certificate_level=None)) == set()
    assert (
        errors(
            facts(
                certificate_kind="completion",
                certificate_level=None,
                training_mode="order_based",
                delivery="blended",
            )
        )
        == set()
    )
    for course in ("GYB", "SYB", "IYB", "EYB"):
        assert errors(startup(startup_course=course), level=None) == set()


def test_startup_gets_the_startup_certificate_kind_and_clean_text() -> None:
    f = rules.normalise(startup(startup_course=" syb ", reference="  LY　001 ", name=" 创业 班 "))
    assert f.certificate_kind == "startup" and f.startup_course == "SYB"
    assert f.reference == "LY 001" and f.name == "创业 班"


@pytest.mark.parametrize(
    ("overrides", "level", "expected"),
    [
        ({"occupation_code": None}, None, ("occupation_code", "required")),
        ({"occupation_code": "4020406"}, None, ("occupation_code", "invalid_format")),
        ({"occupation_code": "x-02-04-06"}, None, ("occupation_code", "invalid_format")),
        ({"occupation_code": "9-99-99-99"}, None, ("occupation_code", "unknown_occupation")),
        ({"occupation_code": "4-10-01-00"}, 3, ("occupation_code", "not_an_occupation")),
        ({"certificate_kind": None}, 4, ("certificate_kind", "required")),
        ({"certificate_kind": "startup"}, 4, ("certificate_kind", "invalid_choice")),
        ({"certificate_kind": "diploma"}, 4, ("certificate_kind", "invalid_choice")),
        ({"certificate_level": None}, 4, ("certificate_level", "required")),
        ({"certificate_level": 0}, 4, ("certificate_level", "out_of_range")),
        ({"certificate_level": 6}, 4, ("certificate_level", "out_of_range")),
        ({"certificate_kind": "completion", "certificate_level": 3}, 4, ("certificate_level", "not_allowed")),
        ({"startup_course": "SYB"}, 4, ("startup_course", "not_allowed")),
        ({"kind": "evening"}, 4, ("kind", "invalid_choice")),
        ({"training_mode": "remote"}, 4, ("training_mode", "invalid_choice")),
        ({"delivery": "postal"}, 4, ("delivery", "invalid_choice")),
        ({"reference": "  "}, 4, ("reference", "required")),
        ({"reference": "x" * 65}, 4, ("reference", "too_long")),
        ({"reference": "a\x00b"}, 4, ("reference", "invalid_characters")),
        ({"name": "n" * 201}, 4, ("name", "too_long")),
        ({"division_code": ""}, 4, ("division_code", "required")),
        ({"planned_hours": 0}, 4, ("planned_hours", "out_of_range")),
        ({"planned_hours": -5}, 4, ("planned_hours", "out_of_range")),
        ({"planned_hours": 2001}, 4, ("planned_hours", "out_of_range")),
        ({"capacity": 0}, 4, ("capacity", "out_of_range")),
        ({"capacity": 501}, 4, ("capacity", "out_of_range")),
        ({"end_date": date(2025, 2, 28)}, 4, ("end_date", "before_start")),
        ({"end_date": date(2026, 3, 2)}, 4, ("end_date", "too_long")),
        ({"start_date": date(1999, 3, 1)}, 4, ("start_date", "out_of_range")),
        ({"end_date": date(2101, 3, 1)}, 4, ("end_date", "out_of_range")),
    ],
)
def test_every_vocational_field_refuses_bad_values(
    overrides: dict[str, Any], level: int | None, expected: tuple[str, str]
) -> None:
    assert expected in errors(facts(**overrides), level=level)


def test_unknown_division() -> None:
    assert ("division_code", "unknown_division") in errors(facts(division_code="110101"), division=False)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"startup_course": None}, ("startup_course", "required")),
        ({"startup_course": "MBA"}, ("startup_course", "invalid_choice")),
        ({"occupation_code": "4-02-04-06"}, ("occupation_code", "not_allowed")),
        ({"certificate_kind": "skill_level"}, ("certificate_kind", "not_allowed")),
        ({"certificate_level": 3}, ("certificate_level", "not_allowed")),
    ],
)
def test_startup_fields(overrides: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in errors(startup(**overrides), level=4)


def test_every_problem_is_reported_at_once() -> None:
    found = errors(
        facts(planned_hours=0, capacity=0, occupation_code=None, end_date=date(2025, 1, 1)), level=None
    )
    assert {"planned_hours", "capacity", "occupation_code", "end_date"} <= {f for f, _ in found}


def test_one_year_at_most_including_leap_days() -> None:
    assert errors(facts(start_date=date(2025, 3, 1), end_date=date(2026, 3, 1))) == set()
    assert errors(facts(start_date=date(2024, 2, 29), end_date=date(2025, 2, 28))) == set()
    assert ("end_date", "too_long") in errors(facts(start_date=date(2024, 2, 29), end_date=date(2025, 3, 1)))
    assert errors(facts(start_date=date(2025, 3, 1), end_date=date(2025, 3, 1))) == set()


# --- workflow --------------------------------------------------------------------------------


def test_running_is_derived_from_the_start_date() -> None:
    day = date(2025, 3, 1)
    assert rules.effective_status("open", day, date(2025, 2, 28)) is CohortStatus.OPEN
    assert rules.effective_status("open", day, day) is CohortStatus.RUNNING
    assert rules.effective_status(CohortStatus.DRAFT, day, date(2025, 5, 1)) is CohortStatus.DRAFT
    assert rules.effective_status("closed", day, date(2025, 5, 1)) is CohortStatus.CLOSED


S = CohortStatus


@pytest.mark.parametrize(
    ("status", "action", "code"),
    [
        (S.DRAFT, Action.EDIT, None),
        (S.OPEN, Action.EDIT, None),
        (S.RUNNING, Action.EDIT, "cohort_running"),
        (S.CLOSED, Action.EDIT, "cohort_closed"),
        (S.CANCELLED, Action.EDIT, "cohort_cancelled"),
        (S.DRAFT, Action.OPEN, None),
        (S.OPEN, Action.OPEN, "cohort_not_draft"),
        (S.RUNNING, Action.OPEN, "cohort_not_draft"),
        (S.CLOSED, Action.OPEN, "cohort_closed"),
        (S.CANCELLED, Action.OPEN, "cohort_cancelled"),
        (S.DRAFT, Action.CLOSE, "cohort_not_running"),
        (S.OPEN, Action.CLOSE, "cohort_not_running"),
        (S.RUNNING, Action.CLOSE, None),
        (S.CLOSED, Action.CLOSE, "cohort_closed"),
        (S.CANCELLED, Action.CLOSE, "cohort_cancelled"),
        (S.DRAFT, Action.CANCEL, None),
        (S.OPEN, Action.CANCEL, None),
        (S.RUNNING, Action.CANCEL, None),
        (S.CLOSED, Action.CANCEL, "cohort_closed"),
        (S.CANCELLED, Action.CANCEL, "cohort_cancelled"),
        (S.DRAFT, Action.ENROL, "cohort_not_open"),
        (S.OPEN, Action.ENROL, None),
        (S.RUNNING, Action.ENROL, None),
        (S.CLOSED, Action.ENROL, "cohort_closed"),
        (S.CANCELLED, Action.ENROL, "cohort_cancelled"),
        (S.DRAFT, Action.RECORD, "cohort_not_open"),
        (S.RUNNING, Action.RECORD, None),
        (S.CLOSED, Action.RECORD, "cohort_closed"),
    ],
)
def test_transitions(status: CohortStatus, action: Action, code: str | None) -> None:
    refusal = rules.transition_refusal(status, action)
    assert (refusal.code if refusal else None) == code


def test_opening_needs_an_active_training_institution_approved_for_the_year() -> None:
    ok: dict[str, Any] = {
        "institution_status": "active",
        "institution_kinds": ["training"],
        "approved_years": [2025],
        "start_year": 2025,
    }
    assert rules.opening_refusal(**ok) is None
    cases: list[tuple[dict[str, Any], str]] = [
        ({"institution_status": "suspended"}, "institution_not_active"),
        ({"institution_status": "blacklisted"}, "institution_not_active"),
        ({"institution_kinds": ["assessment"]}, "institution_not_training"),
        ({"approved_years": [2024, 2026]}, "institution_not_approved"),
        ({"approved_years": []}, "institution_not_approved"),
    ]
    for change, code in cases:
        refusal = rules.opening_refusal(**{**ok, **change})
        assert refusal is not None and refusal.code == code


def test_capacity_and_closing() -> None:
    assert rules.capacity_refusal(10, 8, 2) is None
    refusal = rules.capacity_refusal(10, 8, 3)
    assert refusal is not None and refusal.code == "capacity_exceeded" and "2 more fit" in refusal.message
    assert rules.closing_refusal(enrolled=3, in_progress=0) is None
    refusal = rules.closing_refusal(enrolled=3, in_progress=2)
    assert refusal is not None and refusal.code == "outcomes_missing" and refusal.message.startswith("2 of 3")
    refusal = rules.closing_refusal(enrolled=0, in_progress=0)
    assert refusal is not None and refusal.code == "cohort_empty"


def test_attendance_and_outcome() -> None:
    assert rules.attendance_errors(Decimal("120.0"), 80) == []
    assert rules.attendance_errors(Decimal("0"), 80) == []
    assert {e.code for e in rules.attendance_errors(Decimal("120.1"), 80)} == {"out_of_range"}
    assert {e.code for e in rules.attendance_errors(Decimal("-1"), 80)} == {"out_of_range"}
    assert {e.code for e in rules.attendance_errors(Decimal("10.25"), 80)} == {"too_precise"}
    assert {e.code for e in rules.attendance_errors(Decimal("NaN"), 80)} == {"invalid"}
    assert rules.outcome_errors("completed") == []
    assert rules.outcome_errors("graduated")[0].code == "invalid_choice"
    assert rules.record_refusal(S.RUNNING, attended_hours=Decimal(10), outcome="completed") is None
    assert rules.record_refusal(S.OPEN, attended_hours=Decimal(0), outcome="withdrawn") is None
    for hours, outcome in ((Decimal(1), "in_progress"), (Decimal(0), "completed"), (Decimal(0), "failed")):
        refusal = rules.record_refusal(S.OPEN, attended_hours=hours, outcome=outcome)
        assert refusal is not None and refusal.code == "cohort_not_started"


# --- enrolment items -------------------------------------------------------------------------

NUMBER = make_number("410305", date(1995, 5, 17), 123)
OTHER = make_number("410381", date(1988, 1, 2), 246)


def parse(requests: list[EnrolmentRequest], as_list: bool = True) -> tuple[list[Any], set[tuple[str, str]]]:
    items, errs = rules.parse_enrolments(
        requests,
        divisions={"410305": "410305", "410323": "410323", "涧西区": "410305"},
        today=TODAY,
        as_list=as_list,
    )
    for e in errs:
        assert NUMBER not in e.message and OTHER not in e.message
    return items, {(e.field, e.code) for e in errs}


def test_valid_items_are_normalised() -> None:
    items, errs = parse(
        [
            EnrolmentRequest(
                NUMBER.lower(), " 张　三 ", "138-1234-5678", "410305", ["veteran", "graduate", "veteran"]
            ),
            EnrolmentRequest(OTHER, "李四"),
        ]
    )
    assert errs == set()
    assert items[0].id.number == NUMBER and items[0].name == "张三" and items[0].phone == "13812345678"
    assert items[0].groups == ("graduate", "veteran") and items[0].household_division == "410305"
    assert items[1].phone is None and items[1].groups == ()


def test_every_bad_item_is_reported_with_its_index() -> None:
    bad = NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")
    _, errs = parse(
        [
            EnrolmentRequest(NUMBER, "张三"),
            EnrolmentRequest(bad, "李四"),
            EnrolmentRequest(OTHER, "1234", phone="12345", household_division="110101", groups=["rich"]),
            EnrolmentRequest(NUMBER, "张三"),
            EnrolmentRequest("", ""),
            EnrolmentRequest(NUMBER[:15], "王五"),
        ]
    )
    assert errs == {
        ("items[1].id_number", "id_checksum"),
        ("items[2].name", "name_digits"),
        ("items[2].phone", "phone_format"),
        ("items[2].household_division", "unknown_division"),
        ("items[2].groups", "invalid_choice"),
        ("items[3].id_number", "duplicate_in_request"),
        ("items[4].id_number", "id_required"),
        ("items[4].name", "name_required"),
        ("items[5].id_number", "id_first_generation"),
    }


def test_a_single_item_names_plain_fields() -> None:
    _, errs = parse([EnrolmentRequest("1234", "张三")], as_list=False)
    assert errs == {("id_number", "id_length")}
