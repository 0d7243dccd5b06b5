"""The demo's claims plan, pure: every state where there are cohorts enough, the shares,
noticed states only for claimable cohorts, the demo institution's cohorts unclaimed,
deterministic. No database."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from cli.demo.claims import STATES, plan_claims, planned_states
from cli.demo.plan import SCALES, Plan, build_plan
from tests.cli.demo.test_plan import inputs

YEAR = 2025
CLAIMS_DATE = dt.date(2026, 2, 10)


def small() -> Plan:
    return build_plan(inputs(), year=YEAR, scale=SCALES["small"], seed=1)


def fileable(plan: Plan) -> list[int]:
    demo = {i.key for i in plan.institutions if i.existing}
    return [c.index for c in plan.cohorts if not c.cancelled and c.enrolments and c.institution not in demo]


def test_every_state_in_realistic_shares_and_the_same_plan_again() -> None:
    plan = small()
    cohorts = fileable(plan)
    claims = plan_claims(
        plan, fileable=cohorts, claimable=cohorts, claims_date=CLAIMS_DATE, running_notice_on=CLAIMS_DATE
    )
    assert planned_states(claims) == set(STATES)
    states = Counter(c.state for c in claims)
    assert states["paid"] >= 0.35 * len(cohorts)
    assert states["computed"] >= 0.1 * len(cohorts)
    assert 1 <= states["submitted"] <= 3
    assert len({c.cohort for c in claims}) == len(claims)
    assert {plan.cohorts[c.cohort].institution for c in claims} <= {
        plan.cohorts[i].institution for i in cohorts
    }
    for claim in claims:
        if claim.state in ("paid", "payable"):
            assert claim.published_on is not None and claim.published_on <= CLAIMS_DATE - dt.timedelta(
                days=21
            )
        if claim.state == "paid":
            assert claim.published_on is not None and claim.paid_on is not None
            assert claim.published_on < claim.paid_on <= CLAIMS_DATE
            assert claim.batch_reference == f"LY-{claim.paid_on.year}-{claim.paid_on.month:02d}"
        if claim.state == "noticed":
            assert claim.published_on == CLAIMS_DATE
    again = plan_claims(
        plan, fileable=cohorts, claimable=cohorts, claims_date=CLAIMS_DATE, running_notice_on=CLAIMS_DATE
    )
    assert again == claims


def test_noticed_states_go_to_claimable_cohorts_only() -> None:
    plan = small()
    cohorts = fileable(plan)
    claimable = cohorts[-3:]
    claims = plan_claims(
        plan, fileable=cohorts, claimable=claimable, claims_date=CLAIMS_DATE, running_notice_on=CLAIMS_DATE
    )
    assert planned_states(claims) == set(STATES)
    late = [c for c in claims if c.state in ("paid", "payable", "noticed")]
    assert sorted(c.cohort for c in late) == sorted(claimable)
    assert Counter(c.state for c in late) == {"paid": 1, "payable": 1, "noticed": 1}
    # Without a running notice possible (the calendar), nothing is planned to be noticed.
    none = plan_claims(
        plan, fileable=cohorts, claimable=claimable, claims_date=CLAIMS_DATE, running_notice_on=None
    )
    assert "noticed" not in planned_states(none)


def test_claims_meant_for_a_notice_without_claimable_cohorts_are_decided() -> None:
    plan = small()
    cohorts = fileable(plan)
    everything = plan_claims(
        plan, fileable=cohorts, claimable=cohorts, claims_date=CLAIMS_DATE, running_notice_on=CLAIMS_DATE
    )
    late = plan_claims(
        plan, fileable=cohorts, claimable=[], claims_date=CLAIMS_DATE, running_notice_on=CLAIMS_DATE
    )
    full, none = Counter(c.state for c in everything), Counter(c.state for c in late)
    assert none["decided"] == full["decided"] + full["paid"] + full["payable"] + full["noticed"]
    for state in ("computed", "in_review", "submitted", "withdrawn"):
        assert none[state] == full[state]
