from __future__ import annotations

from datetime import date

import pytest

from registry.certificates import rules
from registry.certificates.rules import CertificateFacts, CohortFacts, IssuerFacts
from registry.core.errors import Conflict, FieldError
from registry.enums import CertificateStatus

TODAY = date(2025, 6, 30)
ISSUER = IssuerFacts(kinds=("assessment",), status="active")


def facts(**overrides: object) -> CertificateFacts:
    values: dict[str, object] = {
        "number": "LY-2025-000001",
        "kind": "skill_level",
        "level": 4,
        "occupation_code": "6-31-01-03",
        "is_renewal": False,
        "issue_date": date(2025, 6, 1),
        "occupation_level": 4,
        "issuer": ISSUER,
    }
    values.update(overrides)
    return CertificateFacts(**values)  # type: ignore[arg-type]


def cohort(**overrides: object) -> CohortFacts:
    values: dict[str, object] = {
        "kind": "vocational",
        "occupation_code": "6-31-01-03",
        "status": "closed",
        "start_date": date(2025, 3, 1),
        "enrolment_outcome": "completed",
    }
    values.update(overrides)
    return CohortFacts(**values)  # type: ignore[arg-type]


def codes(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in errors}


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["A", "LY-2025-000001", "2025410300001", "a-b-c", "X" * 64, "-"])
def test_good_numbers(number: str) -> None:
    assert rules.number_error(number) is None
    assert rules.is_well_formed_number(number)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "required"),
        ("X" * 65, "too_long"),
        ("LY 2025", "number_format"),
        ("LY_2025", "number_format"),
        ("证书001", "number_format"),
        ("ＬＹ001", "number_format"),
        ("LY/001", "number_format"),
        ("LY.001", "number_format"),
        ("../etc", "number_format"),
        ("<script>", "number_format"),
        ("LY001\n", "number_format"),
    ],
)
def test_bad_numbers(number: str, code: str) -> None:
    err = rules.number_error(number)
    assert err is not None and err.field == "number" and err.code == code
    assert not rules.is_well_formed_number(number)


def test_numbers_are_trimmed_not_recased() -> None:
    assert rules.normalise_number("  ly-001 ") == "ly-001"


def test_duplicate_numbers_point_at_the_first() -> None:
    assert rules.duplicate_numbers(["A", "B", "A", "C", "B", "A"]) == {2: 0, 4: 1, 5: 0}
    assert rules.duplicate_numbers([]) == {}


# --- kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "occupation", "renewal"),
    [
        ("skill_level", 5, "6-31-01-03", False),
        ("skill_level", 1, "6-31-01-03", False),
        ("special_ability", None, "4-03-02-01", False),
        ("special_operation", None, "6-31-01-03", False),
        ("special_operation", None, "6-31-01-03", True),
        ("completion", None, "4-03-02-01", False),
        ("completion", None, None, False),
        ("startup", None, None, False),
    ],
)
def test_kind_shapes_accepted(kind: str, level: int | None, occupation: str | None, renewal: bool) -> None:
    assert rules.kind_errors(kind, level, occupation, renewal) == []


