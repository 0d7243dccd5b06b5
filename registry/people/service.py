"""People: read (masked), looked up by ID number (sent in a body, never a URL) or by name
within the caller's scope, a person's whole record for the bureau (every view of it an
audit event), and the audited reveal of a full ID number."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tortoise import connections

from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, page_of
from registry.core.principal import Principal
from registry.core.tenancy import (
    visible_certificates,
    visible_claims_sql,
    visible_cohorts_sql,
    visible_enrolments,
    visible_trainees,
)
from registry.core.text import visible_text
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.ledger import queries as ledger
from registry.ledger.rules import ANNUAL_CAP, GrantFact, cap_count, counts_towards_cap
from registry.models.training import Trainee
from registry.people import queries
from registry.people.queries import ID_CONTEXT, id_index, institution_facts
from registry.people.rules.idnumber import validate


@dataclass(frozen=True)
class TraineeView:
    """A person as the caller may see it (ID number masked). An institution sees what it
    said on its latest enrolment of the person (name as given, phone, household, groups);
    the bureau sees the person's record and the review flags of the enrolments in its scope."""

    id: uuid.UUID
    name: str
    id_masked: str
    sex: str
    birth_date: dt.date
    phone_masked: str | None
    household_division: str | None
    groups: list[str]
    created_at: dt.datetime
    review_flags: list[str] | None = None
    """For auditors and admins only (None for anyone else)."""


async def _view(principal: Principal, trainee: Trainee) -> TraineeView:
    view = TraineeView(
        id=trainee.id,
        name=trainee.name,
        id_masked=trainee.id_masked,
        sex=trainee.sex,
        birth_date=trainee.birth_date,
        phone_masked=trainee.phone_masked,
        household_division=trainee.household_division_id,  # type: ignore[attr-defined]
        groups=list(trainee.groups),
        created_at=trainee.created_at,
    )
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        facts = await institution_facts(connections.get("default"), trainee.id, principal.institution_id)
        if facts is not None:
            view = replace(
                view,
                name=facts.name,
                phone_masked=facts.phone_masked,
                household_division=facts.household_division,
                groups=facts.groups,
            )
    elif principal.role in (Role.AUDITOR, Role.ADMIN):
        flags = (
            await visible_enrolments(principal)
            .filter(trainee_id=trainee.id)
            .values_list("review_flags", flat=True)
        )
        view = replace(view, review_flags=sorted({f for fs in flags for f in (fs or [])}))  # type: ignore[union-attr]
    return view


async def get_trainee(principal: Principal, trainee_id: uuid.UUID) -> TraineeView:
    trainee = await visible_trainees(principal).get_or_none(id=trainee_id)
    if trainee is None:
        raise NotFound("no such trainee")
    return await _view(principal, trainee)


async def find_by_id_number(principal: Principal, vault: Vault, raw_number: str) -> TraineeView:
    """Look a person up by ID number (sent in a body, never a URL). Auditors and admins only,
    or an institution for the people it enrolled."""
    if principal.role is Role.ASSESSOR:
        raise PermissionDenied("assessment bodies look people up through their certificates")
    number = validate(raw_number).number
    trainee = await visible_trainees(principal).get_or_none(id_index=id_index(vault, number))
    if trainee is None:
        raise NotFound("no trainee with this ID number in your scope")
    return await _view(principal, trainee)


MAX_REVEAL_REASON = 500


def _reveal_reason(reason: str) -> str:
    reason = visible_text(reason)
    if not reason:
        raise ValidationFailed(
            "a reason is required", errors=[FieldError("reason", "reason_required", "give a reason")]
        )
    if len(reason) > MAX_REVEAL_REASON:
        raise ValidationFailed(
            "the reason is too long",
            errors=[FieldError("reason", "too_long", f"at most {MAX_REVEAL_REASON} characters")],
        )
    return reason


