"""Policy documents, pure: the shipped henan-2022 as DESIGN.md section 5 states it, and every
refusal naming its key path and line. No database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from registry.core.errors import ValidationFailed
from registry.subsidy.policy import CALCULATOR_RULES, KNOWN_RULES, content_sha256, overlaps, parse_policy
from registry.subsidy.service import shipped_policy_files

HENAN = next(p for p in shipped_policy_files() if p.name == "henan-2022.yaml")
TEXT = HENAN.read_text(encoding="utf-8")


def refused(text: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(text, "test.yaml")
    assert caught.value.code == "invalid_policy"
    return caught.value


def test_henan_2022_is_the_design() -> None:
    p = parse_policy(TEXT)
    assert (p.code, p.effective_from, p.effective_to) == ("henan-2022", dt.date(2022, 3, 31), None)
    assert {e.level: e.amount_fen for e in p.training.skill_level} == {
        5: 120000,
        4: 160000,
        3: 200000,
        2: 400000,
        1: 500000,
    }
    assert (p.training.special_ability.amount_fen, p.training.special_ability.min_hours) == (80000, 40)
    assert (p.training.special_operation.first_fen, p.training.special_operation.renewal_fen) == (
        80000,
        30000,
    )
    c = p.training.completion
    assert (c.per_hour_fen, c.cap_fen, c.min_hours) == (1000, 70000, 40)
    assert {str(e.course): (e.amount_fen, e.assumed) for e in p.training.startup} == {
        "GYB": (30000, True),
        "SYB": (120000, True),
        "IYB": (130000, True),
        "EYB": (150000, True),
    }
    assert {e.level: e.amount_fen for e in p.assessment.skill_level} == {
        5: 20000,
        4: 24000,
        3: 28000,
        2: 35000,
        1: 38000,
    }
    assert p.assessment.special_ability.amount_fen == 10000
    assert p.assessment.direct_recognition.percent == 50
    [uplift] = p.uplifts
    assert (uplift.code, uplift.percent, uplift.assumed, [str(k) for k in uplift.applies_to]) == (
        "PRIORITY_TRADE",
        30,
        True,
        ["vocational"],
    )
    assert (p.limits.age.min_age, p.limits.age.max_age, p.limits.attendance.percent) == (16, 59, 80)
    assert p.limits.attendance.assumed
    assert (p.limits.annual_cap.count, p.limits.certificate_window.months, p.limits.claim_window.months) == (
        3,
        12,
        12,
    )
    severities = {r.code: r.severity for r in p.rules}
    assert set(severities) == set(KNOWN_RULES)
    review = {"AGE_RANGE", "OVERLAP", "SHARED_PHONE"}
    assert {code for code, s in severities.items() if s == "review"} == review
    assert all(r.applies_in == ("calculator" if r.code in CALCULATOR_RULES else "claims") for r in p.rules)
    assert p.rule("ID_INVALID").source == "GB 11643-1999"
    assert p.rule("ANNUAL_CAP").source and "国办发〔2019〕24号" in p.rule("ANNUAL_CAP").source


def test_hash_ignores_layout_not_values() -> None:
    same = "# another comment\n" + TEXT.replace("title: 河南", "title:   河南")
    assert content_sha256(parse_policy(same)) == content_sha256(parse_policy(TEXT))
    changed = TEXT.replace("amount_fen: 120000", "amount_fen: 120100", 1)
    assert content_sha256(parse_policy(changed)) != content_sha256(parse_policy(TEXT))


def line_number(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_unknown_key_named_with_its_line() -> None:
    text = TEXT.replace("    cap_fen: 70000\n", "    cap_fen: 70000\n    capp_fen: 1\n")
    error = refused(text).errors[0]
    assert (error.field, error.code) == ("$.training.completion.capp_fen", "unknown_key")
    assert error.row == line_number(text, "capp_fen")


def test_unknown_top_level_key() -> None:
    error = refused(TEXT + "bonus: 1\n").errors[0]
    assert error.field == "$.bonus" and error.code == "unknown_key"


@pytest.mark.parametrize("amount", ["-1", "1200.5", "1200.0", "'120000'", "true"])
def test_negative_or_non_integer_amounts(amount: str) -> None:
    text = TEXT.replace("{level: 5, amount_fen: 120000,", f"{{level: 5, amount_fen: {amount},", 1)
    error = refused(text).errors[0]
    assert error.field == "$.training.skill_level[0].amount_fen"
    assert error.row == line_number(text, f"amount_fen: {amount},")


def test_missing_source() -> None:
    text = TEXT.replace(
        "    per_hour_fen: 1000\n    cap_fen: 70000\n    min_hours: 40\n    source: 豫人社规〔2022〕2号\n",
        "    per_hour_fen: 1000\n    cap_fen: 70000\n    min_hours: 40\n",
    )
    assert text != TEXT
    errors = refused(text).errors
    assert [(e.field, e.code) for e in errors] == [("$.training.completion", "missing_source")]
    assert errors[0].row == line_number(text, "  completion:")


def test_missing_rule_and_unknown_rule() -> None:
    text = TEXT.replace("  - code: STARTUP_REPEAT", "  - code: STARTUP_AGAIN")
    fields = {(e.field, e.code) for e in refused(text).errors}
    assert ("$.rules", "missing") in fields
    assert any(code == "unknown_rule" for _, code in fields)


def test_bad_severity_and_missing_level() -> None:
    assert (
        refused(TEXT.replace("severity: review", "severity: maybe", 1)).errors[0].field.endswith(".severity")
    )
    text = TEXT.replace("    - {level: 1, amount_fen: 38000, source: 豫人社规〔2022〕2号}\n", "")
    assert ("$.assessment.skill_level", "missing") in {(e.field, e.code) for e in refused(text).errors}


def test_dates() -> None:
    text = TEXT.replace("effective_to: null", "effective_to: 2021-01-01")
    assert refused(text).errors[0].field == "$.effective_to"
    assert refused(TEXT.replace("effective_from: 2022-03-31", "effective_from: 2022-02-30")).errors


def test_not_yaml_or_not_a_mapping(tmp_path: Path) -> None:
    assert refused("code: [unclosed\n").errors[0].code == "invalid_yaml"
    assert refused("- a list\n").errors[0].field == "$"


def test_overlaps() -> None:
    d = dt.date
    assert overlaps(d(2022, 1, 1), None, d(2030, 1, 1), None)
    assert overlaps(d(2022, 1, 1), d(2022, 12, 31), d(2022, 12, 31), None)
    assert not overlaps(d(2022, 1, 1), d(2022, 12, 30), d(2022, 12, 31), None)
    assert not overlaps(d(2030, 1, 1), None, d(2022, 1, 1), d(2029, 12, 31))