@pytest.mark.parametrize(
    ("kind", "level", "occupation", "renewal", "expected"),
    [
        ("bakery", None, None, False, {("kind", "invalid_choice")}),
        ("", None, None, False, {("kind", "invalid_choice")}),
        ("SKILL_LEVEL", 3, "6-31-01-03", False, {("kind", "invalid_choice")}),
        ("skill_level", None, "6-31-01-03", False, {("level", "required")}),
        ("skill_level", 0, "6-31-01-03", False, {("level", "out_of_range")}),
        ("skill_level", 6, "6-31-01-03", False, {("level", "out_of_range")}),
        ("skill_level", -1, "6-31-01-03", False, {("level", "out_of_range")}),
        ("skill_level", 3, None, False, {("occupation_code", "required")}),
        ("skill_level", 3, "6-31-01-03", True, {("is_renewal", "not_allowed")}),
        ("special_ability", 3, "4-03-02-01", False, {("level", "not_allowed")}),
        ("special_ability", None, None, False, {("occupation_code", "required")}),
        ("special_ability", None, "4-03-02-01", True, {("is_renewal", "not_allowed")}),
        ("special_operation", 2, "6-31-01-03", False, {("level", "not_allowed")}),
        ("special_operation", None, None, True, {("occupation_code", "required")}),
        ("completion", 5, None, False, {("level", "not_allowed")}),
        ("completion", None, None, True, {("is_renewal", "not_allowed")}),
        ("startup", 5, None, False, {("level", "not_allowed")}),
        ("startup", None, "6-31-01-03", False, {("occupation_code", "not_allowed")}),
        ("startup", None, None, True, {("is_renewal", "not_allowed")}),
        (
            "startup",
            1,
            "6-31-01-03",
            True,
            {("level", "not_allowed"), ("occupation_code", "not_allowed"), ("is_renewal", "not_allowed")},
        ),
    ],
)
def test_kind_shapes_refused(
    kind: str, level: int | None, occupation: str | None, renewal: bool, expected: set[tuple[str, str]]
) -> None:
    assert codes(rules.kind_errors(kind, level, occupation, renewal)) == expected


# --- occupations, dates, issuers ---------------------------------------------------------


def test_occupation_codes() -> None:
    assert rules.occupation_error(None, None) is None
    assert rules.occupation_error("6-31-01-03", 4) is None
    for bad in ("63101 03", "6-31-01", "6-31-01-003", "X-31-01-03", "６-31-01-03", "6310103"):
        err = rules.occupation_error(bad, None)
        assert err is not None and (err.field, err.code) == ("occupation_code", "occupation_format"), bad
    unknown = rules.occupation_error("9-99-99-99", None)
    assert unknown is not None and unknown.code == "unknown_occupation"
    for level in (1, 2, 3):
        group = rules.occupation_error("6-29-02-00", level)
        assert group is not None and group.code == "not_an_occupation"


def test_issue_dates() -> None:
    assert rules.issue_date_error(TODAY, TODAY) is None
    assert rules.issue_date_error(date(2000, 1, 1), TODAY) is None
    future = rules.issue_date_error(date(2025, 7, 1), TODAY)
    assert future is not None and (future.field, future.code) == ("issue_date", "in_future")
    early = rules.issue_date_error(date(1999, 12, 31), TODAY)
    assert early is not None and early.code == "too_early"


def test_issuers() -> None:
    assert rules.issuer_error(ISSUER) is None
    assert rules.issuer_error(IssuerFacts(("training", "assessment"), "active")) is None
    cases = [
        (None, "unknown_issuer"),
        (IssuerFacts(("training",), "active"), "not_an_assessment_body"),
        (IssuerFacts((), "active"), "not_an_assessment_body"),
        (IssuerFacts(("assessment",), "suspended"), "issuer_not_active"),
        (IssuerFacts(("assessment",), "blacklisted"), "issuer_not_active"),
    ]
    for issuer, code in cases:
        err = rules.issuer_error(issuer, field="issuer_id")
        assert err is not None and err.code == code and err.field == "issuer_id"


# --- cohorts -----------------------------------------------------------------------------


def test_cohort_link_accepted() -> None:
    d = date(2025, 6, 1)
    assert rules.cohort_errors(cohort(), "skill_level", "6-31-01-03", d) == []
    # assessed before the institution recorded the outcome: a skill certificate is fine
    assert rules.cohort_errors(cohort(enrolment_outcome="in_progress"), "skill_level", "6-31-01-03", d) == []
    assert rules.cohort_errors(cohort(), "completion", "6-31-01-03", d) == []
    assert rules.cohort_errors(cohort(occupation_code=None), "special_ability", "4-03-02-01", d) == []
    startup = cohort(kind="startup", occupation_code=None)
    assert rules.cohort_errors(startup, "startup", None, d) == []
    assert rules.cohort_errors(cohort(), "skill_level", "6-31-01-03", date(2025, 3, 1)) == []


