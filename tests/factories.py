"""The one home of the test factories: institutions, principals, ID numbers, roster files.

Test modules import what they need from here (never from another test module); the
catalogue fixtures built on :func:`ensure_divisions` live in ``tests/conftest.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import random
import uuid
import zipfile
from typing import Any

from openpyxl import Workbook
from stdnum.cn import uscc as uscc_std

from registry.accounts.institutions import InstitutionInput, create_institution
from registry.core.clock import business_today
from registry.core.principal import Principal, system
from registry.enums import CohortKind, CohortStatus, Role
from registry.models.institution import Institution
from registry.models.reference import Division, Occupation
from registry.models.training import Cohort
from registry.people.rules.idnumber import make_number
from registry.training import service as cohorts
from registry.training.service import CohortInput

TODAY = business_today()
YEARS = sorted({2025, TODAY.year - 1, TODAY.year, TODAY.year + 1})
"""The years a test institution is approved for (the demo year and the years around today)."""

DIVISIONS = (
    ("410305", "涧西区", "district"),
    ("410302", "老城区", "district"),
    ("410323", "新安县", "county"),
)
"""Enough of the catalogue's divisions for most tests (``registry load-reference`` loads all)."""

_people = itertools.count(random.randrange(1_000_000))
_institutions = itertools.count(1)
_EARLIEST_BIRTH = dt.date(1965, 1, 1)


_WORKING_AGE_BIRTH = dt.date(1988, 1, 1)


