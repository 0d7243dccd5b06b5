"""Issue 15 item 13: the demo holds a claim in every state, a running notice among them,
whatever day it is started.

Two causes left ``GET /claims?status=noticed`` empty on a fresh ``make up``:

* the year: ``make up`` loaded last year, and a line is claimable for 12 months from its
  certificate, judged on the day the claim is filed; from late November on (none by
  mid-December) no cohort of last year is left for the claims that need an approved line
  (``noticed``, ``payable``, ``paid``). The default year is the current one from July
  (:func:`cli.demo.run.default_year`);
* the calendar: a notice published in the last days of the calendar's last covered year
  runs into a year it does not cover; the running notice is then published on the last day
  whose notice ends by 31 December and still runs today (:func:`running_notice_day`).

Everything of the demo that depends on the day is planned from ``today``: which cohorts are
claimable, which state each claim is planned to end in, the days its notices are published
on (on the working-day calendar the database holds). The services themselves file on the
real date, so the whole demo runs through them on the real date only
(tests/cli/demo/test_run.py); here the demo's plan is checked for each day, against the
same catalogue, policies and calendar, and nothing is written. 2027 stays uncovered in the
suite's database (tests/registry/notices/test_calendar.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from cli.demo.claims import STATES, claims_for, planned_states, running_notice_day, running_notice_note
from cli.demo.run import default_year, demo_institution_keys, plan_for
from registry.core.principal import system
from registry.enums import ClaimStatus
from registry.notices.calendar import calendar_years, notice_period, seed_from_package
from registry.reference.service import load_reference
from registry.subsidy.service import load_shipped_policies

DAYS = {
    "a normal weekday (June: last year)": dt.date(2026, 6, 17),
    "a Friday (July: the current year)": dt.date(2026, 7, 3),
    "the day before the May Day holiday": dt.date(2026, 4, 30),
    "the day before the National Day holiday": dt.date(2026, 9, 30),
    "the Friday before the Spring Festival": dt.date(2026, 2, 13),
    "late November, last year's certificates nearly out of the window": dt.date(2026, 11, 27),
    "a Sunday": dt.date(2026, 11, 29),
    "2026-12-28: the notice would run into 2027": dt.date(2026, 12, 28),
    "the calendar's last day": dt.date(2026, 12, 31),
}


@pytest.fixture(scope="module")
async def demo_reference(database: None) -> None:
    """What ``registry demo`` loads first (idempotent, as it does)."""
    await load_reference(system("demo"))
    await load_shipped_policies(system("demo"))
    await seed_from_package(system("demo"))


def test_the_promised_states_are_the_claim_statuses_but_failed() -> None:
    assert {ClaimStatus(s) for s in STATES} == set(ClaimStatus) - {ClaimStatus.FAILED}


@pytest.mark.parametrize("today", DAYS.values(), ids=DAYS.keys())
async def test_every_state_and_a_running_notice_whatever_the_day(
    demo_reference: None, today: dt.date
) -> None:
    year = default_year(today)
    plan = await plan_for(year, "small", 1, today)
    claims = await claims_for(plan, demo_institution_keys(plan), today)
    assert planned_states(claims) == set(STATES), (year, today)
    assert await running_notice_note(plan, claims, today) is None
    for claim in claims:
        if claim.published_on is None:
            continue
        days = await notice_period(claim.published_on)  # what publish_notice runs it for
        assert claim.published_on <= today
        if claim.state == "noticed":
            assert days[-1] >= today, (claim, days)  # still running on the day of the run
        else:
            assert days[-1] < today, (claim, days)  # over: close_notice grants it that day
            if claim.paid_on is not None:
                assert days[-1] < claim.paid_on <= today


async def test_the_running_notice_day_at_the_end_of_the_calendar(demo_reference: None) -> None:
    """The calendar covers 2026 (chinese-calendar 1.11) and not 2027: from 2026-12-25 on,
    a notice published that day would run into 2027; the latest day whose notice ends by
    31 December is Thursday 12-24 (12-25, 12-28, 12-29, 12-30, 12-31)."""
    if 2027 in {row.year for row in await calendar_years()}:
        pytest.skip("the calendar covers 2027 here")
    assert await running_notice_day(dt.date(2026, 12, 21), dt.date(2026, 12, 21)) == dt.date(2026, 12, 21)
    for day in (dt.date(2026, 12, 25), dt.date(2026, 12, 28), dt.date(2026, 12, 31)):
        published = await running_notice_day(day, day)
        assert published == dt.date(2026, 12, 24), day
        assert (await notice_period(published))[-1] == dt.date(2026, 12, 31) >= day


async def test_a_day_the_calendar_does_not_cover_says_what_to_load(demo_reference: None) -> None:
    """January of a year nobody loaded: no notice can be published (by anyone), so the demo
    plans none and says which year to load; the rest is planned as usual."""
    today = dt.date(2027, 1, 6)
    plan = await plan_for(default_year(today), "small", 1, today)
    claims = await claims_for(plan, demo_institution_keys(plan), today)
    if 2027 in {row.year for row in await calendar_years()}:
        assert planned_states(claims) == set(STATES)
        return
    assert await running_notice_day(today, today) is None
    assert planned_states(claims) == set(STATES) - {"noticed"}
    note = await running_notice_note(plan, claims, today)
    assert note is not None and "2027" in note and "registry calendar load" in note


async def test_an_old_year_says_why_it_has_no_running_notice(demo_reference: None) -> None:
    today = dt.date(2026, 12, 20)
    plan = await plan_for(2025, "small", 1, today)
    claims = await claims_for(plan, demo_institution_keys(plan), today)
    assert "noticed" not in planned_states(claims)
    note = await running_notice_note(plan, claims, today)
    assert note is not None and "--year 2026" in note


def test_the_default_year() -> None:
    assert default_year(dt.date(2026, 6, 30)) == 2025
    assert default_year(dt.date(2026, 7, 1)) == 2026
    assert default_year(dt.date(2027, 1, 1)) == 2026
