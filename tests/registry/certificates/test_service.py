from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from registry.certificates import service
from registry.certificates.service import CertificateInput, CertificateRow
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal, system
from registry.enums import CertificateStatus, Role
from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.institution import Institution
from registry.models.reference import Division, Occupation
from registry.models.training import Cohort, Enrolment, Trainee
from registry.people.queries import Person, id_index, upsert_people
from registry.people.rules.idnumber import validate
from tests import factories
from tests.factories import new_institution

ELECTRICIAN, WELDER, COOK, GROUP = "6-31-01-03", "6-18-02-04", "4-03-02-01", "6-29-02-00"


@pytest.fixture(scope="module")
async def reference(database: None) -> None:
    for code, name, kind in [
        ("410305", "涧西区", "district"),
        ("410302", "老城区", "district"),
        ("410323", "新安县", "county"),
    ]:
        await Division.get_or_create(code=code, defaults={"name": name, "kind": kind})
    for code, name, level in [
        (ELECTRICIAN, "电工", 4),
        (WELDER, "焊工", 4),
        (COOK, "中式烹调师", 4),
        (GROUP, "土木工程建筑施工人员", 3),
    ]:
        await Occupation.get_or_create(code=code, defaults={"name": name, "level": level})


def new_id_number(address: str = "410381") -> str:
    return factories.new_id_number(address)


def number() -> str:
    return f"T-{uuid.uuid4().hex[:16].upper()}"


async def body(kinds: list[str], division: str = "410305", status: str = "active") -> Institution:
    return await new_institution(division, kinds=kinds, status=status)


def principal(role: Role, institution: Institution | None = None, division: str | None = None) -> Principal:
    return Principal(
        kind="user",
        id=uuid.uuid4(),
        role=role,
        institution_id=institution.id if institution else None,
        division_code=division,
    )


async def assessor(division: str = "410305") -> Principal:
    return principal(Role.ASSESSOR, await body(["assessment"], division))


async def person(vault: Vault, name: str = "张小明") -> Trainee:
    p = Person(id=validate(new_id_number()), name=name)
    async with in_transaction() as conn:
        ids = await upsert_people(conn, vault, [p])
    return await Trainee.get(id=ids[id_index(vault, p.id.number)])


async def cohort(
    institution: Institution,
    trainees: list[Trainee],
    *,
    kind: str = "vocational",
    occupation: str | None = ELECTRICIAN,
    division: str = "410305",
    outcome: str = "completed",
    status: str = "closed",
) -> Cohort:
    c = await Cohort.create(
        institution=institution,
        reference=uuid.uuid4().hex[:12],
        kind=kind,
        occupation_id=occupation,
        division_id=division,
        planned_hours=80,
        start_date=dt.date(2025, 3, 1),
        end_date=dt.date(2025, 4, 30),
        capacity=50,
        status=status,
    )
    for t in trainees:
        await Enrolment.create(cohort=c, trainee=t, outcome=outcome)
    return c


def reach(vault: Vault, trainee: Trainee) -> dict[str, Any]:
    """The holder by ID number and name: how a body reaches a person it never certified."""
    from registry.people.queries import ID_CONTEXT

    return {"id_number": vault.decrypt(trainee.id_cipher, context=ID_CONTEXT), "name": trainee.name}


def cert_input(**overrides: Any) -> CertificateInput:
    values: dict[str, Any] = {
        "number": number(),
        "kind": "skill_level",
        "issue_date": dt.date(2025, 6, 1),
        "occupation_code": ELECTRICIAN,
        "level": 4,
    }
    values.update(overrides)
    return CertificateInput(**values)


def fields_of(exc: ValidationFailed | Conflict) -> set[str]:
    return {e.field for e in exc.errors}


pytestmark = pytest.mark.usefixtures("reference")


# --- issuing -----------------------------------------------------------------------------


