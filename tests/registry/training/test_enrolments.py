"""Enrolment service: one or a list, all or nothing; duplicates, capacity, attendance and
outcomes, frozen cohorts, tenancy. Every test makes its own institution, cohort and people."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import CohortStatus, Role
from registry.models.audit import AuditEvent
from registry.models.training import Enrolment, Trainee
from registry.people.queries import id_index
from registry.training import enrolments as service
from registry.training import service as cohort_service
from registry.training.enrolments import EnrolmentChanges, EnrolmentRequest
from tests.factories import acting_for, auditor, ensure_catalogue, new_institution
from tests.factories import new_cohort as cohort
from tests.factories import new_id_number as new_number


@pytest.fixture(autouse=True)
async def catalogue(database: None) -> None:
    await ensure_catalogue()


def person(number: str | None = None, name: str = "张三", **extra: Any) -> EnrolmentRequest:
    return EnrolmentRequest(id_number=number or new_number(), name=name, **extra)


async def enrolled(cohort_id: uuid.UUID) -> int:
    return await Enrolment.filter(cohort_id=cohort_id).count()


# --- enrol -----------------------------------------------------------------------------------


async def test_enrol_one_person_records_groups_masked_and_audited(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)
    number = new_number()
    [view] = await service.enrol(
        who,
        vault,
        cohort_id,
        [
            person(
                number,
                " 张　三 ",
                phone="13812345678",
                household_division="410323",
                groups=("veteran", "migrant_worker"),
            )
        ],
        as_list=False,
    )
    assert view.name == "张三" and view.id_masked == number[:6] + "********" + number[-4:]
    assert view.phone_masked == "138****5678" and view.household_division == "410323"
    assert view.groups == ["migrant_worker", "veteran"] and view.outcome == "in_progress"
    assert view.attended_hours == 0
    trainee = await Trainee.get(id=view.trainee_id)
    assert trainee.id_index == id_index(vault, number) and trainee.groups == ["migrant_worker", "veteran"]
    events = await AuditEvent.filter(
        entity_type="cohort", entity_id=str(cohort_id), action="enrolment.create"
    )
    assert len(events) == 1 and events[0].after["count"] == 1
    assert number not in json.dumps(events[0].after) and number[-4:] + '"' not in json.dumps(events[0].after)
    # Enrolled again elsewhere without groups: the enrolment records what this enrolment says
    # (none); the groups are what an institution says at enrolment, not the last writer's.
    other = await cohort(who)
    [again] = await service.enrol(who, vault, other, [person(number)], as_list=True)
    assert again.trainee_id == view.trainee_id and again.groups == []


async def test_a_list_is_all_or_nothing(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)
    good, bad = new_number(), new_number()
    bad = bad[:-1] + ("1" if bad[-1] != "1" else "2")
    with pytest.raises(ValidationFailed) as info:
        await service.enrol(
            who, vault, cohort_id, [person(good), person(bad), person(name="X")], as_list=True
        )
    fields = {(e.field, e.code) for e in info.value.errors}
    assert fields == {("items[1].id_number", "id_checksum"), ("items[2].name", "name_length")}
    assert all(good not in e.message and bad not in e.message for e in info.value.errors)
    assert await enrolled(cohort_id) == 0
    assert not await Trainee.filter(id_index=id_index(vault, good)).exists()
    views = await service.enrol(who, vault, cohort_id, [person(), person(), person()], as_list=True)
    assert len(views) == 3 and await enrolled(cohort_id) == 3


async def test_duplicates_in_the_cohort_conflict_and_nothing_is_enrolled(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)
    first = new_number()
    await service.enrol(who, vault, cohort_id, [person(first)], as_list=False)
    newcomer = new_number()
    with pytest.raises(Conflict) as info:
        await service.enrol(who, vault, cohort_id, [person(newcomer), person(first)], as_list=True)
    assert info.value.code == "already_enrolled"
    assert [(e.field, e.code) for e in info.value.errors] == [("items[1].id_number", "already_enrolled")]
    assert await enrolled(cohort_id) == 1
    assert not await Trainee.filter(id_index=id_index(vault, newcomer)).exists()
    with pytest.raises(ValidationFailed) as dup:
        await service.enrol(who, vault, cohort_id, [person(newcomer), person(newcomer.lower())], as_list=True)
    assert dup.value.errors[0].code == "duplicate_in_request"


async def test_a_name_that_differs_from_the_registered_one_is_refused(vault: Vault) -> None:
    who = acting_for(await new_institution())
    number = new_number()
    await service.enrol(who, vault, await cohort(who), [person(number, "王小明")], as_list=False)
    with pytest.raises(ValidationFailed) as info:
        await service.enrol(who, vault, await cohort(who), [person(number, "王晓明")], as_list=False)
    assert [(e.field, e.code) for e in info.value.errors] == [("name", "name_mismatch")]
    assert "王小明" not in info.value.errors[0].message


async def test_capacity(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who, capacity=3)
    await service.enrol(who, vault, cohort_id, [person(), person()], as_list=True)
    with pytest.raises(Conflict) as info:
        await service.enrol(who, vault, cohort_id, [person(), person()], as_list=True)
    assert info.value.code == "capacity_exceeded" and "1 more fit" in info.value.message
    assert await enrolled(cohort_id) == 2
    await service.enrol(who, vault, cohort_id, [person()], as_list=False)
    assert await enrolled(cohort_id) == 3
    with pytest.raises(Conflict) as full:
        await service.enrol(who, vault, cohort_id, [person()], as_list=False)
    assert full.value.code == "capacity_exceeded" and "0 more fit" in full.value.message


async def test_capacity_cannot_drop_below_the_enrolled(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who, running=False, capacity=3)
    await service.enrol(who, vault, cohort_id, [person(), person()], as_list=True)
    with pytest.raises(Conflict) as info:
        await cohort_service.update_cohort(who, cohort_id, {"capacity": 1})
    assert info.value.code == "capacity_below_enrolled"
    assert (await cohort_service.update_cohort(who, cohort_id, {"capacity": 2})).cohort.capacity == 2


async def test_concurrent_requests_for_the_last_place(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who, capacity=1)
    results = await asyncio.gather(
        service.enrol(who, vault, cohort_id, [person()], as_list=False),
        service.enrol(who, vault, cohort_id, [person()], as_list=False),
        return_exceptions=True,
    )
    assert sum(isinstance(r, list) for r in results) == 1
    assert [r.code for r in results if isinstance(r, Conflict)] == ["capacity_exceeded"]
    assert await enrolled(cohort_id) == 1


async def test_only_open_or_running_cohorts_take_enrolments(vault: Vault) -> None:
    who = acting_for(await new_institution())
    draft = await cohort(who, open_it=False)
    cancelled = await cohort(who)
    await cohort_service.cancel_cohort(who, cancelled)
    for cohort_id, code in ((draft, "cohort_not_open"), (cancelled, "cohort_cancelled")):
        with pytest.raises(Conflict) as info:
            await service.enrol(who, vault, cohort_id, [person()], as_list=False)
        assert info.value.code == code
    future = await cohort(who, running=False)
    assert len(await service.enrol(who, vault, future, [person()], as_list=False)) == 1


async def test_tenancy(vault: Vault) -> None:
    owner = acting_for(await new_institution("410323"))
    cohort_id = await cohort(owner, division_code="410323")
    [view] = await service.enrol(owner, vault, cohort_id, [person()], as_list=False)
    stranger = acting_for(await new_institution())
    assessor = Principal(
        kind="user", id=uuid.uuid4(), role=Role.ASSESSOR, institution_id=stranger.institution_id
    )
    for who in (stranger, auditor("410305"), assessor):
        with pytest.raises(NotFound):
            await service.enrol(who, vault, cohort_id, [person()], as_list=False)
        with pytest.raises(NotFound):
            await service.list_enrolments(who, cohort_id, limit=10, offset=0)
        with pytest.raises(NotFound):
            await service.update_enrolment(who, view.id, EnrolmentChanges(attended_hours=Decimal(1)))
    county = auditor("410323")
    assert (await service.list_enrolments(county, cohort_id, limit=10, offset=0)).total == 1
    with pytest.raises(PermissionDenied):
        await service.enrol(county, vault, cohort_id, [person()], as_list=False)
    with pytest.raises(PermissionDenied):
        await service.update_enrolment(county, view.id, EnrolmentChanges(attended_hours=Decimal(1)))
    # Bad items to someone else's cohort: still not found (nothing about the cohort leaks).
    with pytest.raises(NotFound):
        await service.enrol(stranger, vault, cohort_id, [person("123")], as_list=False)
    assert await enrolled(cohort_id) == 1


# --- building blocks for other enrolment paths ------------------------------------------------


async def test_cohort_for_enrolment_and_check_capacity(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who, capacity=2)
    async with unit_of_work(who) as uow:
        locked = await cohort_service.cohort_for_enrolment(uow, who, cohort_id)
        assert locked.status == CohortStatus.RUNNING  # stored on the way
        assert await cohort_service.check_capacity(uow.conn, locked, 2) == 0
        with pytest.raises(Conflict):
            await cohort_service.check_capacity(uow.conn, locked, 3)
    with pytest.raises(NotFound):
        async with unit_of_work(who) as uow:
            await cohort_service.cohort_for_enrolment(uow, who, uuid.uuid4())


# --- attendance and outcomes ------------------------------------------------------------------


async def test_record_attendance_and_outcomes_then_close(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)
    views = await service.enrol(who, vault, cohort_id, [person(), person(), person()], as_list=True)
    updated = await service.update_enrolment(who, views[0].id, EnrolmentChanges(Decimal("78.5"), "completed"))
    assert updated.attended_hours == Decimal("78.5") and updated.outcome == "completed"
    event = (await AuditEvent.filter(entity_type="enrolment", entity_id=str(views[0].id)))[0]
    assert event.before == {"attended_hours": "0.0", "outcome": "in_progress"}
    assert event.after == {"attended_hours": "78.5", "outcome": "completed"}
    await service.update_enrolment(who, views[1].id, EnrolmentChanges(outcome="withdrawn"))
    with pytest.raises(Conflict) as info:
        await cohort_service.close_cohort(who, cohort_id)
    assert info.value.code == "outcomes_missing" and info.value.message.startswith("1 of 3")
    await service.update_enrolment(who, views[2].id, EnrolmentChanges(Decimal(120), "failed"))
    closed = await cohort_service.close_cohort(who, cohort_id)
    assert closed.status is CohortStatus.CLOSED and closed.cohort.closed_at is not None
    close_event = (
        await AuditEvent.filter(entity_type="cohort", entity_id=str(cohort_id), action="cohort.close")
    )[0]
    assert close_event.after["outcomes"] == {"completed": 1, "failed": 1, "withdrawn": 1}
    # Frozen.
    for attempt in (
        service.update_enrolment(who, views[0].id, EnrolmentChanges(outcome="failed")),
        service.enrol(who, vault, cohort_id, [person()], as_list=False),
        cohort_service.update_cohort(who, cohort_id, {"capacity": 10}),
        cohort_service.cancel_cohort(who, cohort_id),
        cohort_service.close_cohort(who, cohort_id),
        cohort_service.open_cohort(who, cohort_id),
    ):
        with pytest.raises(Conflict) as frozen:
            await attempt
        assert frozen.value.code == "cohort_closed"
    assert (await service.list_enrolments(who, cohort_id, limit=10, offset=0, outcome="completed")).total == 1


async def test_bad_attendance_and_outcomes(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)  # 80 planned hours: at most 120
    [view] = await service.enrol(who, vault, cohort_id, [person()], as_list=False)
    for changes, field, code in [
        (EnrolmentChanges(Decimal("120.5")), "attended_hours", "out_of_range"),
        (EnrolmentChanges(Decimal(-1)), "attended_hours", "out_of_range"),
        (EnrolmentChanges(Decimal("1.25")), "attended_hours", "too_precise"),
        (EnrolmentChanges(Decimal("NaN")), "attended_hours", "invalid"),
        (EnrolmentChanges(outcome="graduated"), "outcome", "invalid_choice"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            await service.update_enrolment(who, view.id, changes)
        assert (field, code) in {(e.field, e.code) for e in info.value.errors}
    with pytest.raises(NotFound):
        await service.update_enrolment(who, uuid.uuid4(), EnrolmentChanges(outcome="completed"))


async def test_before_the_start_date_only_a_withdrawal(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who, running=False)
    [view] = await service.enrol(who, vault, cohort_id, [person()], as_list=False)
    for changes in (
        EnrolmentChanges(Decimal(2)),
        EnrolmentChanges(outcome="completed"),
        EnrolmentChanges(outcome="failed"),
    ):
        with pytest.raises(Conflict) as info:
            await service.update_enrolment(who, view.id, changes)
        assert info.value.code == "cohort_not_started"
    assert (
        await service.update_enrolment(who, view.id, EnrolmentChanges(outcome="withdrawn"))
    ).outcome == "withdrawn"


async def test_list_enrolments_is_masked_and_paginated(vault: Vault) -> None:
    who = acting_for(await new_institution())
    cohort_id = await cohort(who)
    numbers = [new_number() for _ in range(4)]
    await service.enrol(who, vault, cohort_id, [person(n) for n in numbers], as_list=True)
    page = await service.list_enrolments(who, cohort_id, limit=3, offset=0)
    rest = await service.list_enrolments(who, cohort_id, limit=3, offset=3)
    assert page.total == 4 and len(page.items) == 3 and len(rest.items) == 1
    shown = {v.id_masked for v in page.items + rest.items}
    assert shown == {n[:6] + "********" + n[-4:] for n in numbers}
    for bad in (
        {"limit": 501, "offset": 0},
        {"limit": 5, "offset": -1},
        {"limit": 5, "offset": 0, "outcome": "x"},
    ):
        with pytest.raises(ValidationFailed):
            await service.list_enrolments(who, cohort_id, **bad)
    async with in_transaction() as conn:
        _, rows = await conn.execute_query(
            "SELECT count(*) AS n FROM enrolment WHERE cohort_id = $1", [cohort_id]
        )
    assert rows[0]["n"] == 4
