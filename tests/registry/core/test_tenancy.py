"""The scopes of core/tenancy: the two forms of a cohort's scope agree: :func:`visible_cohorts` (the ORM's) and
:func:`visible_cohorts_sql` (the hottest read's plain SQL), for every kind of caller; and a
cohort read through plain SQL is the cohort the ORM reads."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from tortoise import connections

from api.training.cohorts import CohortRead
from registry.core.crypto import Vault
from registry.core.errors import NotFound
from registry.core.principal import Principal
from registry.core.tenancy import (
    BureauScope,
    bureau_scope,
    changeable_certificates,
    visible_certificates,
    visible_claims,
    visible_claims_sql,
    visible_cohorts,
    visible_cohorts_sql,
)
from registry.enums import CohortStatus, Role, SubsidyKind
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


async def test_the_claims_scope_in_sql_is_the_orm_scope_for_every_caller(vault: Vault) -> None:
    """Claims: :func:`visible_claims` and :func:`visible_claims_sql` agree for every kind of
    caller (issue 15, defect 12: the claims, notices and overview read this one scope)."""
    from registry.core.principal import system
    from registry.models.subsidy import SubsidyClaim
    from registry.subsidy import claims
    from registry.subsidy.service import load_shipped_policies
    from tests.factories import Trainee, claimable_cohort

    await load_shipped_policies(system("test"))
    here = await claimable_cohort(vault, [Trainee()])
    there = await claimable_cohort(vault, [Trainee()], institution=await new_institution("410302"))
    await Cohort.filter(id=there.cohort_id).update(division_id="410302")
    filed = [
        await claims.file_claim(here.owner, here.cohort_id, SubsidyKind.TRAINING),
        await claims.file_claim(here.assessor, here.cohort_id, SubsidyKind.ASSESSMENT),
        await claims.file_claim(there.owner, there.cohort_id, SubsidyKind.TRAINING),
    ]
    await SubsidyClaim.filter(id=filed[2].id).update(division_id="410302")
    ids = [c.id for c in filed]
    callers = [
        Principal(kind="user", id=uuid.uuid4(), role=Role.ADMIN),
        auditor(),
        auditor("410305"),
        auditor("410302"),
        auditor("410323"),
        here.owner,
        here.assessor,
        there.owner,
        acting_for(here.institution, Role.ASSESSOR),  # the institution's id as an assessor: not the claimant
        Principal(kind="user", id=uuid.uuid4(), role=Role.INSTITUTION),  # no institution: nothing
    ]
    conn = connections.get("default")
    seen = {}
    for caller in callers:
        orm = set(await visible_claims(caller).filter(id__in=ids).values_list("id", flat=True))
        clause, args = visible_claims_sql(caller)
        _, rows = await conn.execute_query(
            f"SELECT s.id FROM subsidy_claim s WHERE s.id = ANY($1::uuid[]) AND {clause.format(p='$2')}",
            [ids, *args],
        )
        assert {r["id"] for r in rows} == orm, caller
        seen[caller.role, caller.division_code, caller.institution_id] = orm
    assert seen[Role.AUDITOR, "410305", None] == {ids[0], ids[1]}
    assert seen[Role.AUDITOR, "410302", None] == {ids[2]}
    assert seen[Role.ASSESSOR, None, here.assessor_body.id] == {ids[1]}
    assert seen[Role.INSTITUTION, None, here.institution.id] == {ids[0]}


def test_the_bureau_scope_of_each_role() -> None:
    assert bureau_scope(Principal(kind="user", id=uuid.uuid4(), role=Role.ADMIN)) == BureauScope(None)
    assert bureau_scope(auditor()) == BureauScope(None)
    assert bureau_scope(auditor("410305")) == BureauScope("410305")
    for role in (Role.INSTITUTION, Role.ASSESSOR):
        assert (
            bureau_scope(Principal(kind="user", id=uuid.uuid4(), role=role, institution_id=uuid.uuid4()))
            is None
        )


async def test_a_county_auditor_changes_the_certificates_of_its_county_only(vault: Vault) -> None:
    from registry.models.certificate import Certificate
    from tests.factories import Trainee, claimable_cohort

    body = await new_institution("410302", kinds=["assessment"])
    cohort = await claimable_cohort(vault, [Trainee()], assessor_body=body)  # held in 410305
    [certificate] = await Certificate.filter(cohort_id=cohort.cohort_id).values_list("id", flat=True)
    for caller, sees, changes in (
        (auditor("410302"), True, False),  # the body's county: sees it, may not change it
        (auditor("410305"), True, True),  # the cohort's county
        (auditor(), True, True),
        (cohort.assessor, True, True),
        (auditor("410311"), False, False),
    ):
        assert await visible_certificates(caller).filter(id=certificate).exists() is sees, caller
        assert await changeable_certificates(caller).filter(id=certificate).exists() is changes, caller
