"""The nightly rollup against the real database (as the application's role).

Each test writes its rows in a year of its own that no other test uses (2009-2012), so the
year's snapshot counts exactly what the test wrote."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from registry.core.principal import system
from registry.enums import CohortStatus
from registry.progress import service
from tests.factories import (
    certificate_row,
    ended_cohort,
    enrolment_row,
    ensure_catalogue,
    new_institution,
    person_row,
    snapshot_rows,
)

SYSTEM = system("test")
D = dt.date


def _value(
    rows: set[tuple[str, str, str, str, int]],
    metric: str,
    scope: str = "",
    dimension: str = "total",
    key: str = "",
) -> int:
    found = [v for m, s, d, k, v in rows if (m, s, d, k) == (metric, scope, dimension, key)]
    assert len(found) <= 1
    return found[0] if found else 0


@pytest.fixture
async def catalogue(divisions: None) -> None:
    await ensure_catalogue()


async def test_counts_people_once_by_the_rules(catalogue: None) -> None:
    a, b = await new_institution("410305"), await new_institution("410302")
    body = await new_institution("410323", kinds=["assessment"])
    v1 = await ended_cohort(a, D(2010, 3, 15))
    v2 = await ended_cohort(b, D(2010, 10, 20), division="410302")
    cancelled = await ended_cohort(a, D(2010, 5, 1), status=CohortStatus.CANCELLED)
    next_year = await ended_cohort(a, D(2011, 1, 10))
    p1, p2, p3, p4, p5 = [await person_row() for _ in range(5)]
    p6 = await person_row(groups=("veteran",))  # a veteran on the person, not on the enrolment
    await enrolment_row(v1, p1)
    await enrolment_row(v2, p1)  # the same person twice: 1 person, 2 person-times
    await enrolment_row(v1, p2, groups=("veteran", "graduate"))
    await enrolment_row(v1, p3, outcome="withdrawn")
    await enrolment_row(cancelled, p4)
    await enrolment_row(next_year, p5)
    await enrolment_row(v2, p6)
    # Startup: one person in two sessions; a cancelled session does not count.
    s1 = await ended_cohort(a, D(2010, 6, 30), kind="startup", course="SYB")
    s2 = await ended_cohort(b, D(2010, 7, 15), kind="startup", course="GYB", division="410302")
    await ended_cohort(a, D(2010, 7, 1), kind="startup", status=CohortStatus.CANCELLED)
    p7 = await person_row()
    await enrolment_row(s1, p7)
    await enrolment_row(s2, p7)
    # High skill: once a person, in the year of the first valid level-3+ certificate.
    p8, p9, p10, p11, p12 = [await person_row() for _ in range(5)]
    await certificate_row(p8, body, D(2010, 4, 1), level=3)
    await certificate_row(p8, body, D(2010, 8, 1), level=2)
    await certificate_row(p9, body, D(2008, 6, 1), level=3)
    await certificate_row(p9, body, D(2010, 6, 1), level=2)
    await certificate_row(p10, body, D(2010, 6, 1), level=4)
    await certificate_row(p11, body, D(2010, 6, 1), level=3, status="revoked")
    await certificate_row(p12, body, D(2010, 11, 2), level=2, cohort=v2)

    report = await service.rollup(SYSTEM, D(2010, 12, 31))
    assert report.year == 2010 and report.rows > 0
    rows = await snapshot_rows(2010, D(2010, 12, 31))

    assert _value(rows, "trainees_trained") == 3  # p1, p2, p6
    assert _value(rows, "training_person_times") == 4
    assert _value(rows, "veterans_trained") == 1  # p2: via the enrolment's groups only
    assert _value(rows, "trainees_trained", dimension="division", key="410305") == 2
    assert _value(rows, "trainees_trained", dimension="division", key="410302") == 2
    assert _value(rows, "trainees_trained", scope="410302") == 2
    assert _value(rows, "trainees_trained", scope="410302", dimension="institution", key=str(b.id)) == 2
    # People in the month of their first completion: the months add up to the total.
    assert _value(rows, "trainees_trained", dimension="month", key="03") == 2
    assert _value(rows, "trainees_trained", dimension="month", key="10") == 1
    assert _value(rows, "training_person_times", dimension="month", key="10") == 2
    assert _value(rows, "trainees_trained", dimension="group", key="veteran") == 1
    assert _value(rows, "trainees_trained", dimension="group", key="graduate") == 1
    assert _value(rows, "trainees_trained", dimension="sector", key="other") == 3  # no priority list in 2010
    assert _value(rows, "trainees_trained", dimension="occupation", key="4-02-04-06") == 3
    assert _value(rows, "startup_trained") == 1
    assert _value(rows, "startup_sessions") == 2
    assert _value(rows, "startup_sessions", dimension="occupation", key="SYB") == 1
    assert _value(rows, "startup_sessions", scope="410302", dimension="month", key="07") == 1
    assert _value(rows, "high_skill_certified") == 2  # p8 once, p12; not p9, p10, p11
    assert _value(rows, "high_skill_certified", dimension="division", key="410323") == 1  # the issuer's
    assert _value(rows, "high_skill_certified", dimension="division", key="410302") == 1  # the cohort's
    assert _value(rows, "high_skill_certified", dimension="month", key="04") == 1
    # Every metric has a city total, zero when nothing counted (no money in 2010).
    assert ("subsidy_paid_fen", "", "total", "", 0) in rows
    # The previous year's final day was written too (the shape of the year before).
    assert report.previous_year_rows > 0 or await snapshot_rows(2009, D(2009, 12, 31))

    again = await service.rollup(SYSTEM, D(2010, 12, 31))
    assert again.deleted == len(rows)
    assert await snapshot_rows(2010, D(2010, 12, 31)) == rows


async def test_a_days_earlier_snapshot_is_replaced_and_older_days_stay(catalogue: None) -> None:
    a = await new_institution("410305")
    first = await ended_cohort(a, D(2009, 2, 10))
    await enrolment_row(first, await person_row())
    await service.rollup(SYSTEM, D(2009, 3, 31))
    march = await snapshot_rows(2009, D(2009, 3, 31))
    await service.rollup(SYSTEM, D(2009, 6, 30))
    assert _value(await snapshot_rows(2009, D(2009, 6, 30)), "trainees_trained") == 1

    later = await ended_cohort(a, D(2009, 5, 5))
    await enrolment_row(later, await person_row())
    await enrolment_row(later, await person_row())
    report = await service.rollup(SYSTEM, D(2009, 6, 30))
    assert report.deleted > 0
    june = await snapshot_rows(2009, D(2009, 6, 30))
    assert _value(june, "trainees_trained") == 3
    assert _value(june, "trainees_trained", dimension="month", key="05") == 2
    assert await snapshot_rows(2009, D(2009, 3, 31)) == march  # older days kept, unchanged
    assert _value(march, "trainees_trained") == 1


async def test_concurrent_runs_do_not_interleave(catalogue: None) -> None:
    a = await new_institution("410323")
    cohort = await ended_cohort(a, D(2012, 9, 1), division="410323")
    for _ in range(20):
        await enrolment_row(cohort, await person_row())
    reports = await asyncio.gather(*(service.rollup(SYSTEM, D(2012, 9, 30)) for _ in range(3)))
    rows = await snapshot_rows(2012, D(2012, 9, 30))
    assert _value(rows, "trainees_trained") == 20
    assert _value(rows, "trainees_trained", scope="410323") == 20
    # Each run replaced the one before it whole (the lock): no run saw another half-written.
    assert sorted(r.deleted for r in reports) == [0, len(rows), len(rows)]
    single = await service.rollup(SYSTEM, D(2012, 9, 30))
    assert single.rows == len(rows) == reports[0].rows


@pytest.mark.usefixtures("working_day_calendar")
async def test_the_money_comes_from_the_claims(vault: object) -> None:
    """Claimed: the lines of claims not withdrawn or failed; approved: the lines decided
    approved (a fresh institution's rows, in this year's snapshot of today)."""
    from registry.core.clock import business_today
    from registry.models.subsidy import SubsidyLine
    from tests.factories import Trainee, noticed_claim

    today = business_today()
    claim_id, _notice, cohort = await noticed_claim(
        vault, [Trainee(), Trainee(), Trainee(hours=10)], published_on=today
    )
    lines = await SubsidyLine.filter(claim_id=claim_id)
    await service.rollup(SYSTEM, today)
    rows = await snapshot_rows(today.year, today)
    key = str(cohort.institution.id)
    assert _value(rows, "subsidy_claimed_fen", dimension="institution", key=key) == sum(
        line.total_fen for line in lines
    )
    approved = sum(line.total_fen for line in lines if line.decision == "approved")
    assert approved > 0
    assert _value(rows, "subsidy_approved_fen", dimension="institution", key=key) == approved
    assert _value(rows, "subsidy_approved_fen", scope="410305", dimension="institution", key=key) == approved