@pytest.mark.parametrize(
    ("the_cohort", "kind", "occupation", "issued", "expected"),
    [
        # no such cohort, or not enrolled in it: one and the same miss, nothing else said
        (None, "skill_level", "6-31-01-03", date(2025, 6, 1), {("holder", "holder_not_found")}),
        (
            cohort(enrolment_outcome=None, status="cancelled", kind="startup"),
            "skill_level",
            "6-18-02-04",
            date(2025, 1, 1),
            {("holder", "holder_not_found")},
        ),
        (
            cohort(enrolment_outcome="withdrawn"),
            "skill_level",
            "6-31-01-03",
            date(2025, 6, 1),
            {("cohort_id", "withdrawn")},
        ),
        (
            cohort(status="cancelled"),
            "skill_level",
            "6-31-01-03",
            date(2025, 6, 1),
            {("cohort_id", "cohort_cancelled")},
        ),
        (cohort(), "skill_level", "6-18-02-04", date(2025, 6, 1), {("occupation_code", "cohort_occupation")}),
        (cohort(), "completion", "6-18-02-04", date(2025, 6, 1), {("occupation_code", "cohort_occupation")}),
        (cohort(), "startup", None, date(2025, 6, 1), {("kind", "cohort_kind")}),
        (
            cohort(kind="startup", occupation_code=None),
            "skill_level",
            "6-31-01-03",
            date(2025, 6, 1),
            {("kind", "cohort_kind")},
        ),
        (cohort(), "skill_level", "6-31-01-03", date(2025, 2, 28), {("issue_date", "before_cohort")}),
    ],
)
def test_cohort_link_refused(
    the_cohort: CohortFacts | None,
    kind: str,
    occupation: str | None,
    issued: date,
    expected: set[tuple[str, str]],
) -> None:
    assert codes(rules.cohort_errors(the_cohort, kind, occupation, issued)) == expected


@pytest.mark.parametrize(
    ("kind", "outcome", "expected"),
    [
        ("skill_level", "failed", ("cohort_id", "failed")),
        ("special_ability", "failed", ("cohort_id", "failed")),
        ("completion", "failed", ("cohort_id", "failed")),
        ("startup", "failed", ("cohort_id", "failed")),
        ("skill_level", "withdrawn", ("cohort_id", "withdrawn")),
        ("completion", "withdrawn", ("cohort_id", "withdrawn")),
        ("completion", "in_progress", ("cohort_id", "not_completed")),
    ],
)
def test_only_people_who_did_not_fail_or_withdraw_are_certified(
    kind: str, outcome: str, expected: tuple[str, str]
) -> None:
    """Defect 7: a cohort-linked certificate for a failed or withdrawn enrolment, or a
    completion certificate for one not completed, is refused by the pure rule."""
    err = rules.enrolment_error(kind, outcome)
    assert err is not None and (err.field, err.code) == expected
    startup = kind == "startup"
    the_cohort = cohort(
        enrolment_outcome=outcome, kind="startup" if startup else "vocational", occupation_code=None
    )
    occupation = None if startup else "6-31-01-03"
    assert expected in codes(rules.cohort_errors(the_cohort, kind, occupation, date(2025, 6, 1)))
    level = 4 if kind == "skill_level" else None
    whole = facts(
        kind=kind,
        level=level,
        occupation_code=occupation,
        occupation_level=None if startup else 4,
        cohort_given=True,
        cohort=the_cohort,
    )
    assert codes(rules.certificate_errors(whole, TODAY)) == {expected}


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("skill_level", "completed"),
        ("skill_level", "in_progress"),
        ("special_operation", "in_progress"),
        ("completion", "completed"),
        ("startup", "completed"),
    ],
)
def test_completed_or_still_training_is_certified(kind: str, outcome: str) -> None:
    assert rules.enrolment_error(kind, outcome) is None


# --- the whole certificate ---------------------------------------------------------------


def test_a_good_certificate_has_no_errors() -> None:
    assert rules.certificate_errors(facts(), TODAY) == []
    assert rules.certificate_errors(facts(cohort_given=True, cohort=cohort()), TODAY) == []
    startup = facts(kind="startup", level=None, occupation_code=None, occupation_level=None)
    assert rules.certificate_errors(startup, TODAY) == []
    assert rules.certificate_errors(facts(kind="completion", level=None, occupation_code=None), TODAY) == []