async def test_issue_for_a_new_person_registers_them_and_audits_without_the_id_number(vault: Vault) -> None:
    who = await assessor()
    id_number = new_id_number()
    cert = await service.issue_certificate(who, vault, cert_input(id_number=id_number, name=" 王　芳 "))
    assert cert.status is CertificateStatus.VALID and cert.issuer.id == who.institution_id
    assert (
        cert.trainee.name == "王芳"
        and cert.occupation is not None
        and cert.occupation.name == "电工"
        and cert.level == 4
    )
    trainee = await Trainee.get(id_index=id_index(vault, id_number))
    assert trainee.id == cert.trainee.id
    events = await AuditEvent.filter(entity_type="certificate", entity_id=str(cert.id))
    assert [e.action for e in events] == ["certificate.issue"]
    assert events[0].actor == who.actor
    stored = json.dumps([events[0].before, events[0].after], ensure_ascii=False)
    assert id_number not in stored and id_number[-8:] not in stored and "王芳" not in stored
    assert events[0].after["number"] == cert.number and events[0].after["trainee"] == str(trainee.id)


async def test_issue_for_a_registered_person_by_number_then_by_id(vault: Vault) -> None:
    who = await assessor()
    trainee = await person(vault, "李四")
    # never certified by this body: not by trainee id (defect 4) ...
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(who, vault, cert_input(trainee_id=trainee.id))
    assert [(e.field, e.code) for e in caught.value.errors] == [("holder", "holder_not_found")]
    # ... but by ID number and name; the same name typed with padding is the same name
    from registry.people.queries import ID_CONTEXT

    raw = vault.decrypt(trainee.id_cipher, context=ID_CONTEXT)
    by_number = await service.issue_certificate(
        who,
        vault,
        cert_input(id_number=raw, name="李 四", kind="special_ability", level=None, occupation_code=COOK),
    )
    assert by_number.trainee.id == trainee.id
    by_id = await service.issue_certificate(who, vault, cert_input(trainee_id=trainee.id))
    assert by_id.trainee.id == trainee.id
    assert await Trainee.filter(id_index=trainee.id_index).count() == 1


async def test_a_registered_person_under_another_name_is_refused(vault: Vault) -> None:
    who = await assessor()
    trainee = await person(vault, "赵六")
    from registry.people.queries import ID_CONTEXT

    raw = vault.decrypt(trainee.id_cipher, context=ID_CONTEXT)
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(who, vault, cert_input(id_number=raw, name="赵七"))
    assert [(e.field, e.code) for e in caught.value.errors] == [("holder", "holder_not_found")]
    assert raw not in str(caught.value.errors) and raw not in caught.value.message
    await service.issue_certificate(who, vault, cert_input(id_number=raw, name="赵六"))
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(who, vault, cert_input(trainee_id=trainee.id, name="赵七"))
    assert fields_of(caught.value) == {"holder"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"number": "has space"}, "number"),
        ({"number": ""}, "number"),
        ({"number": "X" * 65}, "number"),
        ({"kind": "diploma"}, "kind"),
        ({"level": None}, "level"),
        ({"level": 6}, "level"),
        ({"kind": "special_ability", "level": 3}, "level"),
        ({"occupation_code": None}, "occupation_code"),
        ({"occupation_code": "9-99-99-99"}, "occupation_code"),
        ({"occupation_code": GROUP}, "occupation_code"),
        ({"occupation_code": "electrician"}, "occupation_code"),
        ({"kind": "startup", "level": None}, "occupation_code"),
        ({"is_renewal": True}, "is_renewal"),
        ({"issue_date": dt.date.today() + dt.timedelta(days=2)}, "issue_date"),
        ({"issue_date": dt.date(1999, 12, 31)}, "issue_date"),
        ({"cohort_id": uuid.uuid4()}, "holder"),
        ({"id_number": "410381199001011234"}, "id_number"),  # check digit
        ({"id_number": "41038119900101123"}, "id_number"),
        ({"id_number": None, "trainee_id": None}, "trainee_id"),
        ({"trainee_id": uuid.uuid4(), "id_number": None, "name": None}, "holder"),
        ({"name": None}, "name"),
        ({"name": "张3"}, "name"),
        ({"name": "X"}, "name"),
    ],
)
async def test_every_bad_field_is_named(vault: Vault, overrides: dict[str, Any], field: str) -> None:
    who = await assessor()
    before = await Certificate.all().count()
    people = await Trainee.all().count()
    data = {"id_number": new_id_number(), "name": "钱七"}
    data.update(overrides)
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(who, vault, cert_input(**data))
    assert field in fields_of(caught.value), caught.value.errors
    assert await Certificate.all().count() == before and await Trainee.all().count() == people


