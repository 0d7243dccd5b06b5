"""Cohort service: create (and find again by reference), change, open, close, cancel, list;
tenancy and the workflow. The database is shared and not cleaned: every test makes its own
institutions and cohorts, so the order does not matter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal, system
from registry.enums import CohortStatus, Role
from registry.models.audit import AuditEvent
from registry.models.reference import Occupation
from registry.models.training import Cohort
from registry.training import service
from registry.training.service import CohortInput
from tests.factories import OCCUPATION, TODAY, acting_for, auditor, ensure_catalogue, new_institution

GROUP = "4-10-01-00"  # 生活照料服务人员, level 3 (a group, not an occupation)


@pytest.fixture(autouse=True)
async def catalogue(database: None) -> None:
    await ensure_catalogue()
    await Occupation.get_or_create(code=GROUP, defaults={"name": "生活照料服务人员", "level": 3})


ADMIN = Principal(kind="user", id=uuid.uuid4(), role=Role.ADMIN)


def cohort_input(**overrides: Any) -> CohortInput:
    base = CohortInput(
        reference=f"LY-{uuid.uuid4().hex[:8]}",
        kind="vocational",
        division_code="410305",
        planned_hours=80,
        start_date=TODAY + dt.timedelta(days=20),
        end_date=TODAY + dt.timedelta(days=80),
        capacity=30,
        name="无人机驾驶员培训班",
        occupation_code=OCCUPATION,
        certificate_kind="skill_level",
        certificate_level=4,
    )
    return dataclasses.replace(base, **overrides)


def started(**overrides: Any) -> CohortInput:
    """A cohort whose start date has come (running once opened)."""
    return cohort_input(
        start_date=TODAY - dt.timedelta(days=5), end_date=TODAY + dt.timedelta(days=40), **overrides
    )


async def new_cohort(who: Principal, data: CohortInput | None = None, *, open_it: bool = False) -> uuid.UUID:
    view, created = await service.create_cohort(who, data or cohort_input())
    assert created
    if open_it:
        await service.open_cohort(who, view.cohort.id)
    return view.cohort.id


async def actions(cohort_id: uuid.UUID) -> list[str]:
    return [
        e.action
        for e in await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort_id)).order_by("id")
    ]


async def refused(code: str, awaitable: Any) -> Conflict:
    with pytest.raises(Conflict) as info:
        await awaitable
    assert info.value.code == code, info.value.message
    return info.value


# --- create ----------------------------------------------------------------------------------


async def test_an_institution_registers_a_draft_cohort_with_an_audit_event() -> None:
    inst = await new_institution()
    who = acting_for(inst)
    view, created = await service.create_cohort(who, cohort_input(reference="  LY 2025 001 "))
    assert created and view.status is CohortStatus.DRAFT and view.enrolled == 0
    cohort = await Cohort.get(id=view.cohort.id)
    assert cohort.institution_id == inst.id and cohort.reference == "LY 2025 001"  # type: ignore[attr-defined]
    assert cohort.occupation_id == OCCUPATION and cohort.certificate_level == 4  # type: ignore[attr-defined]
    events = await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort.id))
    assert [e.action for e in events] == ["cohort.create"]
    assert events[0].after["reference"] == "LY 2025 001" and events[0].actor == who.actor


async def test_startup_cohort() -> None:
    who = acting_for(await new_institution())
    view, _ = await service.create_cohort(
        who,
        cohort_input(
            kind="startup",
            occupation_code=None,
            certificate_kind=None,
            certificate_level=None,
            startup_course="SYB",
            training_mode="general",
            delivery="blended",
            planned_hours=56,
        ),
    )
    facts = service.facts_of(view.cohort)
    assert (
        facts.startup_course == "SYB"
        and facts.certificate_kind == "startup"
        and facts.occupation_code is None
    )


async def test_a_retried_create_finds_the_cohort_and_other_details_conflict() -> None:
    inst = await new_institution()
    who = acting_for(inst)
    data = cohort_input()
    first, created = await service.create_cohort(who, data)
    again, created_again = await service.create_cohort(
        who, dataclasses.replace(data, reference=f" {data.reference}")
    )
    assert created and not created_again and again.cohort.id == first.cohort.id
    error = await refused(
        "duplicate_reference", service.create_cohort(who, dataclasses.replace(data, capacity=31))
    )
    assert [e.field for e in error.errors] == ["capacity"]
    assert await Cohort.filter(institution_id=inst.id, reference=data.reference).count() == 1
    # Another institution may use the same reference.
    _, created_elsewhere = await service.create_cohort(acting_for(await new_institution()), data)
    assert created_elsewhere
    assert await actions(first.cohort.id) == ["cohort.create"]


async def test_catalogue_checks() -> None:
    who = acting_for(await new_institution())
    cases = [
        (cohort_input(occupation_code="9-99-99-99"), "occupation_code", "unknown_occupation"),
        (cohort_input(occupation_code=GROUP), "occupation_code", "not_an_occupation"),
        (cohort_input(division_code="110101"), "division_code", "unknown_division"),
        (cohort_input(planned_hours=0, capacity=501), "planned_hours", "out_of_range"),
    ]
    for data, field, code in cases:
        with pytest.raises(ValidationFailed) as info:
            await service.create_cohort(who, data)
        assert (field, code) in {(e.field, e.code) for e in info.value.errors}
    assert await Cohort.filter(institution_id=who.institution_id).count() == 0


async def test_who_registers_cohorts() -> None:
    inst = await new_institution()
    for principal in (
        auditor(),
        auditor("410305"),
        Principal(kind="user", id=uuid.uuid4(), role=Role.ASSESSOR, institution_id=inst.id),
    ):
        with pytest.raises(PermissionDenied):
            await service.create_cohort(principal, cohort_input())
    with pytest.raises(ValidationFailed) as info:
        await service.create_cohort(ADMIN, cohort_input())
    assert info.value.errors[0].field == "institution_id"
    view, _ = await service.create_cohort(ADMIN, cohort_input(), institution_id=inst.id)
    assert view.cohort.institution_id == inst.id  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed):
        await service.create_cohort(
            acting_for(inst), cohort_input(), institution_id=(await new_institution()).id
        )
    with pytest.raises(ValidationFailed):
        await service.create_cohort(ADMIN, cohort_input(), institution_id=uuid.uuid4())


# --- workflow --------------------------------------------------------------------------------


async def test_open_then_running_from_the_start_date() -> None:
    who = acting_for(await new_institution())
    future = await new_cohort(who)
    view = await service.open_cohort(who, future)
    assert view.status is CohortStatus.OPEN
    now = await new_cohort(who, started())
    view = await service.open_cohort(who, now)
    assert view.status is CohortStatus.RUNNING
    assert (await service.get_cohort(who, now))["status"] is CohortStatus.RUNNING
    assert await actions(future) == ["cohort.create", "cohort.open"]
    await refused("cohort_not_draft", service.open_cohort(who, future))
    await refused("cohort_not_draft", service.open_cohort(who, now))


async def test_running_is_stored_by_the_next_write_and_by_the_nightly_promotion() -> None:
    who = acting_for(await new_institution())
    cohort_id = await new_cohort(who, started(), open_it=True)
    assert (await Cohort.get(id=cohort_id)).status == CohortStatus.OPEN
    await service.cancel_cohort(who, cohort_id, "trainer ill")
    events = await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort_id)).order_by("id")
    assert [e.action for e in events] == ["cohort.create", "cohort.open", "cohort.start", "cohort.cancel"]
    assert events[2].actor == "system:calendar"
    assert events[3].before == {"status": "running"} and events[3].after["reason"] == "trainer ill"

    other = await new_cohort(who, started(), open_it=True)
    assert await service.start_due_cohorts(system("nightly")) >= 1
    assert (await Cohort.get(id=other)).status == CohortStatus.RUNNING
    assert await actions(other) == ["cohort.create", "cohort.open", "cohort.start"]


async def test_opening_needs_an_approved_active_training_institution() -> None:
    cases = [
        (await new_institution(years=[TODAY.year - 5]), "institution_not_approved"),
        (await new_institution(status="suspended"), "institution_not_active"),
        (await new_institution(kinds=["assessment"]), "institution_not_training"),
    ]
    for inst, code in cases:
        who = acting_for(inst)
        cohort_id = await new_cohort(who)
        await refused(code, service.open_cohort(who, cohort_id))
        assert (await Cohort.get(id=cohort_id)).status == CohortStatus.DRAFT
    # Approval is for the cohort's start year.
    who = acting_for(await new_institution(years=[TODAY.year + 1]))
    next_year = dt.date(TODAY.year + 1, 3, 1)
    cohort_id = await new_cohort(
        who, cohort_input(start_date=next_year, end_date=next_year + dt.timedelta(days=30))
    )
    assert (await service.open_cohort(who, cohort_id)).status is CohortStatus.OPEN


async def test_close_needs_a_running_cohort_and_every_outcome() -> None:
    who = acting_for(await new_institution())
    draft = await new_cohort(who)
    await refused("cohort_not_running", service.close_cohort(who, draft))
    future = await new_cohort(who, open_it=True)
    await refused("cohort_not_running", service.close_cohort(who, future))
    empty = await new_cohort(who, started(), open_it=True)
    await refused("cohort_empty", service.close_cohort(who, empty))


async def test_cancel_from_every_state_but_closed_and_cancelled_is_final() -> None:
    who = acting_for(await new_institution())
    for opened, data in ((False, cohort_input()), (True, cohort_input()), (True, started())):
        cohort_id = await new_cohort(who, data, open_it=opened)
        view = await service.cancel_cohort(who, cohort_id)
        assert view.status is CohortStatus.CANCELLED
        for attempt in (
            service.cancel_cohort(who, cohort_id),
            service.open_cohort(who, cohort_id),
            service.close_cohort(who, cohort_id),
            service.update_cohort(who, cohort_id, {"capacity": 10}),
        ):
            await refused("cohort_cancelled", attempt)


# --- update ----------------------------------------------------------------------------------


async def test_update_a_draft_records_what_changed() -> None:
    who = acting_for(await new_institution())
    cohort_id = await new_cohort(who)
    view = await service.update_cohort(
        who, cohort_id, {"capacity": 25, "delivery": "online", "name": "新名字"}
    )
    assert view.cohort.capacity == 25 and service.facts_of(view.cohort).delivery == "online"
    event = (await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort_id), action="cohort.update"))[
        0
    ]
    assert event.before == {"capacity": 30, "delivery": "in_person", "name": "无人机驾驶员培训班"}
    assert event.after == {"capacity": 25, "delivery": "online", "name": "新名字"}
    # Nothing changed: no event.
    await service.update_cohort(who, cohort_id, {"capacity": 25})
    assert (await actions(cohort_id)).count("cohort.update") == 1
    # Switching kind clears what no longer applies.
    view = await service.update_cohort(
        who,
        cohort_id,
        {
            "kind": "startup",
            "occupation_code": None,
            "certificate_kind": None,
            "certificate_level": None,
            "startup_course": "GYB",
        },
    )
    assert service.facts_of(view.cohort).certificate_kind == "startup"


async def test_update_refuses_bad_values_and_unknown_fields() -> None:
    who = acting_for(await new_institution())
    cohort_id = await new_cohort(who)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"capacity": 0}, "capacity"),
        ({"end_date": TODAY}, "end_date"),
        ({"occupation_code": "9-99-99-99"}, "occupation_code"),
        ({"certificate_level": None}, "certificate_level"),
        ({"colour": "red"}, "colour"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationFailed) as info:
            await service.update_cohort(who, cohort_id, changes)
        assert field in {e.field for e in info.value.errors}
    assert (await Cohort.get(id=cohort_id)).capacity == 30


async def test_update_checks_reference_state_and_approval() -> None:
    who = acting_for(await new_institution(years=[TODAY.year, TODAY.year + 1]))
    taken = cohort_input(start_date=dt.date(TODAY.year + 1, 2, 1), end_date=dt.date(TODAY.year + 1, 3, 1))
    await new_cohort(who, taken)
    cohort_id = await new_cohort(
        who,
        cohort_input(start_date=dt.date(TODAY.year + 1, 2, 1), end_date=dt.date(TODAY.year + 1, 3, 1)),
        open_it=True,
    )
    await refused(
        "duplicate_reference", service.update_cohort(who, cohort_id, {"reference": taken.reference})
    )
    # Open: moving to a year the institution is not approved for is refused.
    await refused(
        "institution_not_approved",
        service.update_cohort(
            who,
            cohort_id,
            {"start_date": dt.date(TODAY.year + 2, 1, 1), "end_date": dt.date(TODAY.year + 2, 2, 1)},
        ),
    )
    running = await new_cohort(who, started(), open_it=True)
    await refused("cohort_running", service.update_cohort(who, running, {"capacity": 10}))


# --- tenancy and lists -----------------------------------------------------------------------


async def test_tenancy_other_institutions_and_auditors() -> None:
    owner = acting_for(await new_institution("410323"))
    cohort_id = await new_cohort(owner, cohort_input(division_code="410323"))
    stranger = acting_for(await new_institution())
    assessor = Principal(
        kind="user", id=uuid.uuid4(), role=Role.ASSESSOR, institution_id=stranger.institution_id
    )
    for who in (stranger, auditor("410305"), assessor):
        for attempt in (
            service.get_cohort(who, cohort_id),
            service.update_cohort(who, cohort_id, {"capacity": 5}),
            service.open_cohort(who, cohort_id),
            service.close_cohort(who, cohort_id),
            service.cancel_cohort(who, cohort_id),
        ):
            with pytest.raises(NotFound):
                await attempt
    for who in (auditor("410323"), auditor()):
        assert (await service.get_cohort(who, cohort_id))["id"] == cohort_id
        for attempt in (
            service.update_cohort(who, cohort_id, {"capacity": 5}),
            service.open_cohort(who, cohort_id),
            service.cancel_cohort(who, cohort_id),
        ):
            with pytest.raises(PermissionDenied):
                await attempt
    page = await service.list_cohorts(assessor, limit=500, offset=0)
    assert page.total == 0 and page.items == []
    listed = await service.list_cohorts(stranger, limit=500, offset=0)
    assert cohort_id not in {v.cohort.id for v in listed.items}
    county = await service.list_cohorts(auditor("410323"), limit=500, offset=0)
    assert {service.facts_of(v.cohort).division_code for v in county.items} == {"410323"}
    # An administrator acts for the institution.
    assert (await service.open_cohort(ADMIN, cohort_id)).status is CohortStatus.OPEN


async def test_list_filters_and_bounds() -> None:
    who = acting_for(await new_institution())
    draft = await new_cohort(who, cohort_input(division_code="410302"))
    future = await new_cohort(who, open_it=True)
    running = await new_cohort(who, started(), open_it=True)
    startup = await new_cohort(
        who,
        cohort_input(
            kind="startup",
            occupation_code=None,
            certificate_kind=None,
            certificate_level=None,
            startup_course="IYB",
        ),
    )

    async def ids(**filters: Any) -> set[uuid.UUID]:
        page = await service.list_cohorts(who, limit=500, offset=0, **filters)
        return {v.cohort.id for v in page.items}

    assert await ids() == {draft, future, running, startup}
    assert await ids(status="running") == {running}
    assert await ids(status="open") == {future}
    assert await ids(status="draft") == {draft, startup}
    assert await ids(kind="startup") == {startup}
    assert await ids(division_code="410302") == {draft}
    assert await ids(year=TODAY.year - 10) == set()
    page = await service.list_cohorts(who, limit=2, offset=1)
    assert page.total == 4 and len(page.items) == 2
    for bad in (
        {"limit": 501, "offset": 0},
        {"limit": 0, "offset": 0},
        {"limit": 10, "offset": -1},
        {"limit": 10, "offset": 0, "status": "sleeping"},
        {"limit": 10, "offset": 0, "kind": "evening"},
        {"limit": 10, "offset": 0, "year": 1850},
    ):
        with pytest.raises(ValidationFailed):
            await service.list_cohorts(who, **bad)