def test_a_taken_number_is_not_a_validation_error() -> None:
    assert rules.certificate_errors(facts(number_taken=True), TODAY) == []
    assert (rules.duplicate_error().field, rules.duplicate_error().code) == ("number", "duplicate")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"number": "bad number"}, {("number", "number_format")}),
        ({"kind": "diploma"}, {("kind", "invalid_choice")}),
        ({"level": 9}, {("level", "out_of_range")}),
        ({"occupation_level": None}, {("occupation_code", "unknown_occupation")}),
        (
            {"occupation_code": "6-29-02-00", "occupation_level": 3},
            {("occupation_code", "not_an_occupation")},
        ),
        ({"issue_date": date(2026, 1, 1)}, {("issue_date", "in_future")}),
        ({"issuer": None}, {("issuer", "unknown_issuer")}),
        ({"cohort_given": True, "cohort": None}, {("holder", "holder_not_found")}),
        # a holder the body may not certify: the miss, and nothing about the cohort
        (
            {"holder_found": False, "cohort_given": True, "cohort": cohort(enrolment_outcome="failed")},
            {("holder", "holder_not_found")},
        ),
        # A startup certificate's occupation is refused once (not also looked up).
        ({"kind": "startup", "level": None, "occupation_level": None}, {("occupation_code", "not_allowed")}),
        (
            {"number": "", "level": None, "occupation_code": None, "issue_date": date(1999, 1, 1)},
            {
                ("number", "required"),
                ("level", "required"),
                ("occupation_code", "required"),
                ("issue_date", "too_early"),
            },
        ),
    ],
)
def test_every_broken_rule_is_reported(overrides: dict[str, object], expected: set[tuple[str, str]]) -> None:
    assert codes(rules.certificate_errors(facts(**overrides), TODAY)) == expected


# --- workflow ----------------------------------------------------------------------------


def test_transitions() -> None:
    assert rules.next_status("valid", rules.SUSPEND) is CertificateStatus.SUSPENDED
    assert rules.next_status("valid", rules.REVOKE) is CertificateStatus.REVOKED
    assert rules.next_status("suspended", rules.REVOKE) is CertificateStatus.REVOKED
    assert rules.next_status("suspended", rules.REINSTATE) is CertificateStatus.VALID


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("suspended", rules.SUSPEND),
        ("revoked", rules.SUSPEND),
        ("revoked", rules.REVOKE),
        ("valid", rules.REINSTATE),
        ("revoked", rules.REINSTATE),
    ],
)
def test_refused_transitions_are_conflicts(status: str, action: str) -> None:
    with pytest.raises(Conflict) as caught:
        rules.next_status(status, action)
    assert caught.value.code == f"certificate_{status}"
    assert caught.value.errors[0].field == "status"


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        rules.next_status("valid", "delete")


def test_reasons() -> None:
    assert rules.reason_error("证书信息有误") is None
    assert rules.reason_error("x" * 500) is None
    assert rules.normalise_reason("  原因  ") == "原因"
    empty = rules.reason_error(rules.normalise_reason("   "))
    assert empty is not None and (empty.field, empty.code) == ("reason", "required")
    long = rules.reason_error("x" * 501)
    assert long is not None and long.code == "too_long"


# --- labels ------------------------------------------------------------------------------


def test_level_labels() -> None:
    assert rules.level_label(5) == "五级/初级工"
    assert rules.level_label(4) == "四级/中级工"
    assert rules.level_label(3) == "三级/高级工"
    assert rules.level_label(2) == "二级/技师"
    assert rules.level_label(1) == "一级/高级技师"
    assert rules.level_label(None) == "" and rules.level_label(7) == ""
    assert rules.level_label_en(5).startswith("Level 5") and rules.level_label_en(None) == ""


def test_every_kind_and_status_has_a_label() -> None:
    from registry.enums import CertificateKind

    assert set(rules.KIND_NAMES) == {k.value for k in CertificateKind}
    assert set(rules.STATUS_NAMES) == {s.value for s in CertificateStatus}
