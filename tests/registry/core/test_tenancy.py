"""The two forms of a cohort's scope agree: :func:`visible_cohorts` (the ORM's) and
:func:`visible_cohorts_sql` (the hottest read's plain SQL), for every kind of caller; and a
cohort read through plain SQL is the cohort the ORM reads."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from tortoise import connections

from api.training.cohorts import CohortRead
from registry.core.errors import NotFound
from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts, visible_cohorts_sql
from registry.enums import CohortStatus, Role
from registry.models.training import Cohort
from registry.training import queries, service
from tests.factories import (
    acting_for,
    auditor,
    enrolment_row,
    ensure_catalogue,
    make_cohort,
    new_institution,
    person_row,
)


@pytest.fixture(autouse=True)
async def catalogue(database: None) -> None:
    await ensure_catalogue()


async def test_the_sql_scope_is_the_orm_scope_for_every_caller() -> None:
    mine, theirs = await new_institution(), await new_institution("410302")
    cohorts = [await make_cohort(mine), await make_cohort(mine), await make_cohort(theirs)]
    await Cohort.filter(id=cohorts[2].id).update(division_id="410302")
    ids = [c.id for c in cohorts]
    callers = [
        Principal(kind="user", id=uuid.uuid4(), role=Role.ADMIN),
        auditor(),
        auditor("410305"),
        auditor("410302"),
        auditor("410323"),
        acting_for(mine),
        acting_for(theirs),
        acting_for(mine, Role.ASSESSOR),
        Principal(kind="user", id=uuid.uuid4(), role=Role.INSTITUTION),  # no institution: nothing
    ]
    conn = connections.get("default")
    seen_by_any = set()
    for caller in callers:
        orm = set(await visible_cohorts(caller).filter(id__in=ids).values_list("id", flat=True))
        condition, args = visible_cohorts_sql(caller, alias="c", first=2)
        _, rows = await conn.execute_query(
            f"SELECT c.id FROM cohort c WHERE c.id = ANY($1::uuid[]) AND {condition}", [ids, *args]
        )
        assert {r["id"] for r in rows} == orm, caller
        seen_by_any |= orm
    assert seen_by_any == set(ids)  # the comparison saw something to compare


async def test_a_cohort_read_as_sql_is_the_cohort_the_orm_reads() -> None:
    """The single read (plain SQL, :func:`service.get_cohort`) answers exactly what the ORM's
    path (:func:`service.list_cohorts`, models) answers for the same cohort, whatever its
    state: a draft, an open one past its start date (effective ``running``), one with
    enrolments, one closed."""
    inst = await new_institution()
    who = acting_for(inst)
    cohorts = [
        await make_cohort(inst, status=CohortStatus.DRAFT),
        await make_cohort(inst, status=CohortStatus.OPEN),  # started 2025-03-01: running
        await make_cohort(inst, status=CohortStatus.CLOSED),
    ]
    await enrolment_row(cohorts[1], await person_row())
    await enrolment_row(cohorts[1], await person_row())
    listed = {
        v.cohort.id: CohortRead.of(v) for v in (await service.list_cohorts(who, limit=500, offset=0)).items
    }
    for cohort in cohorts:
        read = msgspec.convert(await service.get_cohort(who, cohort.id), CohortRead)
        assert read == listed[cohort.id]
    assert listed[cohorts[1].id].status == CohortStatus.RUNNING and listed[cohorts[1].id].enrolled == 2
    with pytest.raises(NotFound):
        await service.get_cohort(acting_for(await new_institution()), cohorts[0].id)
    assert await queries.visible_cohort(connections.get("default"), who, uuid.uuid4()) is None