async def test_both_holder_forms_at_once_are_ambiguous(vault: Vault) -> None:
    who = await assessor()
    trainee = await person(vault)
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(
            who, vault, cert_input(trainee_id=trainee.id, id_number=new_id_number(), name="张三")
        )
    assert ("trainee_id", "ambiguous") in {(e.field, e.code) for e in caught.value.errors}


async def test_a_duplicate_number_is_a_conflict_and_registers_nobody(vault: Vault) -> None:
    who = await assessor()
    other = await assessor()
    data = cert_input(id_number=new_id_number(), name="孙八")
    await service.issue_certificate(who, vault, data)
    newcomer = new_id_number()
    with pytest.raises(Conflict) as caught:
        await service.issue_certificate(
            other, vault, cert_input(number=data.number, id_number=newcomer, name="周九")
        )
    assert caught.value.code == "duplicate_certificate" and fields_of(caught.value) == {"number"}
    assert not await Trainee.filter(id_index=id_index(vault, newcomer)).exists()


async def test_only_an_active_assessment_body_issues(vault: Vault) -> None:
    training = await body(["training"])
    suspended = await body(["assessment"], status="suspended")
    blacklisted = await body(["assessment"], status="blacklisted")
    refused = [
        principal(Role.ADMIN),
        principal(Role.AUDITOR),
        principal(Role.AUDITOR, division="410305"),
        principal(Role.INSTITUTION, training),
        principal(Role.ASSESSOR, training),
        principal(Role.ASSESSOR, suspended),
        principal(Role.ASSESSOR, blacklisted),
        principal(Role.ASSESSOR),  # no institution
    ]
    before = await Certificate.all().count()
    for who in refused:
        with pytest.raises(PermissionDenied):
            await service.issue_certificate(who, vault, cert_input(id_number=new_id_number(), name="吴十"))
    assert await Certificate.all().count() == before
    own = await assessor()
    with pytest.raises(PermissionDenied):
        await service.issue_certificate(
            own, vault, cert_input(id_number=new_id_number(), name="吴十", issuer_id=suspended.id)
        )


async def test_a_system_principal_names_the_issuer(vault: Vault) -> None:
    issuer = await body(["assessment"])
    cert = await service.issue_certificate(
        system("demo"), vault, cert_input(id_number=new_id_number(), name="郑一", issuer_id=issuer.id)
    )
    assert cert.issuer.id == issuer.id
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(
            system("demo"), vault, cert_input(id_number=new_id_number(), name="郑一")
        )
    assert fields_of(caught.value) == {"issuer_id"}
    training = await body(["training"])
    with pytest.raises(ValidationFailed) as caught:
        await service.issue_certificate(
            system("demo"), vault, cert_input(id_number=new_id_number(), name="郑一", issuer_id=training.id)
        )
    assert fields_of(caught.value) == {"issuer_id"}


