"""A ``tiny`` demo year end to end through the services, against the suite's database.

The database is shared and not cleaned: the demo's own marker is the year (2007 here; no
other test uses it), and the tag of the scale and seed."""

from __future__ import annotations

from collections import Counter

import pytest

from cli.demo.run import plan_for, run_demo
from registry.core.crypto import vault_from_settings
from registry.core.errors import Conflict
from registry.core.settings import Settings
from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.training import Cohort, Enrolment, ImportBatch

YEAR = 2007


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
