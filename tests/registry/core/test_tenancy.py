"""The two forms of a cohort's scope agree: :func:`visible_cohorts` (the ORM's) and
:func:`visible_cohorts_sql` (the hottest read's plain SQL), for every kind of caller; and the
cohort read through the SQL form is the cohort the ORM reads."""

from __future__ import annotations

import uuid

import pytest
from tortoise import connections

from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts, visible_cohorts_sql
from registry.enums import Role
from registry.models.training import Cohort
from registry.training import queries, service
from tests.factories import acting_for, auditor, ensure_catalogue, make_cohort, new_institution


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


async def test_the_cohort_read_as_sql_is_the_orm_cohort() -> None:
    inst = await new_institution()
    cohort = await make_cohort(inst)
    found = await queries.visible_cohort(connections.get("default"), acting_for(inst), cohort.id)
    assert found is not None
    read, enrolled = found
    stored = await Cohort.get(id=cohort.id)
    fields = stored._meta.db_fields
    assert {f: getattr(read, f) for f in stored._meta.fields_map if f in fields or f.endswith("_id")} == {
        f: getattr(stored, f) for f in stored._meta.fields_map if f in fields or f.endswith("_id")
    }
    assert enrolled == 0
    view = await service.get_cohort(acting_for(inst), cohort.id)
    assert view.cohort.id == cohort.id and view.enrolled == 0
    assert (
        await queries.visible_cohort(
            connections.get("default"), acting_for(await new_institution()), cohort.id
        )
        is None
    )