async def test_cohort_links(vault: Vault) -> None:
    who = await assessor()
    provider = await body(["training"])
    enrolled, withdrawn, stranger = await person(vault), await person(vault), await person(vault)
    electricians = await cohort(provider, [enrolled])
    await Enrolment.create(cohort=electricians, trainee=withdrawn, outcome="withdrawn")
    startup = await cohort(provider, [enrolled], kind="startup", occupation=None)

    cert = await service.issue_certificate(
        who, vault, cert_input(**reach(vault, enrolled), cohort_id=electricians.id)
    )
    assert cert.cohort_id == electricians.id  # type: ignore[attr-defined]
    await service.issue_certificate(
        who,
        vault,
        cert_input(
            trainee_id=enrolled.id, cohort_id=startup.id, kind="startup", level=None, occupation_code=None
        ),
    )
    cases = [
        (cert_input(**reach(vault, stranger), cohort_id=electricians.id), ("holder", "holder_not_found")),
        (cert_input(**reach(vault, withdrawn), cohort_id=electricians.id), ("cohort_id", "withdrawn")),
        (
            cert_input(trainee_id=enrolled.id, cohort_id=electricians.id, occupation_code=WELDER),
            ("occupation_code", "cohort_occupation"),
        ),
        (cert_input(trainee_id=enrolled.id, cohort_id=startup.id), ("kind", "cohort_kind")),
        (
            cert_input(trainee_id=enrolled.id, cohort_id=electricians.id, issue_date=dt.date(2025, 1, 1)),
            ("issue_date", "before_cohort"),
        ),
        # a person not yet registered cannot have been enrolled
        (
            cert_input(id_number=new_id_number(), name="冯二", cohort_id=electricians.id),
            ("holder", "holder_not_found"),
        ),
    ]
    for data, expected in cases:
        with pytest.raises(ValidationFailed) as caught:
            await service.issue_certificate(who, vault, data)
        assert expected in {(e.field, e.code) for e in caught.value.errors}, caught.value.errors


async def test_no_certificate_for_a_failed_or_withdrawn_enrolment(vault: Vault) -> None:
    """Defect 7, the single path: a cohort-linked certificate needs an enrolment that did
    not fail or withdraw; a completion certificate one that completed."""
    who = await assessor()
    provider = await body(["training"])
    failed, withdrawn, training, done = [await person(vault) for _ in range(4)]
    c = await cohort(provider, [done])
    for t, outcome in ((failed, "failed"), (withdrawn, "withdrawn"), (training, "in_progress")):
        await Enrolment.create(cohort=c, trainee=t, outcome=outcome)
    before = await Certificate.all().count()
    cases = [
        (cert_input(trainee_id=failed.id, cohort_id=c.id), ("cohort_id", "failed")),
        (cert_input(trainee_id=withdrawn.id, cohort_id=c.id), ("cohort_id", "withdrawn")),
        (
            cert_input(trainee_id=failed.id, cohort_id=c.id, kind="completion", level=None),
            ("cohort_id", "failed"),
        ),
        (
            cert_input(trainee_id=training.id, cohort_id=c.id, kind="completion", level=None),
            ("cohort_id", "not_completed"),
        ),
    ]
    for data, expected in cases:
        with pytest.raises(ValidationFailed) as caught:
            await service.issue_certificate(
                system("test"), vault, dataclasses.replace(data, issuer_id=who.institution_id)
            )
        assert [(e.field, e.code) for e in caught.value.errors] == [expected], caught.value.errors
    assert await Certificate.all().count() == before
    # still in training: a skill certificate is fine (assessed before the outcome is recorded)
    ok = await service.issue_certificate(
        system("test"),
        vault,
        cert_input(trainee_id=training.id, cohort_id=c.id, issuer_id=who.institution_id),
    )
    assert ok.cohort_id == c.id  # type: ignore[attr-defined]
    done_cert = await service.issue_certificate(
        system("test"),
        vault,
        cert_input(
            trainee_id=done.id, cohort_id=c.id, kind="completion", level=None, issuer_id=who.institution_id
        ),
    )
    assert done_cert.kind.value == "completion"