def new_id_number(address: str = "410305", *, working_age: bool = False) -> str:
    """A valid ID number no other call in this run returns (distinct birth date and sequence).
    Born in the late 1960s (around 60 today), or with ``working_age`` in the late 1980s
    (the two ranges never meet within a run)."""
    n = next(_people)
    earliest = _WORKING_AGE_BIRTH if working_age else _EARLIEST_BIRTH
    birth = earliest + dt.timedelta(days=(n // 1000) % 5000)
    return make_number(address, birth, n % 1000)


def make_uscc() -> str:
    """A fresh valid unified social credit code."""
    body = f"914103{uuid.uuid4().int % 10**9:09d}MA"[:17]
    body = body[:8] + f"{uuid.uuid4().int % 10**9:09d}"
    return body + uscc_std.calc_check_digit(body + "0")


async def ensure_divisions() -> None:
    for code, name, kind in DIVISIONS:
        await Division.get_or_create(code=code, defaults={"name": name, "kind": kind})


async def new_institution(
    division: str = "410305",
    *,
    kinds: list[str] | None = None,
    years: list[int] | None = None,
    status: str = "active",
) -> Institution:
    """An institution made through the service (a training institution unless ``kinds``)."""
    return await create_institution(
        system("test"),
        InstitutionInput(
            uscc=make_uscc(),
            name=f"测试机构{next(_institutions)}",
            division_code=division,
            kinds=kinds or ["training"],
            approved_years=YEARS if years is None else years,
            status=status,
        ),
    )


def acting_for(inst: Institution, role: Role = Role.INSTITUTION) -> Principal:
    """A signed-in user of the institution (or, with ``role``, of the assessment body)."""
    return Principal(kind="user", id=uuid.uuid4(), role=role, institution_id=inst.id)


def auditor(division: str | None = None) -> Principal:
    """A bureau auditor: the city, or a county's (``division``)."""
    return Principal(kind="user", id=uuid.uuid4(), role=Role.AUDITOR, division_code=division)


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    lines = [",".join("" if c is None else str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


OCCUPATION = "4-02-04-06"
"""无人机驾驶员, a level-4 occupation of the 2022 classification (the test cohorts' trade)."""


async def ensure_catalogue() -> None:
    """The divisions and the occupation the factories' cohorts use."""
    await ensure_divisions()
    await Occupation.get_or_create(code=OCCUPATION, defaults={"name": "无人机驾驶员", "level": 4})


async def new_cohort(
    who: Principal, *, running: bool = True, open_it: bool = True, **overrides: Any
) -> uuid.UUID:
    """A vocational cohort made (and opened) through the service: started three days ago
    (``running``) or starting in twenty days."""
    start = TODAY - dt.timedelta(days=3) if running else TODAY + dt.timedelta(days=20)
    data = CohortInput(
        reference=f"EN-{uuid.uuid4().hex[:8]}",
        kind="vocational",
        division_code="410305",
        planned_hours=80,
        start_date=start,
        end_date=start + dt.timedelta(days=60),
        capacity=5,
        occupation_code=OCCUPATION,
        certificate_kind="skill_level",
        certificate_level=5,
    )
    view, _ = await cohorts.create_cohort(who, dataclasses.replace(data, **overrides))
    if open_it:
        await cohorts.open_cohort(who, view.cohort.id)
    return view.cohort.id


async def make_cohort(
    institution: Institution, *, capacity: int = 100, status: CohortStatus = CohortStatus.OPEN
) -> Cohort:
    """A cohort row written directly, in any status (no workflow): for tests of what reads it."""
    return await Cohort.create(
        institution=institution,
        reference=f"R-{uuid.uuid4().hex[:10]}",
        name="电工培训班",
        kind=CohortKind.VOCATIONAL,
        division_id="410305",
        planned_hours=80,
        start_date=dt.date(2025, 3, 1),
        end_date=dt.date(2025, 4, 30),
        capacity=capacity,
        status=status,
    )


SHEET = "xl/worksheets/sheet1.xml"
"""The first worksheet's part in an XLSX archive."""


def small_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheet(xml_body: bytes | None = None, *, repeat: int = 0, chunk: bytes = b"<row/>") -> bytes:
    """The small workbook with its first sheet replaced by ``chunk`` * ``repeat`` (streamed)."""
    source = zipfile.ZipFile(io.BytesIO(small_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info))
                continue
            with target.open(SHEET, "w", force_zip64=True) as member:
                member.write(b'<?xml version="1.0"?><worksheet><sheetData>')
                if xml_body is not None:
                    member.write(xml_body)
                block = chunk * 100_000
                for _ in range(repeat // 100_000):
                    member.write(block)
                member.write(b"</sheetData></worksheet>")
    return out.getvalue()


# --- claims ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Trainee:
    """One person of a claimable cohort: attendance, outcome, a certificate or not, a phone."""

    hours: int = 80
    outcome: str = "completed"
    certified: bool = True
    phone: str | None = None
    id_number: str | None = None


@dataclasses.dataclass(frozen=True)
class ClaimableCohort:
    cohort_id: uuid.UUID
    institution: Institution
    assessor_body: Institution
    owner: Principal
    assessor: Principal
    enrolment_ids: list[uuid.UUID]
    trainee_ids: list[uuid.UUID]


async def claimable_cohort(
    vault: Any,
    people: list[Trainee],
    *,
    institution: Institution | None = None,
    assessor_body: Institution | None = None,
    close: bool = True,
    **overrides: Any,
) -> ClaimableCohort:
    """A vocational cohort (无人机驾驶员, skill level 5, 80 hours, started three days ago) run
    through the services: the people enrolled, their hours and outcomes recorded, the cohort
    closed (unless ``close=False``), and a level-5 certificate issued today by an assessment
    body for the cohort to each person ``certified`` (of the cohort's kind and level where
    ``overrides`` name them: ``certificate_kind="special_ability", certificate_level=None``)."""
    from decimal import Decimal

    from registry.certificates.service import CertificateInput, issue_certificate
    from registry.training.enrolments import EnrolmentChanges, enrol, update_enrolment
    from registry.training.rules import EnrolmentRequest

    await ensure_catalogue()
    institution = institution or await new_institution()
    assessor_body = assessor_body or await new_institution(kinds=["assessment"])
    owner = acting_for(institution)
    assessor = acting_for(assessor_body, Role.ASSESSOR)
    cohort_id = await new_cohort(owner, capacity=max(5, len(people)), **overrides)
    requests = [
        EnrolmentRequest(
            id_number=p.id_number or new_id_number(working_age=True),
            name="张" + "伟芳娜敏静丽强磊军洋"[i % 10],
            phone=p.phone,
        )
        for i, p in enumerate(people)
    ]
    views = await enrol(owner, vault, cohort_id, requests, as_list=True)
    for person, view in zip(people, views, strict=True):
        await update_enrolment(
            owner, view.id, EnrolmentChanges(attended_hours=Decimal(person.hours), outcome=person.outcome)
        )
    if close:
        await cohorts.close_cohort(owner, cohort_id)
    for person, request in zip(people, requests, strict=True):
        if person.certified:
            await issue_certificate(
                assessor,
                vault,
                CertificateInput(
                    number=f"CERT{uuid.uuid4().hex[:12].upper()}",
                    kind=overrides.get("certificate_kind", "skill_level"),
                    issue_date=TODAY,
                    occupation_code=overrides.get("occupation_code", OCCUPATION),
                    level=overrides.get("certificate_level", 5),
                    id_number=request.id_number,
                    name=request.name,
                    cohort_id=cohort_id,
                ),
            )
    return ClaimableCohort(
        cohort_id=cohort_id,
        institution=institution,
        assessor_body=assessor_body,
        owner=owner,
        assessor=assessor,
        enrolment_ids=[view.id for view in views],
        trainee_ids=[view.trainee_id for view in views],
    )


async def computed_line_ids(vault: Any, count: int = 1) -> list[uuid.UUID]:
    """The ids of ``count`` lines of a computed training claim (for ledger rows that name
    the line they were granted on)."""
    from registry.models.subsidy import SubsidyLine
    from registry.subsidy import claims
    from registry.subsidy.service import load_shipped_policies

    await ensure_catalogue()
    await load_shipped_policies(system("test"))
    cohort = await claimable_cohort(vault, [Trainee() for _ in range(count)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await claims.compute_claim(filed.id, vault=vault)
    return [line.id for line in await SubsidyLine.filter(claim_id=filed.id).order_by("seq")]


async def noticed_claim(
    vault: Any,
    people: list[Trainee],
    *,
    published_on: dt.date,
    institution: Institution | None = None,
    auditor_division: str | None = None,
    **overrides: Any,
) -> tuple[uuid.UUID, uuid.UUID, ClaimableCohort]:
    """A claimable cohort's training claim filed, computed, decided (clean lines approved,
    review lines approved with a reason, blocked ones rejected) and noticed on
    ``published_on``: (claim id, notice id, cohort). The calendar must be seeded."""
    from registry.models.subsidy import SubsidyClaim, SubsidyLine
    from registry.notices import service as notices
    from registry.subsidy import claims, decisions
    from registry.subsidy.rules import Decision, DecisionRequest
    from registry.subsidy.service import load_shipped_policies

    await load_shipped_policies(system("test"))
    cohort = await claimable_cohort(vault, people, institution=institution, **overrides)
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    # With its outbox id, so that no unsent job is left for a test worker's relay.
    job = (await SubsidyClaim.get(id=filed.id)).outbox_id
    await claims.compute_claim(filed.id, vault=vault, outbox_id=job)
    lines = await SubsidyLine.filter(claim_id=filed.id)
    requests = [
        DecisionRequest(
            line.id,
            Decision.REJECTED if line.outcome == "blocked" else Decision.APPROVED,
            "" if line.outcome == "clean" else "checked by the auditor",
        )
        for line in lines
    ]
    checker = auditor(auditor_division)
    await decisions.decide(checker, filed.id, decisions.DecisionBatch(lines=requests))
    notice = await notices.publish_notice(checker, filed.id, today=published_on)
    return filed.id, notice.id, cohort


# --- policy simulations (what-if of a draft policy) ------------------------------------------
# Helpers for tests/registry/subsidy/test_simulations.py, tests/api/subsidy/test_simulations.py
# and tests/workers/test_simulate.py.

SHIPPED_POLICY = "henan-2022"


def draft_policy(code: str = "draft-uplift-50", uplift_percent: int = 50) -> dict[str, Any]:
    """The shipped henan-2022 document as JSON values (what ``POST /policies/simulate`` takes
    as ``draft``), under its own code, with the priority-trade uplift at ``uplift_percent``."""
    from registry import catalogue
    from registry.subsidy.policy import document_of, parse_policy

    text = (catalogue.POLICIES_DIR / f"{SHIPPED_POLICY}.yaml").read_text(encoding="utf-8")
    document = document_of(parse_policy(text, SHIPPED_POLICY))
    document["code"] = code
    for uplift in document["uplifts"]:
        if uplift["code"] == "PRIORITY_TRADE":
            uplift["percent"] = uplift_percent
    return document


async def ensure_priority_reference() -> None:
    """The whole shipped catalogue and policies (``registry load-reference``): the reference
    priority list (from 2025-01-01) puts the test cohorts' trade, 无人机驾驶员, on it."""
    from registry.reference.service import load_reference
    from registry.subsidy import queries as subsidy_queries
    from registry.subsidy.service import load_shipped_policies

    await load_reference(system("test"))
    await load_shipped_policies(system("test"))
    start = TODAY - dt.timedelta(days=3)
    assert await subsidy_queries.is_priority_trade(OCCUPATION, start), "the trade is not a priority trade"
    await confirm_reference_list()


REFERENCE_LIST = "reference-2025-01-01"
CONFIRMED_AS = "洛人社〔2025〕测试号"


async def confirm_reference_list() -> None:
    """The bureau confirms the shipped selection (``registry priority-list confirm``), as it
    must before an uplift is paid without review: the suite's claims are then clean where
    their facts are (PRIORITY_LIST_UNCONFIRMED has tests of its own, on a list they make)."""
    from registry.reference.service import confirm_priority_list

    await confirm_priority_list(system("test"), REFERENCE_LIST, document=CONFIRMED_AS)


async def compute_filed(vault: Any, claim_id: uuid.UUID) -> Any:
    """Compute a filed claim as its job does, with its outbox id: the job is then done and no
    relay (a test worker's start-up relay) sends it to another test's worker later."""
    from registry.models.subsidy import SubsidyClaim
    from registry.subsidy import claims

    row = await SubsidyClaim.get(id=claim_id)
    return await claims.compute_claim(claim_id, vault=vault, outbox_id=row.outbox_id)


async def settle_simulations() -> None:
    """Run every queued simulation as its job does (with its outbox id), so that a test
    leaves no unsent job behind for a relay to send to another test's worker."""
    from registry.models.subsidy import PolicySimulation
    from registry.subsidy import simulations

    for simulation in await PolicySimulation.filter(status="queued").order_by("requested_at"):
        await simulations.run_simulation(simulation.id, outbox_id=simulation.outbox_id)


# --- progress (targets, the rollup) --------------------------------------------------------
# Helpers for tests/registry/progress/, tests/api/progress/ and tests/cli/test_progress_commands.py:
# rows written directly (no workflow), dated in a year no other test uses (2009-2012), so a
# rollup of that year counts exactly what the test wrote.


async def person_row(groups: tuple[str, ...] = ()) -> Any:
    """A ``trainee`` row written directly (a fresh blind index; the cipher is a placeholder)."""
    from registry.models.training import Trainee as TraineeRow

    return await TraineeRow.create(
        id_index=uuid.uuid4().hex + uuid.uuid4().hex,
        id_cipher=b"placeholder",
        id_masked="410305********0000",
        name="王进度",
        sex="M",
        birth_date=dt.date(1990, 1, 1),
        groups=list(groups),
    )


async def ended_cohort(
    institution: Institution,
    end: dt.date,
    *,
    kind: str = "vocational",
    division: str = "410305",
    occupation: str | None = OCCUPATION,
    course: str | None = None,
    status: CohortStatus = CohortStatus.CLOSED,
) -> Cohort:
    """A cohort row that ended on ``end`` (started 30 days before), in any status."""
    vocational = kind == "vocational"
    return await Cohort.create(
        institution=institution,
        reference=f"P-{uuid.uuid4().hex[:10]}",
        name="进度测试班",
        kind=CohortKind(kind),
        occupation_id=occupation if vocational else None,
        certificate_kind="skill_level" if vocational else None,
        certificate_level=5 if vocational else None,
        startup_course=None if vocational else (course or "SYB"),
        division_id=division,
        planned_hours=80,
        start_date=end - dt.timedelta(days=30),
        end_date=end,
        capacity=100,
        status=status,
    )


async def enrolment_row(
    cohort: Cohort, person: Any, *, outcome: str = "completed", groups: tuple[str, ...] = ()
) -> Any:
    from registry.models.training import Enrolment

    return await Enrolment.create(
        cohort=cohort, trainee=person, outcome=outcome, attended_hours=80, groups=list(groups)
    )


async def certificate_row(
    person: Any,
    issuer: Institution,
    issued: dt.date,
    *,
    level: int = 3,
    kind: str = "skill_level",
    cohort: Cohort | None = None,
    status: str = "valid",
    occupation: str = OCCUPATION,
) -> Any:
    from registry.models.certificate import Certificate

    return await Certificate.create(
        number=f"PRG{uuid.uuid4().hex[:12].upper()}",
        trainee=person,
        kind=kind,
        occupation_id=occupation,
        level=level if kind == "skill_level" else None,
        issuer=issuer,
        cohort=cohort,
        issue_date=issued,
        status=status,
    )


async def snapshot_rows(year: int, as_of: dt.date) -> set[tuple[str, str, str, str, int]]:
    """A day's ``progress_snapshot`` rows: (metric, scope, dimension, key, value)."""
    from registry.models.progress import ProgressSnapshot

    rows = await ProgressSnapshot.filter(year=year, as_of=as_of).values_list(
        "metric", "scope", "dimension", "key", "value"
    )
    return {(str(m), str(s), str(d), str(k), int(v)) for m, s, d, k, v in rows}
