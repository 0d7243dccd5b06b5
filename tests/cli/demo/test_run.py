"""A ``tiny`` demo year end to end through the services, against the suite's database.

The database is shared and not cleaned: the demo's own marker is the year (2007 here; no
other test uses it), and the tag of the scale and seed. 2007 is before any subsidy policy:
no claims. The claims are tried on the current year (last year before mid-April) and the
year before it, recent enough for the policy and the claim window."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from cli.demo.claims import claims_for, institution, planned_states
from cli.demo.run import demo_institution_keys, format_summary, plan_for, run_demo
from registry.core.clock import business_today
from registry.core.crypto import vault_from_settings
from registry.core.errors import Conflict
from registry.core.settings import Settings
from registry.enums import SubsidyKind
from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.notice import ClaimNotice
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.models.training import Cohort, Enrolment, ImportBatch
from registry.subsidy.claims import file_claim

YEAR = 2007


def claims_year() -> int:
    """A year the demo may plan whose certificates are mostly inside the claim window."""
    today = business_today()
    return today.year if today >= dt.date(today.year, 4, 16) else today.year - 1


async def test_tiny_year_through_the_services(settings: Settings, database: None) -> None:
    vault = vault_from_settings(settings)
    messages: list[str] = []
    result = await run_demo(vault, year=YEAR, scale="tiny", seed=1, say=messages.append)
    assert not result.already_loaded
    plan = await plan_for(YEAR, "tiny", 1)
    stats = plan.stats()
    assert result.planned == stats

    refs = f"DEMO-{YEAR}-T1-"
    cohorts = await Cohort.filter(reference__startswith=refs)
    assert len(cohorts) == len(plan.cohorts)
    assert Counter(c.status.value for c in cohorts) == Counter(
        "cancelled" if c.cancelled else "closed" for c in plan.cohorts
    )
    planned_sizes = {c.reference: len(c.enrolments) for c in plan.cohorts}
    for cohort in cohorts:
        assert await Enrolment.filter(cohort_id=cohort.id).count() == planned_sizes[cohort.reference]
        # Every roster came in through the import service (one batch per non-cancelled cohort).
        assert await ImportBatch.filter(cohort_id=cohort.id).count() == (
            1 if planned_sizes[cohort.reference] else 0
        )
    loaded = result.loaded
    assert loaded["enrolments"].get("vocational/completed") == stats["vocational_outcomes"]["completed"]
    assert loaded["trainees_trained"] == stats["trainees_trained"]
    assert loaded["startup_trained"] == stats["startup_trained"]
    assert loaded["veterans_trained"] == stats["veterans_trained"]
    assert loaded["high_skill_holders"] == stats["high_skill_holders"]
    assert sum(loaded["certificates"].values()) == len(plan.certificates)
    assert await Certificate.filter(number__startswith=f"DEMO{YEAR}").count() == len(plan.certificates)
    found = loaded["anomalies_found"]
    assert found["people_in_overlapping_cohorts_at_two_institutions"] == len(plan.anomalies.overlap_people)
    assert found["most_trainees_sharing_one_phone"] == len(plan.anomalies.shared_phone_people)
    assert found["completed_with_attendance_below_80_percent"] == len(plan.anomalies.attendance_shortfalls)
    assert loaded["institutions"] == len(plan.institutions)
    # The services left their trail: cohort workflow and roster imports are audited.
    actions = Counter(
        e.action
        for e in await AuditEvent.filter(actor="system:demo", entity_type__in=["cohort", "import_batch"])
        if e.entity_type == "import_batch" or e.entity_id in {str(c.id) for c in cohorts}
    )
    assert actions["cohort.create"] == len(plan.cohorts)
    assert actions["cohort.close"] == sum(not c.cancelled for c in plan.cohorts)
    assert actions["roster.import"] >= sum(not c.cancelled for c in plan.cohorts)

    # A second run changes nothing.
    events = await AuditEvent.all().count()
    again = await run_demo(vault, year=YEAR, scale="tiny", seed=1, say=messages.append)
    assert again.already_loaded
    assert again.loaded == loaded
    assert await AuditEvent.all().count() == events
    assert await Cohort.filter(reference__startswith=refs).count() == len(plan.cohorts)
    assert any("already loaded" in m for m in messages)

    # Another seed for the same year is refused before anything is written.
    with pytest.raises(Conflict) as refused:
        await run_demo(vault, year=YEAR, scale="tiny", seed=2, say=messages.append)
    assert refused.value.code == "demo_other_run"


async def test_an_interrupted_run_is_completed(settings: Settings, database: None) -> None:
    """Certificates missing (as after a crash): the next run issues just those."""
    year = YEAR - 1
    vault = vault_from_settings(settings)
    first = await run_demo(vault, year=year, scale="tiny", seed=1, say=lambda _m: None)
    total = sum(first.loaded["certificates"].values())
    # Simulate a run cut short before its certificates: drop them (a test-only shortcut).
    from tortoise import connections

    await connections.get("default").execute_query(
        "DELETE FROM certificate WHERE number LIKE $1", [f"DEMO{year}%"]
    )
    again = await run_demo(vault, year=year, scale="tiny", seed=1, say=lambda _m: None)
    assert not again.already_loaded
    assert again.created["certificates"] == total
    assert again.created["cohorts"] == 0 and again.created["enrolments"] == 0
    assert sum(again.loaded["certificates"].values()) == total


async def test_a_claims_year_shows_claims_in_every_planned_state(settings: Settings, database: None) -> None:
    """A tiny year recent enough for the policy and the claim window: its closed cohorts'
    claims are filed, computed, decided, noticed, granted and paid through the services, and
    a second run changes nothing."""
    today = business_today()
    year = claims_year()
    vault = vault_from_settings(settings)
    result = await run_demo(vault, year=year, scale="tiny", seed=3, say=lambda _m: None)
    plan = await plan_for(year, "tiny", 3)
    planned = await claims_for(plan, demo_institution_keys(plan), today)
    wanted = planned_states(planned)
    # Every state a tiny year has cohorts for (six: `submitted` is the seventh of MINIMUM_ORDER).
    assert {"computed", "in_review", "decided", "noticed", "payable", "paid", "withdrawn"} <= wanted
    refs = f"DEMO-{year}-T3-"
    claims = await SubsidyClaim.filter(cohort__reference__startswith=refs).prefetch_related("cohort")
    assert {c.status.value for c in claims} == wanted
    assert result.loaded["claims"]["by_status"] == dict(Counter(c.status.value for c in claims))
    # Created by this run, or by the same demo loaded earlier in the suite (the dashboard's
    # browser test loads this year and seed too): then this run changed nothing.
    assert result.created["claims"] in (0, len(planned) + sum(c.refiled for c in planned))
    # Each cohort's last claim ended where the plan put it; the demo institution's are unclaimed.
    by_cohort = {c.cohort.reference: c for c in sorted(claims, key=lambda c: c.filed_at)}
    for p in planned:
        assert by_cohort[plan.cohorts[p.cohort].reference].status.value == p.state
    demo_keys = demo_institution_keys(plan)
    assert not {plan.cohorts[p.cohort].institution for p in planned} & demo_keys
    # Decisions as an auditor makes them: blocked lines rejected, flagged ones with a reason.
    lines = await SubsidyLine.filter(claim_id__in=[c.id for c in claims], decision__not_isnull=True)
    assert lines
    for line in lines:
        if line.outcome.value == "blocked":
            assert line.decision == "rejected" and line.reason
        if line.outcome.value == "review" or line.decision == "rejected":
            assert line.reason
    money = result.loaded["claims"]
    assert money["paid_fen"] > 0 and money["granted_fen"] >= money["paid_fen"]
    assert money["claimed_fen"] >= money["granted_fen"]
    noticed = next(c for c in claims if c.status.value == "noticed")
    running = await ClaimNotice.filter(claim_id=noticed.id).first()
    assert running is not None and running.status == "running" and running.runs_to >= today
    paid = next(c for c in claims if c.status.value == "paid")
    ended = await ClaimNotice.filter(claim_id=paid.id).first()
    assert ended is not None and ended.status == "closed" and ended.published_on.year in (year, year + 1)
    summary = format_summary(result)
    assert "training claims:" in summary and "paid ¥" in summary

    # A second run changes nothing.
    events = await AuditEvent.all().count()
    again = await run_demo(vault, year=year, scale="tiny", seed=3, say=lambda _m: None)
    assert again.already_loaded
    assert again.loaded == result.loaded
    assert await AuditEvent.all().count() == events


async def test_an_interrupted_claims_step_is_completed(settings: Settings, database: None) -> None:
    """Claims cut short (filed, not yet computed): the next run takes each on from its status."""
    today = business_today()
    year = claims_year() - 1
    vault = vault_from_settings(settings)
    plan_first = await run_demo(vault, year=year, scale="tiny", seed=4, say=lambda _m: None, claims=False)
    assert plan_first.loaded["claims"]["by_status"] == {}
    plan = await plan_for(year, "tiny", 4)
    planned = await claims_for(plan, demo_institution_keys(plan), today)
    # File the first planned claim only, as a run stopped right after it would have.
    first = planned[0]
    cohort = await Cohort.get(reference=plan.cohorts[first.cohort].reference)
    await file_claim(institution(cohort.institution_id), cohort.id, SubsidyKind.TRAINING)
    again = await run_demo(vault, year=year, scale="tiny", seed=4, say=lambda _m: None)
    assert not again.already_loaded
    assert again.created["cohorts"] == 0
    claims = await SubsidyClaim.filter(cohort__reference__startswith=f"DEMO-{year}-T4-")
    assert {c.status.value for c in claims} == planned_states(planned)
    third = await run_demo(vault, year=year, scale="tiny", seed=4, say=lambda _m: None)
    assert third.already_loaded