async def test_bulk_refuses_failed_and_withdrawn_enrolments(vault: Vault) -> None:
    """Defect 7, the bulk path: the same rule, row by row."""
    issuer = await body(["assessment"])
    provider = await body(["training"])
    failed, withdrawn, training, done = await bulk_people(vault, 4)
    c = await cohort(provider, [])
    for t, outcome in (
        (failed, "failed"),
        (withdrawn, "withdrawn"),
        (training, "in_progress"),
        (done, "completed"),
    ):
        await Enrolment.create(cohort_id=c.id, trainee_id=t, outcome=outcome)
    prefix = uuid.uuid4().hex[:8].upper()

    def row(i: int, trainee: uuid.UUID, kind: str = "skill_level") -> CertificateRow:
        return CertificateRow(
            number=f"F{prefix}-{i}",
            trainee_id=trainee,
            kind=kind,
            issuer_id=issuer.id,
            issue_date=dt.date(2025, 6, 1),
            occupation_code=ELECTRICIAN,
            level=3 if kind == "skill_level" else None,
            cohort_id=c.id,
        )

    rows = [
        row(0, done),
        row(1, failed),
        row(2, withdrawn),
        row(3, training, "completion"),
        row(4, training),
        row(5, done, "completion"),
    ]
    async with in_transaction() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await service.issue_certificates_bulk(conn, rows)
    assert {(e.row, e.field, e.code) for e in caught.value.errors} == {
        (1, "cohort_id", "failed"),
        (2, "cohort_id", "withdrawn"),
        (3, "cohort_id", "not_completed"),
    }
    assert not await Certificate.filter(number__startswith=f"F{prefix}-").exists()
    async with in_transaction() as conn:
        assert await service.issue_certificates_bulk(conn, [rows[0], rows[4], rows[5]]) == 3


# --- status ------------------------------------------------------------------------------


async def test_suspend_reinstate_revoke_with_audit_events(vault: Vault) -> None:
    who = await assessor()
    cert = await service.issue_certificate(who, vault, cert_input(id_number=new_id_number(), name="陈三"))
    suspended = await service.change_status(who, cert.number, "suspend", "  资料待核实  ")
    assert suspended.status is CertificateStatus.SUSPENDED and suspended.status_reason == "资料待核实"
    with pytest.raises(Conflict) as caught:
        await service.change_status(who, cert.number, "suspend", "again")
    assert caught.value.code == "certificate_suspended"
    reinstated = await service.change_status(who, cert.number, "reinstate", "核实无误")
    assert reinstated.status is CertificateStatus.VALID
    with pytest.raises(Conflict):
        await service.change_status(who, cert.number, "reinstate", "not suspended")
    revoked = await service.change_status(who, cert.number, "revoke", "考核作弊")
    assert revoked.status is CertificateStatus.REVOKED
    for action in ("revoke", "suspend", "reinstate"):
        with pytest.raises(Conflict) as caught:
            await service.change_status(who, cert.number, action, "no")
        assert caught.value.code == "certificate_revoked"
    events = await AuditEvent.filter(entity_type="certificate", entity_id=str(cert.id)).order_by("id")
    assert [e.action for e in events] == [
        "certificate.issue",
        "certificate.suspend",
        "certificate.reinstate",
        "certificate.revoke",
    ]
    assert events[1].before == {"status": "valid", "status_reason": ""}
    assert events[1].after == {"status": "suspended", "status_reason": "资料待核实"}
    assert events[3].before["status"] == "valid" and events[3].after["status"] == "revoked"


async def test_a_bureau_suspension_is_lifted_only_by_the_bureau(vault: Vault) -> None:
    body_ = await assessor()
    cert = await service.issue_certificate(body_, vault, cert_input(id_number=new_id_number(), name="陈四"))
    bureau = principal(Role.AUDITOR)
    await service.change_status(bureau, cert.number, "suspend", "举报核查中")
    with pytest.raises(PermissionDenied) as caught:
        await service.change_status(body_, cert.number, "reinstate", "we checked it")
    assert caught.value.code == "bureau_suspension"
    assert (
        await service.change_status(bureau, cert.number, "reinstate", "核查无误")
    ).status is CertificateStatus.VALID
    # A suspension by the body itself is the body's to lift.
    await service.change_status(body_, cert.number, "suspend", "资料待核实")
    assert (
        await service.change_status(body_, cert.number, "reinstate", "核实无误")
    ).status is CertificateStatus.VALID


async def test_a_reason_is_required(vault: Vault) -> None:
    who = await assessor()
    cert = await service.issue_certificate(who, vault, cert_input(id_number=new_id_number(), name="褚四"))
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ValidationFailed) as caught:
            await service.change_status(who, cert.number, "revoke", reason)
        assert fields_of(caught.value) == {"reason"}
    assert (await Certificate.get(id=cert.id)).status is CertificateStatus.VALID


