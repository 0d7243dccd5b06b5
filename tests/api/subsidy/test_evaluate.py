"""``POST /api/v1/subsidy/evaluate``: the calculator's fixed contract, field by field, every
rule through HTTP, and the 422s. The shipped henan-2022 policy and reference priority list
are loaded (``subsidy_policies``); nothing else of the database is read."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.core.clock import business_today
from tests.api.support import (
    EVALUATE,
    PLAIN_OCCUPATION,
    PRIORITY_OCCUPATION,
    Make,
    evaluate_body,
    flag_codes,
    line_of,
    problem,
    startup_body,
)

pytestmark = pytest.mark.usefixtures("subsidy_policies")

CALCULATOR_DOC = Path(__file__).resolve().parents[3] / "docs" / "calculator.md"


@pytest.fixture
async def call(client: httpx.AsyncClient, sign_in: Make) -> Any:
    actor = await sign_in("institution")

    async def post(body: dict[str, Any]) -> httpx.Response:
        return await client.post(EVALUATE, json=body, headers=actor.headers)

    return post


async def test_needs_sign_in(client: httpx.AsyncClient) -> None:
    problem(await client.post(EVALUATE, json=evaluate_body()), 401)


@pytest.mark.parametrize("role", ["admin", "auditor", "institution", "assessor"])
async def test_any_signed_in_user(client: httpx.AsyncClient, sign_in: Make, role: str) -> None:
    actor = await sign_in(role)
    response = await client.post(EVALUATE, json=evaluate_body(), headers=actor.headers)
    assert response.status_code == 200, response.text


async def test_response_shape(call: Any) -> None:
    response = await call(evaluate_body())
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"policy_code", "priority_trade", "lines"}
    assert data["policy_code"] == "henan-2022" and data["priority_trade"] is False
    assert [line["kind"] for line in data["lines"]] == ["training", "assessment"]
    for line in data["lines"]:
        assert set(line) == {"kind", "base_fen", "uplift_fen", "total_fen", "outcome", "flags", "trace"}
        assert line["outcome"] == "clean" and line["flags"] == []
        for step in line["trace"]:
            assert set(step) == {"rule", "inputs", "result"}
    training, assessment = data["lines"]
    assert (training["base_fen"], training["uplift_fen"], training["total_fen"]) == (160000, 0, 160000)
    assert (assessment["base_fen"], assessment["uplift_fen"], assessment["total_fen"]) == (24000, 0, 24000)


@pytest.mark.parametrize(
    ("level", "training_fen", "assessment_fen"),
    [(5, 120000, 20000), (4, 160000, 24000), (3, 200000, 28000), (2, 400000, 35000), (1, 500000, 38000)],
)
async def test_skill_levels(call: Any, level: int, training_fen: int, assessment_fen: int) -> None:
    response = await call(evaluate_body(cohort={"certificate_level": level}, certificate={"level": level}))
    assert line_of(response)["total_fen"] == training_fen
    assert line_of(response, "assessment")["total_fen"] == assessment_fen


async def test_direct_recognition_halves_the_assessment_line(call: Any) -> None:
    response = await call(evaluate_body(certificate={"direct_recognition": True}))
    assert line_of(response, "assessment")["total_fen"] == 12000
    assert line_of(response)["total_fen"] == 160000


async def test_priority_trade_uplift(call: Any) -> None:
    body = evaluate_body(
        cohort={"occupation_code": PRIORITY_OCCUPATION}, certificate={"occupation_code": PRIORITY_OCCUPATION}
    )
    response = await call(body)
    assert response.json()["priority_trade"] is True
    training = line_of(response)
    assert (training["base_fen"], training["uplift_fen"], training["total_fen"]) == (160000, 48000, 208000)
    assert line_of(response, "assessment")["uplift_fen"] == 0
    # The list in force on the cohort's START date decides: the reference list starts 2025-01-01.
    before = evaluate_body(
        cohort={"occupation_code": PRIORITY_OCCUPATION, "start_date": "2024-12-20", "end_date": "2025-01-20"},
        certificate={"occupation_code": PRIORITY_OCCUPATION, "issue_date": "2025-02-01"},
        claim_date="2025-03-01",
    )
    response = await call(before)
    assert response.json()["priority_trade"] is False
    assert line_of(response)["uplift_fen"] == 0


async def test_special_ability_special_operation(call: Any) -> None:
    ability = await call(
        evaluate_body(
            cohort={"certificate_kind": "special_ability", "certificate_level": None, "planned_hours": 40},
            certificate={"kind": "special_ability", "level": None},
            attended_hours=40,
        )
    )
    assert line_of(ability)["total_fen"] == 80000 and line_of(ability, "assessment")["total_fen"] == 10000
    for renewal, fen in ((False, 80000), (True, 30000)):
        response = await call(
            evaluate_body(
                cohort={"certificate_kind": "special_operation", "certificate_level": None},
                certificate={"kind": "special_operation", "level": None, "is_renewal": renewal},
            )
        )
        assert line_of(response)["total_fen"] == fen
        assert [line["kind"] for line in response.json()["lines"]] == ["training"]


@pytest.mark.parametrize(("attended", "fen"), [(45.5, 45500), ("50", 50000), (79, 70000), (100, 70000)])
async def test_completion(call: Any, attended: Any, fen: int) -> None:
    response = await call(
        evaluate_body(
            cohort={"certificate_kind": "completion", "certificate_level": None},
            certificate={"kind": "completion", "level": None},
            attended_hours=attended,
        )
    )
    line = line_of(response)
    assert line["total_fen"] == fen
    assert ("ATTENDANCE" in flag_codes(line)) is (float(attended) < 64)


async def test_rounding_half_up_through_http(call: Any) -> None:
    response = await call(
        evaluate_body(
            cohort={
                "certificate_kind": "completion",
                "certificate_level": None,
                "planned_hours": 50,
                "occupation_code": PRIORITY_OCCUPATION,
            },
            certificate={"kind": "completion", "level": None, "occupation_code": PRIORITY_OCCUPATION},
            attended_hours=45.5,
        )
    )
    line = line_of(response)
    assert (line["base_fen"], line["uplift_fen"], line["total_fen"]) == (45500, 13700, 59200)


@pytest.mark.parametrize(
    ("course", "fen"), [("GYB", 30000), ("SYB", 120000), ("IYB", 130000), ("EYB", 150000)]
)
async def test_startup(call: Any, course: str, fen: int) -> None:
    response = await call(startup_body(course))
    assert response.json()["priority_trade"] is False
    assert [(line["kind"], line["total_fen"], line["uplift_fen"]) for line in response.json()["lines"]] == [
        ("training", fen, 0)
    ]


RULE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("AGE_RANGE", evaluate_body(birth_date="1965-03-03"), "review", "review"),
    ("AGE_RANGE", evaluate_body(birth_date="2009-03-04"), "review", "review"),
    ("ATTENDANCE", evaluate_body(attended_hours=63.9), "block", "blocked"),
    ("NO_CERTIFICATE", evaluate_body(certificate=None), "block", "blocked"),
    ("NO_CERTIFICATE", evaluate_body(certificate={"level": 5}), "block", "blocked"),
    ("CERT_WINDOW", evaluate_body(certificate={"issue_date": "2025-03-02"}), "block", "blocked"),
    (
        "CERT_WINDOW",
        evaluate_body(certificate={"issue_date": "2026-05-01"}, claim_date="2026-05-02"),
        "block",
        "blocked",
    ),
    ("CERT_NOT_VALID", evaluate_body(certificate={"status": "revoked"}), "block", "blocked"),
    ("CERT_NOT_VALID", evaluate_body(certificate={"status": "suspended"}), "block", "blocked"),
    (
        "SAME_LEVEL_REPEAT",
        evaluate_body(
            history=[
                {
                    "kind": "vocational",
                    "occupation_code": "6-02-06-04",
                    "level": 4,
                    "startup_course": None,
                    "year": 2023,
                }
            ]
        ),
        "block",
        "blocked",
    ),
    (
        "LOWER_LEVEL",
        evaluate_body(
            history=[{"kind": "vocational", "occupation_code": "6-02-06-04", "level": 1, "year": 2023}]
        ),
        "block",
        "blocked",
    ),
    (
        "ANNUAL_CAP",
        evaluate_body(
            history=[
                {"kind": "vocational", "occupation_code": "6-31-01-03", "level": 5, "year": 2025},
                {"kind": "vocational", "occupation_code": "4-02-04-06", "level": 5, "year": 2025},
                {"kind": "startup", "startup_course": "GYB", "year": 2025},
            ]
        ),
        "block",
        "blocked",
    ),
    (
        "STARTUP_REPEAT",
        startup_body("SYB", history=[{"kind": "startup", "startup_course": "SYB", "year": 2022}]),
        "block",
        "blocked",
    ),
    ("INSTITUTION_NOT_APPROVED", evaluate_body(institution_approved=False), "block", "blocked"),
    ("CLAIM_WINDOW", evaluate_body(claim_date="2026-05-21"), "block", "blocked"),
    (
        "HOURS_MINIMUM",
        evaluate_body(
            cohort={"certificate_kind": "special_ability", "certificate_level": None, "planned_hours": 39},
            certificate={"kind": "special_ability", "level": None},
            attended_hours=39,
        ),
        "block",
        "blocked",
    ),
    (
        "HOURS_MINIMUM",
        evaluate_body(
            cohort={"certificate_kind": "completion", "certificate_level": None, "planned_hours": 30},
            certificate={"kind": "completion", "level": None},
            attended_hours=30,
        ),
        "block",
        "blocked",
    ),
    ("NOT_COMPLETED", evaluate_body(outcome="withdrawn"), "block", "blocked"),
    ("NOT_COMPLETED", evaluate_body(outcome="failed"), "block", "blocked"),
]


@pytest.mark.parametrize(("code", "body", "severity", "outcome"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
async def test_every_rule(call: Any, code: str, body: dict[str, Any], severity: str, outcome: str) -> None:
    line = line_of(await call(body))
    assert flag_codes(line) == {code}, line["flags"]
    assert line["flags"][0]["severity"] == severity and line["flags"][0]["message"]
    assert line["outcome"] == outcome
    assert line["total_fen"] > 0  # computed either way
    assert next(step for step in line["trace"] if step["rule"] == code)["result"] == "flag"


async def test_age_boundary_60_on_the_start_date(call: Any) -> None:
    assert flag_codes(line_of(await call(evaluate_body(birth_date="1965-03-03")))) == {"AGE_RANGE"}
    assert flag_codes(line_of(await call(evaluate_body(birth_date="1965-03-04")))) == set()


async def test_claim_date_defaults_to_today(call: Any) -> None:
    body = evaluate_body(claim_date=...)
    line = line_of(await call(body))
    claim = next(step for step in line["trace"] if step["rule"] == "CLAIM_WINDOW")
    assert claim["inputs"]["claim_date"] == business_today().isoformat()


async def test_defaults_for_optional_fields(call: Any) -> None:
    body = evaluate_body(history=..., institution_approved=..., claim_date="2025-06-10", certificate=None)
    for key in ("occupation_code",):
        assert key in body["cohort"]
    response = await call(body)
    assert flag_codes(line_of(response)) == {"NO_CERTIFICATE"}


async def test_policy_code(call: Any) -> None:
    assert (await call(evaluate_body(policy_code="henan-2022"))).json()["policy_code"] == "henan-2022"
    data = problem(await call(evaluate_body(policy_code="nope-1999")), 422, "unknown_policy")
    assert data["errors"][0]["field"] == "policy_code"


async def test_no_policy_in_force(call: Any) -> None:
    body = evaluate_body(
        cohort={"start_date": "2021-01-04", "end_date": "2021-03-31"},
        certificate={"issue_date": "2021-04-10"},
        claim_date="2021-05-01",
    )
    data = problem(await call(body), 422, "no_policy_in_force")
    assert "2021-03-31" in data["detail"]
    assert data["errors"][0]["field"] == "cohort.end_date"
    named = problem(await call({**body, "policy_code": "henan-2022"}), 422, "policy_not_in_force")
    assert "2021-03-31" in named["detail"]


BAD_FACTS: list[tuple[dict[str, Any], str]] = [
    (startup_body(cohort={"certificate_level": 5}), "cohort.certificate_level"),
    (evaluate_body(cohort={"occupation_code": None}), "cohort.occupation_code"),
    (evaluate_body(cohort={"end_date": "2025-03-01"}), "cohort.end_date"),
    (evaluate_body(cohort={"planned_hours": -5}), "cohort.planned_hours"),
    (evaluate_body(cohort={"planned_hours": 0}), "cohort.planned_hours"),
    (evaluate_body(attended_hours=-1), "attended_hours"),
    (evaluate_body(attended_hours=12.25), "attended_hours"),
    (evaluate_body(attended_hours="many"), "attended_hours"),
    (evaluate_body(cohort={"kind": "evening"}), "cohort.kind"),
    (evaluate_body(cohort={"certificate_level": 6}), "cohort.certificate_level"),
    (evaluate_body(cohort={"certificate_level": None}), "cohort.certificate_level"),
    (evaluate_body(cohort={"occupation_code": "6-18-2-04"}), "cohort.occupation_code"),
    (evaluate_body(cohort={"startup_course": "SYB"}), "cohort.startup_course"),
    (evaluate_body(cohort={"start_date": "2025-13-01"}), "cohort.start_date"),
    (evaluate_body(outcome="in_progress"), "outcome"),
    (evaluate_body(birth_date="2026-01-01"), "birth_date"),
    (evaluate_body(certificate={"status": "lost"}), "certificate.status"),
    (evaluate_body(certificate={"level": None}), "certificate.level"),
    (
        evaluate_body(
            certificate={"kind": "startup", "startup_course": "SYB", "occupation_code": None, "level": None}
        ),
        "certificate.kind",
    ),
    (evaluate_body(certificate={"is_renewal": True}), "certificate.is_renewal"),
    (evaluate_body(history=[{"kind": "vocational", "year": 2023}]), "history[0].occupation_code"),
    (evaluate_body(history=[{"kind": "startup", "year": 2023}]), "history[0].startup_course"),
    (
        evaluate_body(history=[{"kind": "vocational", "occupation_code": "6-02-06-04", "year": 1800}]),
        "history[0].year",
    ),
    (evaluate_body(cohort=...), "cohort"),
    (evaluate_body(birth_date=...), "birth_date"),
    (evaluate_body(surprise=True), "surprise"),
]


@pytest.mark.parametrize(("body", "field"), BAD_FACTS, ids=[case[1] for case in BAD_FACTS])
async def test_malformed_or_contradictory_facts_422(call: Any, body: dict[str, Any], field: str) -> None:
    data = problem(await call(body), 422)
    fields = [error["field"] for error in data["errors"]]
    assert any(f == field or f.startswith(field) or field in f for f in fields), data


# Dates past the years Python can add months to were a 500 ("year 10000 is out of range"):
# every date of the API is 1900-01-01..2100-12-31, refused at the boundary naming the field.
DATES_OUT_OF_RANGE: list[tuple[dict[str, Any], str]] = [
    (evaluate_body(cohort={"end_date": "9999-12-31"}), "cohort.end_date"),
    (evaluate_body(cohort={"start_date": "0001-01-01"}), "cohort.start_date"),
    (evaluate_body(certificate={"issue_date": "9999-12-31"}), "certificate.issue_date"),
    (evaluate_body(birth_date="1899-12-31"), "birth_date"),
    (evaluate_body(claim_date="2101-01-01"), "claim_date"),
]


@pytest.mark.parametrize(("body", "field"), DATES_OUT_OF_RANGE, ids=[c[1] for c in DATES_OUT_OF_RANGE])
async def test_a_date_out_of_range_is_a_422_naming_it(call: Any, body: dict[str, Any], field: str) -> None:
    data = problem(await call(body), 422, "validation_failed")
    assert data["errors"] == [
        {
            "field": field,
            "code": "out_of_range",
            "message": f"{field} is a date from 1900-01-01 to 2100-12-31",
        }
    ]


async def test_the_last_dates_in_range_are_judged(call: Any) -> None:
    body = evaluate_body(
        cohort={"start_date": "2100-11-01", "end_date": "2100-12-31"},
        certificate={"issue_date": "2100-12-31"},
        birth_date="1900-01-01",
        claim_date="2100-12-31",
    )
    response = await call(body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert "out_of_range" not in {e["code"] for e in response.json().get("errors", [])}, response.text


# --- docs/calculator.md: the example is a real run of the endpoint -----------------------

_BLOCK = re.compile(r"(<!-- example-(request|response) -->\n```json\n)(.*?)(\n```)", re.S)


def _blocks(text: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in _BLOCK.finditer(text)}


async def test_calculator_doc_example_is_a_real_answer(call: Any) -> None:
    """The doc's example answer is what the endpoint answers to the doc's example request.
    ``REGISTRY_WRITE_DOCS=1`` rewrites the answer from a run (then commit the doc)."""
    text = CALCULATOR_DOC.read_text(encoding="utf-8")
    blocks = _blocks(text)
    request = json.loads(blocks["request"])
    response = await call(request)
    assert response.status_code == 200, response.text
    answer = json.dumps(response.json(), ensure_ascii=False, indent=2)
    if os.environ.get("REGISTRY_WRITE_DOCS") == "1":
        text = _BLOCK.sub(
            lambda m: m.group(1) + (answer if m.group(2) == "response" else m.group(3)) + m.group(4), text
        )
        CALCULATOR_DOC.write_text(text, encoding="utf-8")
    assert json.loads(_blocks(CALCULATOR_DOC.read_text(encoding="utf-8"))["response"]) == response.json()


# --- the history's certificate kind (issue 15: the calculator's contract, amended) -----------

LEVEL_LESS = ("special_ability", "special_operation", "completion")


def level_less_body(kind: str, history: list[dict[str, Any]]) -> dict[str, Any]:
    return evaluate_body(
        cohort={"certificate_kind": kind, "certificate_level": None},
        certificate={"kind": kind, "level": None},
        history=history,
    )


def training_codes(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    line = response.json()["lines"][0]
    assert line["kind"] == "training"
    return {flag["code"] for flag in line["flags"]}


@pytest.mark.parametrize("kind", LEVEL_LESS)
async def test_a_level_less_subsidy_repeats_only_its_own_certificate_kind(call: Any, kind: str) -> None:
    def granted(certificate_kind: str, **more: Any) -> dict[str, Any]:
        return {
            "kind": "vocational",
            "certificate_kind": certificate_kind,
            "occupation_code": PLAIN_OCCUPATION,
            "year": 2024,
            **more,
        }

    assert training_codes(await call(level_less_body(kind, [granted(kind)]))) == {"SAME_LEVEL_REPEAT"}
    others = [k for k in LEVEL_LESS if k != kind]
    assert training_codes(await call(level_less_body(kind, [granted(k) for k in others]))) == set()
    assert training_codes(await call(level_less_body(kind, [granted("skill_level", level=5)]))) == set()


async def test_a_renewal_in_the_history_is_not_a_first_certificate(call: Any) -> None:
    renewal = {
        "kind": "vocational",
        "certificate_kind": "special_operation",
        "is_renewal": True,
        "occupation_code": PLAIN_OCCUPATION,
        "year": 2024,
    }
    assert training_codes(await call(level_less_body("special_operation", [renewal]))) == set()


async def test_a_history_item_with_a_level_may_leave_its_kind_out(call: Any) -> None:
    with_kind = {"kind": "vocational", "certificate_kind": "skill_level", "occupation_code": PLAIN_OCCUPATION}
    without = {"kind": "vocational", "occupation_code": PLAIN_OCCUPATION}
    for item in (with_kind, without):
        body = evaluate_body(history=[{**item, "level": 4, "year": 2023}])
        assert training_codes(await call(body)) == {"SAME_LEVEL_REPEAT"}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"kind": "vocational", "occupation_code": PLAIN_OCCUPATION, "year": 2023},
            "history[0].certificate_kind",
        ),
        (
            {
                "kind": "vocational",
                "certificate_kind": "skill_level",
                "occupation_code": PLAIN_OCCUPATION,
                "year": 2023,
            },
            "history[0].level",
        ),
        (
            {
                "kind": "vocational",
                "certificate_kind": "completion",
                "is_renewal": True,
                "occupation_code": PLAIN_OCCUPATION,
                "year": 2023,
            },
            "history[0].is_renewal",
        ),
        (
            {"kind": "startup", "startup_course": "SYB", "certificate_kind": "completion", "year": 2023},
            "history[0].certificate_kind",
        ),
        (
            {
                "kind": "vocational",
                "certificate_kind": "startup",
                "occupation_code": PLAIN_OCCUPATION,
                "year": 2023,
            },
            "history[0].certificate_kind",
        ),
    ],
)
async def test_a_history_item_without_a_certificate_kind_or_level_is_named(
    call: Any, item: dict[str, Any], field: str
) -> None:
    data = problem(await call(evaluate_body(history=[item])), 422)
    assert field in [error["field"] for error in data["errors"]], data