async def reveal_id_number(principal: Principal, vault: Vault, trainee_id: uuid.UUID, reason: str) -> str:
    """The full ID number, for an auditor who asks explicitly with a reason (one a reader can
    see: whitespace or invisible characters are none); the request is an audit event."""
    if principal.role not in (Role.AUDITOR, Role.ADMIN):
        raise NotFound("no such trainee")
    async with unit_of_work(principal) as uow:
        trainee = await visible_trainees(principal).using_db(uow.conn).get_or_none(id=trainee_id)
        if trainee is None:
            raise NotFound("no such trainee")
        reason = _reveal_reason(reason)
        await uow.audit("trainee.reveal_id_number", "trainee", trainee.id, after={"reason": reason})
    return vault.decrypt(trainee.id_cipher, context=ID_CONTEXT)


# ---------------------------------------------------------------------------
# The bureau's view of a person: found by name, the whole record
# ---------------------------------------------------------------------------

MAX_NAME = 50


def _bureau(principal: Principal) -> None:
    """A person's record and the search by name are the bureau's (auditors and admins): for
    anyone else there is no such person (404, as for one out of scope)."""
    if principal.role not in (Role.AUDITOR, Role.ADMIN):
        raise NotFound("no such trainee")


@dataclass(frozen=True)
class PersonSummary:
    """One person found by name (ID number masked)."""

    id: uuid.UUID
    name: str
    id_masked: str
    sex: str
    birth_date: dt.date
    household_division: str | None
    household_division_name: str | None


async def search_by_name(principal: Principal, name: str, *, limit: int, offset: int) -> Page[PersonSummary]:
    """The people in the caller's scope (:func:`registry.core.tenancy.visible_trainees`) whose
    registered name or a name given at an enrolment holds ``name``, by name; auditors and
    admins only. A name with a digit in it is refused (``name_has_digits``): an ID number is
    looked up with :func:`find_by_id_number`, never sent where a name goes."""
    _bureau(principal)
    name = visible_text(name)
    if not name:
        raise ValidationFailed("give a name", errors=[FieldError("name", "name_required", "give a name")])
    if len(name) > MAX_NAME:
        raise ValidationFailed(
            "the name is too long", errors=[FieldError("name", "too_long", f"at most {MAX_NAME} characters")]
        )
    if any(c.isdigit() for c in name):
        raise ValidationFailed(
            "a name has no digits: look an ID number up by number",
            errors=[FieldError("name", "name_has_digits", "a name has no digits")],
        )
    found = await page_of(queries.named(visible_trainees(principal), name), limit, offset)
    names = await queries.division_names(
        connections.get("default"),
        [t.household_division_id for t in found.items],  # type: ignore[attr-defined]
    )
    return found.map(
        lambda t: PersonSummary(
            id=t.id,
            name=t.name,
            id_masked=t.id_masked,
            sex=t.sex,
            birth_date=t.birth_date,
            household_division=t.household_division_id,
            household_division_name=names.get(t.household_division_id),
        )
    )


@dataclass(frozen=True)
class EnrolmentRecord:
    id: uuid.UUID
    cohort_id: uuid.UUID
    cohort_reference: str
    cohort_name: str
    cohort_kind: str
    institution_name: str
    division_name: str
    start_date: dt.date
    end_date: dt.date
    planned_hours: int
    attended_hours: Decimal
    outcome: str
    occupation_code: str | None
    occupation_name: str | None
    certificate_level: int | None
    startup_course: str | None
    name_as_given: str | None
    review_flags: list[str]


@dataclass(frozen=True)
class CertificateRecord:
    id: uuid.UUID
    number: str
    """As the public sees it: masked when the number is an ID number."""
    kind: str
    occupation_code: str | None
    occupation_name: str | None
    level: int | None
    is_renewal: bool
    issuer_name: str
    issue_date: dt.date
    status: str
    status_reason: str


@dataclass(frozen=True)
class GrantRecord:
    """One grant of the ledger, its clawback folded in."""

    fact: GrantFact
    occupation_name: str | None
    paid: bool
    counts_towards_cap: bool
    claim_visible: bool
    """Whether the claim it was granted on is in the caller's scope (a link to it)."""