async def test_tenancy_of_reads_and_changes(vault: Vault) -> None:
    a, b = await assessor("410305"), await assessor("410302")
    provider_a = await body(["training"], "410305")
    provider_b = await body(["training"], "410323")
    holder = await person(vault)
    held_in_xinan = await cohort(provider_b, [holder], division="410323")
    plain = await service.issue_certificate(a, vault, cert_input(id_number=new_id_number(), name="卫五"))
    linked = await service.issue_certificate(
        b, vault, cert_input(**reach(vault, holder), cohort_id=held_in_xinan.id)
    )

    # another assessment body: not found, for reads and every change
    for action in ("suspend", "revoke", "reinstate"):
        with pytest.raises(NotFound):
            await service.change_status(b, plain.number, action, "not mine")
    with pytest.raises(NotFound):
        await service.get_certificate(b, plain.number)
    assert (await service.get_certificate(a, plain.number)).id == plain.id

    # an institution sees the certificates of its cohorts, and may not change them
    inst_b, inst_a = principal(Role.INSTITUTION, provider_b), principal(Role.INSTITUTION, provider_a)
    assert (await service.get_certificate(inst_b, linked.number)).id == linked.id
    with pytest.raises(NotFound):
        await service.get_certificate(inst_b, plain.number)
    with pytest.raises(NotFound):
        await service.get_certificate(inst_a, linked.number)
    with pytest.raises(PermissionDenied):
        await service.change_status(inst_b, linked.number, "revoke", "not ours to revoke")
    with pytest.raises(NotFound):
        await service.change_status(inst_a, linked.number, "revoke", "not ours at all")

    # a county auditor: its division only (the issuer's or the cohort's); the city auditor all
    jianxi, xinan, laocheng = (principal(Role.AUDITOR, division=d) for d in ("410305", "410323", "410302"))
    assert (await service.get_certificate(jianxi, plain.number)).id == plain.id
    with pytest.raises(NotFound):
        await service.get_certificate(jianxi, linked.number)
    assert (await service.get_certificate(xinan, linked.number)).id == linked.id
    assert (await service.get_certificate(laocheng, linked.number)).id == linked.id  # issuer is in 410302
    with pytest.raises(NotFound):
        await service.get_certificate(xinan, plain.number)
    with pytest.raises(NotFound):
        await service.change_status(xinan, plain.number, "suspend", "out of scope")
    suspended = await service.change_status(jianxi, plain.number, "suspend", "县区核查")
    assert suspended.status is CertificateStatus.SUSPENDED
    city = principal(Role.AUDITOR)
    assert (await service.get_certificate(city, linked.number)).id == linked.id
    revoked = await service.change_status(principal(Role.ADMIN), linked.number, "revoke", "管理员撤销")
    assert revoked.status is CertificateStatus.REVOKED


async def test_lists_are_scoped_filtered_and_paged(vault: Vault) -> None:
    a, b = await assessor(), await assessor()
    mine = [
        await service.issue_certificate(
            a, vault, cert_input(id_number=new_id_number(), name="蒋六", issue_date=dt.date(2025, 5, d))
        )
        for d in (1, 2, 3)
    ]
    await service.issue_certificate(
        a, vault, cert_input(id_number=new_id_number(), name="沈七", kind="completion", level=None)
    )
    await service.issue_certificate(b, vault, cert_input(id_number=new_id_number(), name="韩八"))
    page = await service.list_certificates(a, limit=2, offset=0)
    assert page.total == 4 and len(page.items) == 2
    assert all(c.issuer.id == a.institution_id for c in page.items)
    skill = await service.list_certificates(
        a, limit=50, offset=0, kind="skill_level", issued_to=dt.date(2025, 5, 2)
    )
    assert [c.number for c in skill.items] == [mine[1].number, mine[0].number]
    await service.change_status(a, mine[2].number, "suspend", "暂停")
    suspended = await service.list_certificates(a, limit=50, offset=0, status="suspended")
    assert [c.number for c in suspended.items] == [mine[2].number]
    with pytest.raises(ValidationFailed):
        await service.list_certificates(a, limit=0, offset=0)
    with pytest.raises(ValidationFailed) as caught:
        await service.list_certificates(
            a, limit=10, offset=0, issued_from=dt.date(2025, 2, 1), issued_to=dt.date(2025, 1, 1)
        )
    assert fields_of(caught.value) == {"issued_from"}


# --- bulk --------------------------------------------------------------------------------


async def bulk_people(vault: Vault, n: int) -> list[uuid.UUID]:
    people = [Person(id=validate(new_id_number()), name=f"批量{'甲乙丙丁'[i % 4]}") for i in range(n)]
    async with in_transaction() as conn:
        ids = await upsert_people(conn, vault, people)
    return [ids[id_index(vault, p.id.number)] for p in people]


async def test_bulk_issues_many_in_one_statement(vault: Vault) -> None:
    issuer = await body(["assessment"])
    provider = await body(["training"])
    trainees = await bulk_people(vault, 300)
    enrolled = await Trainee.filter(id__in=trainees[:5])
    electricians = await cohort(provider, enrolled)
    prefix = uuid.uuid4().hex[:8].upper()
    kinds = ["skill_level", "special_ability", "special_operation", "completion", "startup"]
    rows = []
    for i, t in enumerate(trainees):
        kind = kinds[i % 5]
        rows.append(
            CertificateRow(
                number=f"B{prefix}-{i:05d}",
                trainee_id=t,
                kind=kind,
                issuer_id=issuer.id,
                issue_date=dt.date(2025, 6, 1),
                occupation_code=None
                if kind == "startup"
                else (COOK if kind == "special_ability" else ELECTRICIAN),
                level=(i % 5) + 1 if kind == "skill_level" else None,
                is_renewal=kind == "special_operation" and i % 2 == 0,
                direct_recognition=i % 7 == 0,
                cohort_id=electricians.id if i in (0, 2, 3) else None,
            )
        )
    async with in_transaction() as conn:
        count = await service.issue_certificates_bulk(conn, rows, actor="system:test")
    assert count == 300
    stored = await Certificate.filter(number__startswith=f"B{prefix}-").order_by("number")
    assert len(stored) == 300
    assert (
        stored[0].level == 1
        and stored[0].kind.value == "skill_level"
        and stored[0].cohort_id == electricians.id
    )  # type: ignore[attr-defined]
    assert stored[4].kind.value == "startup" and stored[4].occupation_id is None  # type: ignore[attr-defined]
    assert stored[2].is_renewal and stored[0].direct_recognition
    assert all(c.status is CertificateStatus.VALID and c.issuer_id == issuer.id for c in stored)  # type: ignore[attr-defined]
    found = await service.verify_certificate(f"B{prefix}-00001")
    assert found is not None and found.holder_name == "批**"
    assert await AuditEvent.filter(action="certificate.issue_bulk", actor="system:test").exists()


async def test_bulk_applies_the_same_rules_all_or_nothing(vault: Vault) -> None:
    issuer = await body(["assessment"])
    suspended = await body(["assessment"], status="suspended")
    trainees = await bulk_people(vault, 6)
    prefix = uuid.uuid4().hex[:8].upper()

    def row(i: int, **overrides: Any) -> CertificateRow:
        values: dict[str, Any] = {
            "number": f"E{prefix}-{i}",
            "trainee_id": trainees[i],
            "kind": "skill_level",
            "issuer_id": issuer.id,
            "issue_date": dt.date(2025, 6, 1),
            "occupation_code": ELECTRICIAN,
            "level": 3,
        }
        values.update(overrides)
        return CertificateRow(**values)

    rows = [
        row(0),
        row(1, level=7),
        row(2, occupation_code=GROUP),
        row(3, trainee_id=uuid.uuid4()),
        row(4, issuer_id=suspended.id),
        row(5, number="bad number", cohort_id=uuid.uuid4()),
    ]
    async with in_transaction() as conn:
        with pytest.raises(ValidationFailed) as caught:
            await service.issue_certificates_bulk(conn, rows)
    got = {(e.row, e.field, e.code) for e in caught.value.errors}
    assert got == {
        (1, "level", "out_of_range"),
        (2, "occupation_code", "not_an_occupation"),
        (3, "holder", "holder_not_found"),
        (4, "issuer", "issuer_not_active"),
        (5, "number", "number_format"),
        (5, "holder", "holder_not_found"),
    }
    assert not await Certificate.filter(number__startswith=f"E{prefix}-").exists()

    async with in_transaction() as conn:
        assert await service.issue_certificates_bulk(conn, [row(0)]) == 1
    async with in_transaction() as conn:
        with pytest.raises(Conflict) as conflict:
            await service.issue_certificates_bulk(conn, [row(1), row(0), row(2, number=f"E{prefix}-1")])
    assert {(e.row, e.field) for e in conflict.value.errors} == {(1, "number"), (2, "number")}
    assert await Certificate.filter(number__startswith=f"E{prefix}-").count() == 1
    async with in_transaction() as conn:
        assert await service.issue_certificates_bulk(conn, []) == 0