@dataclass(frozen=True)
class LineRecord:
    """One line of a claim about the person."""

    id: uuid.UUID
    claim_id: uuid.UUID
    claim_status: str
    filed_at: dt.datetime
    institution_name: str
    cohort_reference: str
    cohort_name: str
    seq: int
    kind: str
    occupation_code: str | None
    occupation_name: str | None
    level: int | None
    startup_course: str | None
    year: int
    total_fen: int
    outcome: str
    flags: list[dict[str, Any]]
    decision: str | None
    reason: str
    notice_id: uuid.UUID | None
    grant_id: uuid.UUID | None
    paid: bool
    clawed_back: bool


@dataclass(frozen=True)
class PersonRecord:
    """A person's whole record as the bureau sees it (ID number masked)."""

    person: TraineeView
    household_division_name: str | None
    enrolments: list[EnrolmentRecord]
    certificates: list[CertificateRecord]
    grants: list[GrantRecord]
    cap: int
    """ANNUAL_CAP: training grants a person may hold in a calendar year."""
    cap_year: int
    cap_used: int
    """The person's net training grants this year (the whole ledger's, whoever granted them)."""
    lines: list[LineRecord]


async def person_record(
    principal: Principal, trainee_id: uuid.UUID, today: dt.date | None = None
) -> PersonRecord:
    """A person's whole record for an auditor or an admin, scoped like ``GET /trainees/{id}``
    (a county auditor: the people trained in its division or living there; out of scope:
    404): the enrolments of the cohorts in scope, the certificates in scope, the grants of
    the ledger with the annual cap used this year (the ledger is the person's, all of it:
    the cap counts every grant; a grant's claim is linked when it is in scope), and the
    lines of the claims in scope with their flags. Every view is an audit event
    (``trainee.view``)."""
    _bureau(principal)
    year = (today or business_today()).year
    async with unit_of_work(principal) as uow:
        trainee = await visible_trainees(principal).using_db(uow.conn).get_or_none(id=trainee_id)
        if trainee is None:
            raise NotFound("no such trainee")
        person = await _view(principal, trainee)
        enrolments = await queries.enrolments_of(
            uow.conn, trainee_id, visible_cohorts_sql(principal, alias="c", first=2)
        )
        certificates = await queries.certificates_of(visible_certificates(principal), trainee_id)
        lines = await queries.claim_lines_of(uow.conn, trainee_id, visible_claims_sql(principal))
        facts = (await ledger.history_of(uow.conn, [trainee_id]))[trainee_id]
        paid = await queries.paid_grants(uow.conn, [fact.id for fact in facts])
        occupations = await queries.occupation_names(uow.conn, [fact.occupation_code for fact in facts])
        households = await queries.division_names(uow.conn, [person.household_division])
        await uow.audit("trainee.view", "trainee", trainee.id)
    visible_claims = {line["claim_id"] for line in lines}
    return PersonRecord(
        person=person,
        household_division_name=households.get(person.household_division or ""),
        enrolments=[
            EnrolmentRecord(**{k: row[k] for k in EnrolmentRecord.__dataclass_fields__}) for row in enrolments
        ],
        certificates=[
            CertificateRecord(
                id=row["id"],
                number=row["number"] or row["number_masked"] or "",
                kind=str(getattr(row["kind"], "value", row["kind"])),
                occupation_code=row["occupation_id"],
                occupation_name=row["occupation_name"],
                level=row["level"],
                is_renewal=bool(row["is_renewal"]),
                issuer_name=row["issuer_name"],
                issue_date=row["issue_date"],
                status=str(getattr(row["status"], "value", row["status"])),
                status_reason=row["status_reason"],
            )
            for row in certificates
        ],
        grants=[
            GrantRecord(
                fact=fact,
                occupation_name=occupations.get(fact.occupation_code or ""),
                paid=fact.id in paid,
                counts_towards_cap=counts_towards_cap(fact),
                claim_visible=fact.claim_id in visible_claims,
            )
            for fact in facts
        ],
        cap=ANNUAL_CAP,
        cap_year=year,
        cap_used=cap_count(facts, year),
        lines=[LineRecord(**{k: row[k] for k in LineRecord.__dataclass_fields__}) for row in lines],
    )