# --- verification ------------------------------------------------------------------------


async def test_verification_reveals_only_public_facts(vault: Vault) -> None:
    who = await assessor()
    cert = await service.issue_certificate(
        who, vault, cert_input(id_number=new_id_number(), name="欧阳娜娜", level=2)
    )
    found = await service.verify_certificate(cert.number)
    assert found is not None
    assert found.holder_name == "欧***" and found.occupation_name == "电工" and found.level == 2
    assert (
        found.issuer_name == cert.issuer.name and found.is_valid and found.issue_date == dt.date(2025, 6, 1)
    )
    assert set(vars(found)) == {
        "number",
        "status",
        "kind",
        "holder_name",
        "occupation_code",
        "occupation_name",
        "level",
        "issuer_name",
        "issue_date",
    }
    await service.change_status(who, cert.number, "revoke", "撤销")
    revoked = await service.verify_certificate(cert.number)
    assert revoked is not None and revoked.status == "revoked" and not revoked.is_valid
    for miss in ("NOPE-" + uuid.uuid4().hex, "", "bad number", "x" * 65, "' OR 1=1 --"):
        assert await service.verify_certificate(miss) is None


async def test_numbers_stored_before_0007_that_are_id_numbers_are_sealed(vault: Vault) -> None:
    """Defect 6, existing rows: ``registry seal-certificate-numbers`` encrypts, indexes and
    masks a number that is an ID number and clears it; other numbers are left alone."""
    issuer = await body(["assessment"])
    holder = await person(vault, "孔明")
    raw = reach(vault, holder)["id_number"]
    legacy = raw[:-1] + raw[-1].lower()
    old = await Certificate.create(
        number=legacy,
        trainee=holder,
        kind="special_operation",
        occupation_id=ELECTRICIAN,
        issuer=issuer,
        issue_date=dt.date(2024, 6, 1),
    )
    plain = await Certificate.create(
        number=number(), trainee=holder, kind="completion", issuer=issuer, issue_date=dt.date(2024, 6, 1)
    )
    with pytest.raises(PermissionDenied):
        await service.seal_personal_numbers(principal(Role.AUDITOR), vault)
    assert await service.seal_personal_numbers(system("test"), vault, batch_size=1) >= 1
    sealed = await Certificate.get(id=old.id)
    assert sealed.number is None and sealed.number_masked == raw[:6] + "********" + raw[-4:]
    assert sealed.number_cipher is not None
    assert vault.decrypt(sealed.number_cipher, context=service.NUMBER_CONTEXT) == raw.upper()
    assert (await Certificate.get(id=plain.id)).number == plain.number
    found = await service.verify_with_holder(vault, legacy, "孔明")
    assert found is not None and found.number == sealed.number_masked
    assert await service.seal_personal_numbers(system("test"), vault) == 0
    event = await AuditEvent.filter(action="certificate.seal_numbers").order_by("-id").first()
    assert (
        event is not None
        and raw not in json.dumps(event.after)
        and raw.upper() not in json.dumps(event.after)
    )
