"""Certificates: issued by assessment bodies, suspended, revoked, reinstated, verified.

The rules are in :mod:`registry.certificates.rules`; both ways in here use them:

- :func:`issue_certificate`, one certificate in one unit of work (the API), and
- :func:`issue_certificates_bulk`, many in one statement (the demo generator).

Both first gather, set-based, what the database knows about the rows (:func:`_facts`), then
judge every row with :func:`registry.certificates.rules.certificate_errors`.

Public verification (:func:`verify_certificate`) answers for a number with the holder's
masked name and the certificate's own facts only, and ``None`` for every kind of miss.

A number that is an ID number (:func:`registry.certificates.rules.is_personal_number`: a
特种作业操作证 is numbered with its holder's ID number) is personal data. It is stored only
encrypted (context :data:`NUMBER_CONTEXT`), blind-indexed and masked (``number`` is NULL);
it is never looked up from a URL: :func:`verify_certificate` answers None for it without a
query, the public check is :func:`verify_with_holder` (number and holder's name, from a
request body), and signed-in callers address such a certificate by its id
(:func:`get_certificate` takes a number or an id) or find it with
:func:`lookup_certificate` (number in a body). Answers, audit events and errors show it
masked (:func:`display_number`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from registry.certificates import rules
from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, page_of
from registry.core.principal import Principal
from registry.core.tenancy import changeable_certificates, visible_certificates, visible_trainees
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import CertificateKind, CertificateStatus, Role
from registry.models.certificate import Certificate
from registry.notices.service import after_certificate_change
from registry.people.queries import Person, id_index, known_names, upsert_people
from registry.people.rules.idnumber import IdNumber, IdNumberError
from registry.people.rules.idnumber import mask as mask_id
from registry.people.rules.idnumber import validate as validate_id
from registry.people.rules.personal import PersonalDataError, mask_name, validate_name

MAX_REPORTED_ERRORS = 200
NUMBER_CONTEXT = "certificate_number"
"""Encryption context and blind-index context of certificate numbers that are ID numbers."""
RELATED = ("trainee", "occupation", "issuer")


@dataclass(frozen=True)
class CertificateInput:
    """A certificate to issue. The holder is ``trainee_id`` or ``id_number`` + ``name``; a
    person not yet registered is registered. ``issuer_id`` is for system principals (the
    CLI, the demo); an assessor always issues as its own body."""

    number: str
    kind: str
    issue_date: dt.date
    occupation_code: str | None = None
    level: int | None = None
    trainee_id: uuid.UUID | None = None
    id_number: str | None = None
    name: str | None = None
    cohort_id: uuid.UUID | None = None
    is_renewal: bool = False
    direct_recognition: bool = False
    issuer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CertificateRow:
    """One certificate of :func:`issue_certificates_bulk`: the holder is already registered."""

    number: str
    trainee_id: uuid.UUID | None
    kind: str
    issuer_id: uuid.UUID
    issue_date: dt.date
    occupation_code: str | None = None
    level: int | None = None
    cohort_id: uuid.UUID | None = None
    is_renewal: bool = False
    direct_recognition: bool = False


@dataclass(frozen=True)
class PublicCertificate:
    """What anyone may learn about a certificate from its number, and nothing more."""

    number: str
    status: str
    kind: str
    holder_name: str
    """Masked: 张*."""
    occupation_code: str | None
    occupation_name: str | None
    level: int | None
    issuer_name: str
    issue_date: dt.date

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID.value


def number_index(vault: Vault, number: str) -> str:
    """The blind index of a certificate number that is an ID number."""
    return vault.blind_index(rules.normalise_personal_number(number), context=NUMBER_CONTEXT)


def display_number(cert: Certificate) -> str:
    """The number as answers, audit events and the public page show it: masked when it is
    an ID number."""
    return cert.number if cert.number is not None else (cert.number_masked or "")


def snapshot(cert: Certificate) -> dict[str, Any]:
    """The audit trail's view of a certificate: ids and facts, no personal data."""
    return {
        "number": display_number(cert),
        "trainee": str(cert.trainee_id),  # type: ignore[attr-defined]
        "kind": _value(cert.kind),
        "occupation": cert.occupation_id,  # type: ignore[attr-defined]
        "level": cert.level,
        "is_renewal": cert.is_renewal,
        "direct_recognition": cert.direct_recognition,
        "issuer": str(cert.issuer_id),  # type: ignore[attr-defined]
        "cohort": str(cert.cohort_id) if cert.cohort_id else None,  # type: ignore[attr-defined]
        "issue_date": cert.issue_date.isoformat(),
        "status": _value(cert.status),
        "status_reason": cert.status_reason,
    }


def _value(v: Any) -> str:
    return str(v.value if hasattr(v, "value") else v)


# --- facts from the database, set-based ---------------------------------------------------


def _json_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(value or ())


async def _facts(
    conn: BaseDBAsyncClient, rows: Sequence[CertificateRow], numbers: Sequence[str]
) -> tuple[list[rules.CertificateFacts], set[uuid.UUID]]:
    """The facts of every row, and which of the rows' trainees exist. A handful of queries
    whatever the number of rows."""
    codes = sorted({r.occupation_code for r in rows if r.occupation_code})
    levels: dict[str, int] = {}
    if codes:
        found = await conn.execute_query_dict(
            "SELECT code, level FROM occupation WHERE code = ANY($1::text[])", [codes]
        )
        levels = {r["code"]: r["level"] for r in found}
    issuer_ids = sorted({r.issuer_id for r in rows}, key=str)
    issuers: dict[uuid.UUID, rules.IssuerFacts] = {}
    if issuer_ids:
        found = await conn.execute_query_dict(
            "SELECT id, kinds, status FROM institution WHERE id = ANY($1::uuid[])", [issuer_ids]
        )
        issuers = {r["id"]: rules.IssuerFacts(_json_list(r["kinds"]), r["status"]) for r in found}
    trainee_ids = sorted({r.trainee_id for r in rows if r.trainee_id is not None}, key=str)
    trainees: set[uuid.UUID] = set()
    if trainee_ids:
        found = await conn.execute_query_dict(
            "SELECT id FROM trainee WHERE id = ANY($1::uuid[])", [trainee_ids]
        )
        trainees = {r["id"] for r in found}
    taken: set[str] = set()
    # A number that is an ID number never goes to the database in clear (not even to its
    # query log): its callers look it up by its blind index.
    public_numbers = sorted({n for n in numbers if not rules.is_personal_number(n)})
    if public_numbers:
        found = await conn.execute_query_dict(
            "SELECT number FROM certificate WHERE number = ANY($1::text[])", [public_numbers]
        )
        taken = {r["number"] for r in found}
    pairs = sorted({(r.cohort_id, r.trainee_id) for r in rows if r.cohort_id is not None}, key=str)
    cohorts: dict[uuid.UUID, dict[str, Any]] = {}
    outcomes: dict[tuple[uuid.UUID, uuid.UUID | None], str] = {}
    if pairs:
        found = await conn.execute_query_dict(
            "SELECT c.id, c.kind, c.occupation_id, c.status, c.start_date, p.trainee_id, e.outcome "
            "FROM unnest($1::uuid[], $2::uuid[]) AS p(cohort_id, trainee_id) "
            "JOIN cohort c ON c.id = p.cohort_id "
            "LEFT JOIN enrolment e ON e.cohort_id = p.cohort_id AND e.trainee_id = p.trainee_id",
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )
        for r in found:
            cohorts[r["id"]] = r
            if r["outcome"] is not None:
                outcomes[(r["id"], r["trainee_id"])] = r["outcome"]
    facts = []
    for row, number in zip(rows, numbers, strict=True):
        cohort = None
        if row.cohort_id is not None and (c := cohorts.get(row.cohort_id)) is not None:
            cohort = rules.CohortFacts(
                kind=c["kind"],
                occupation_code=c["occupation_id"],
                status=c["status"],
                start_date=c["start_date"],
                enrolment_outcome=outcomes.get((row.cohort_id, row.trainee_id)),
            )
        facts.append(
            rules.CertificateFacts(
                number=number,
                kind=row.kind,
                level=row.level,
                occupation_code=row.occupation_code or None,
                is_renewal=row.is_renewal,
                issue_date=row.issue_date,
                occupation_level=levels.get(row.occupation_code) if row.occupation_code else None,
                issuer=issuers.get(row.issuer_id),
                cohort_given=row.cohort_id is not None,
                cohort=cohort,
                number_taken=number in taken,
            )
        )
    return facts, trainees


# --- issuing one --------------------------------------------------------------------------


async def _issuer_for(principal: Principal, data: CertificateInput) -> uuid.UUID:
    """Who issues: an assessor its own body; a system principal the body it names."""
    if principal.kind == "system":
        if data.issuer_id is None:
            raise ValidationFailed(
                "name the issuing body",
                errors=[FieldError("issuer_id", "required", "name the assessment body")],
            )
        return data.issuer_id
    if principal.role is not Role.ASSESSOR or principal.institution_id is None:
        raise PermissionDenied("only an assessment body issues certificates", code="assessor_only")
    if data.issuer_id is not None and data.issuer_id != principal.institution_id:
        raise PermissionDenied("an assessment body issues certificates in its own name", code="assessor_only")
    return principal.institution_id


def _holder_errors(data: CertificateInput) -> tuple[IdNumber | None, str | None, list[FieldError]]:
    """The holder as the request gives it: a trainee id, or an ID number and a name."""
    errors: list[FieldError] = []
    person_id: IdNumber | None = None
    name: str | None = None
    if data.trainee_id is not None and data.id_number is not None:
        errors.append(
            FieldError("trainee_id", "ambiguous", "give trainee_id, or id_number and name, not both")
        )
    elif data.trainee_id is None and data.id_number is None:
        errors.append(FieldError("trainee_id", "required", "give trainee_id, or id_number and name"))
    if data.id_number is not None:
        try:
            person_id = validate_id(data.id_number)
        except IdNumberError as exc:
            errors.append(FieldError("id_number", exc.code, exc.message))
        if data.name is None:
            errors.append(FieldError("name", "required", "the holder's name is required with an ID number"))
    if data.name is not None:
        try:
            name = validate_name(data.name)
        except PersonalDataError as exc:
            errors.append(FieldError("name", exc.code, exc.message))
    return person_id, name, errors


async def issue_certificate(principal: Principal, vault: Vault, data: CertificateInput) -> Certificate:
    """Issue one certificate (one unit of work, one ``certificate.issue`` audit event).

    Whom a body may certify: a person it reaches. By ``trainee_id`` only a person the
    caller already sees (:func:`registry.core.tenancy.visible_trainees`: for an
    assessor, the people it certified before); anyone else is given by ID number and name
    (a person not yet registered is registered). A certificate linked to a cohort needs the
    person enrolled in that cohort. Every miss (a trainee id the caller may not see or that
    does not exist, a name that is not the registered one, a cohort that does not exist or
    that the person is not enrolled in) is the one error
    :func:`registry.certificates.rules.holder_miss`, the same field, code and message, with
    nothing said about the cohort: a refusal answers no question about other tenants.

    403 (:class:`PermissionDenied`) for a caller that is not an active assessment body,
    422 (:class:`ValidationFailed`) listing every bad field, 409 (:class:`Conflict`) for a
    number already registered."""
    issuer_id = await _issuer_for(principal, data)
    person_id, name, errors = _holder_errors(data)
    number = rules.normalise_number(data.number)
    personal = rules.is_personal_number(number)
    if personal:
        number = rules.normalise_personal_number(number)
    async with unit_of_work(principal) as uow:
        holder = await _find_holder(uow, principal, vault, data, person_id, name)
        facts = await _issue_facts(uow, vault, data, issuer_id, number, personal, holder)
        if (issuer_err := rules.issuer_error(facts.issuer, field="issuer_id")) is not None:
            if principal.kind != "system":
                raise PermissionDenied(
                    f"this body may not issue certificates: {issuer_err.message}", code=issuer_err.code
                )
            errors.append(issuer_err)
        else:
            errors += rules.certificate_errors(facts, business_today())
        if errors:
            raise ValidationFailed("the certificate is not valid", errors=errors)
        if facts.number_taken:
            raise _duplicate()
        trainee_id = holder.trainee_id
        if holder.new_person is not None:
            created = await upsert_people(uow.conn, vault, [holder.new_person])
            trainee_id = created[id_index(vault, holder.new_person.id.number)]
        if trainee_id is None:  # every way to name no one is a field error above; never a silent miss
            raise ValidationFailed("the certificate is not valid", errors=[rules.holder_miss()])
        cert = await _store(uow, vault, data, issuer_id, number, personal, trainee_id)
        await uow.audit("certificate.issue", "certificate", cert.id, after=snapshot(cert))
    await cert.fetch_related(*RELATED)
    return cert


@dataclass(frozen=True)
class _Holder:
    trainee_id: uuid.UUID | None
    """The registered person, when found."""
    new_person: Person | None
    """A person given by ID number and name who is not registered yet."""
    found: bool
    """False for every kind of miss (the one answer :func:`registry.certificates.rules.holder_miss`)."""
    id_index: str | None


async def _find_holder(
    uow: UnitOfWork,
    principal: Principal,
    vault: Vault,
    data: CertificateInput,
    person_id: IdNumber | None,
    name: str | None,
) -> _Holder:
    """By ``trainee_id`` only a person the caller already sees; otherwise by ID number and name."""
    if data.trainee_id is not None and data.id_number is None:
        trainee = await visible_trainees(principal).using_db(uow.conn).filter(id=data.trainee_id).first()
        if trainee is None or (name is not None and name != trainee.name):
            return _Holder(None, None, found=False, id_index=None)
        return _Holder(trainee.id, None, found=True, id_index=trainee.id_index)
    if person_id is not None and name is not None and data.trainee_id is None:
        index = id_index(vault, person_id.number)
        known = (await known_names(uow.conn, [index])).get(index)
        if known is None:
            return _Holder(None, Person(id=person_id, name=name), found=True, id_index=index)
        if known[1] != name:
            return _Holder(None, None, found=False, id_index=index)
        return _Holder(known[0], None, found=True, id_index=index)
    return _Holder(None, None, found=True, id_index=None)  # the field errors say what is missing


async def _issue_facts(
    uow: UnitOfWork,
    vault: Vault,
    data: CertificateInput,
    issuer_id: uuid.UUID,
    number: str,
    personal: bool,
    holder: _Holder,
) -> rules.CertificateFacts:
    """What the rules judge: the catalogue, the issuer, the cohort and the number's use."""
    row = CertificateRow(
        number=number,
        trainee_id=holder.trainee_id,
        kind=data.kind,
        issuer_id=issuer_id,
        issue_date=data.issue_date,
        occupation_code=data.occupation_code,
        level=data.level,
        cohort_id=data.cohort_id,
        is_renewal=data.is_renewal,
        direct_recognition=data.direct_recognition,
    )
    (facts,), _ = await _facts(uow.conn, [row], [number])
    facts = dataclasses.replace(facts, holder_found=holder.found)
    if not personal:
        return facts
    taken = await Certificate.filter(number_index=number_index(vault, number)).using_db(uow.conn).exists()
    return dataclasses.replace(
        facts,
        number_is_holders_id=holder.id_index is not None and holder.id_index == id_index(vault, number),
        number_taken=facts.number_taken or taken,
    )


async def _store(
    uow: UnitOfWork,
    vault: Vault,
    data: CertificateInput,
    issuer_id: uuid.UUID,
    number: str,
    personal: bool,
    trainee_id: uuid.UUID,
) -> Certificate:
    """The certificate row; a number that is an ID number is stored sealed and masked only."""
    try:
        return await Certificate.create(
            number=None if personal else number,
            number_index=number_index(vault, number) if personal else None,
            number_cipher=vault.encrypt(number, context=NUMBER_CONTEXT) if personal else None,
            number_masked=mask_id(number) if personal else None,
            trainee_id=trainee_id,
            kind=CertificateKind(data.kind),
            occupation_id=data.occupation_code or None,
            level=data.level,
            is_renewal=data.is_renewal,
            direct_recognition=data.direct_recognition,
            issuer_id=issuer_id,
            cohort_id=data.cohort_id,
            issue_date=data.issue_date,
            status=CertificateStatus.VALID,
            status_reason="",
            using_db=uow.conn,
        )
    except IntegrityError:
        raise _duplicate() from None


def _duplicate(errors: list[FieldError] | None = None) -> Conflict:
    return Conflict(
        "a certificate with this number is already registered",
        code="duplicate_certificate",
        errors=errors or [rules.duplicate_error()],
    )


# --- issuing many -------------------------------------------------------------------------

_BULK_SQL = (
    "WITH ins AS ("
    "INSERT INTO certificate (id, number, trainee_id, kind, occupation_id, level, is_renewal, "
    "direct_recognition, issuer_id, cohort_id, issue_date, status, status_reason, created_at, updated_at) "
    "SELECT t.id, t.number, t.trainee_id, t.kind, t.occupation_id, t.level, t.is_renewal, "
    "t.direct_recognition, t.issuer_id, t.cohort_id, t.issue_date, 'valid', '', "
    "$12::timestamptz, $12::timestamptz "
    "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::smallint[], $7::bool[], "
    "$8::bool[], $9::uuid[], $10::uuid[], $11::date[]) "
    "AS t(id, number, trainee_id, kind, occupation_id, level, is_renewal, direct_recognition, issuer_id, "
    "cohort_id, issue_date) "
    "RETURNING 1) "
    "SELECT count(*) AS n FROM ins"
)


async def issue_certificates_bulk(
    conn: BaseDBAsyncClient,
    rows: list[CertificateRow],
    *,
    today: dt.date | None = None,
    actor: str | None = None,
) -> int:
    """Issue many certificates in one INSERT (``unnest`` arrays), all or none.

    Every row is judged by the same rules as :func:`issue_certificate`; errors carry
    ``row`` = the row's index in ``rows``. Raises :class:`ValidationFailed` for rule errors,
    :class:`Conflict` for numbers already registered or repeated in ``rows``. Runs on the
    caller's connection (use it inside a transaction). Holders must be registered
    (``upsert_people`` first). With ``actor``, one ``certificate.issue_bulk`` audit event
    records the batch (per-row events are the single path's)."""
    if not rows:
        return 0
    today = today or business_today()
    numbers = [rules.normalise_number(r.number) for r in rows]
    facts, trainees = await _facts(conn, rows, numbers)
    errors: list[FieldError] = []
    conflicts: list[FieldError] = []
    repeated = rules.duplicate_numbers(numbers)
    for i, (row, fact) in enumerate(zip(rows, facts, strict=True)):
        if row.trainee_id is not None and row.trainee_id not in trainees:
            fact = dataclasses.replace(fact, holder_found=False)
        row_errors = rules.certificate_errors(fact, today)
        if row.trainee_id is None:
            row_errors.append(FieldError("trainee_id", "required", "the holder's trainee id is required"))
        if rules.is_personal_number(numbers[i]):
            row_errors.append(
                FieldError(
                    "number",
                    "personal_number",
                    "a certificate number that is an ID number is personal data: issue it with "
                    "issue_certificate, which encrypts it",
                )
            )
        errors += [dataclasses.replace(e, row=i) for e in row_errors]
        if fact.number_taken:
            conflicts.append(dataclasses.replace(rules.duplicate_error(), row=i))
        elif i in repeated:
            conflicts.append(
                FieldError("number", "duplicate", f"the same number as row {repeated[i]}", row=i)
            )
    if errors:
        raise ValidationFailed(
            f"{len({e.row for e in errors})} of {len(rows)} certificates are not valid",
            errors=errors[:MAX_REPORTED_ERRORS],
        )
    if conflicts:
        raise _duplicate(conflicts[:MAX_REPORTED_ERRORS])
    now = dt.datetime.now(dt.UTC)
    params: list[Any] = [
        [uuid.uuid4() for _ in rows],
        numbers,
        [r.trainee_id for r in rows],
        [CertificateKind(r.kind).value for r in rows],
        [r.occupation_code or None for r in rows],
        [r.level for r in rows],
        [r.is_renewal for r in rows],
        [r.direct_recognition for r in rows],
        [r.issuer_id for r in rows],
        [r.cohort_id for r in rows],
        [r.issue_date for r in rows],
        now,
    ]
    try:
        # execute_query drops the rows of an INSERT ... RETURNING; execute_query_dict keeps them.
        result = await conn.execute_query_dict(_BULK_SQL, params)
    except IntegrityError:
        raise _duplicate() from None
    count = int(result[0]["n"])
    if actor is not None:
        from registry.audit.service import record_event

        await record_event(
            conn,
            actor=actor,
            action="certificate.issue_bulk",
            entity_type="certificate",
            entity_id="bulk",
            after={"count": count, "first": numbers[0], "last": numbers[-1]},
        )
    return count


# --- reading ------------------------------------------------------------------------------


def _addressed(query: QuerySet[Certificate], ref: str) -> QuerySet[Certificate] | None:
    """``query`` narrowed to the certificate ``ref`` names: its number, or its id (a UUID).
    None for a ref shaped like an ID number: such a number is never taken from a URL (its
    certificate is addressed by its id, or found by :func:`lookup_certificate`)."""
    ref = rules.normalise_number(ref)
    if rules.is_personal_number(ref) or not rules.is_well_formed_number(ref):
        return None
    try:
        as_id = uuid.UUID(ref)
    except ValueError:
        return query.filter(number=ref)
    return query.filter(Q(id=as_id) | Q(number=ref))


async def _one(query: QuerySet[Certificate] | None, ref: str) -> Certificate | None:
    """The one certificate of ``_addressed``: by id first (a number could be UUID-shaped)."""
    if query is None:
        return None
    found = await query.limit(2)
    return next((c for c in found if str(c.id) == ref.strip().lower()), found[0] if found else None)


async def get_certificate(principal: Principal, ref: str) -> Certificate:
    """The certificate with this number, or this id (the only way to address one whose
    number is an ID number), in the caller's scope; NotFound otherwise."""
    cert = await _one(_addressed(visible_certificates(principal), ref), ref)
    if cert is None:
        raise NotFound("no such certificate")
    await cert.fetch_related(*RELATED)
    return cert


def _by_number(vault: Vault, query: QuerySet[Certificate], number: str) -> QuerySet[Certificate] | None:
    """``query`` narrowed to the certificate numbered ``number``: a personal one by its blind
    index only (never in clear, not even in a query log). None for a malformed number."""
    number = rules.normalise_number(number)
    if not rules.is_well_formed_number(number):
        return None
    if rules.is_personal_number(number):
        return query.filter(number_index=number_index(vault, number))
    return query.filter(number=number)


async def lookup_certificate(principal: Principal, vault: Vault, number: str) -> Certificate:
    """The certificate with this number, which comes in a request body (never a URL): how
    a signed-in caller finds one numbered with an ID number. NotFound out of scope."""
    query = _by_number(vault, visible_certificates(principal), number)
    cert = await query.first() if query is not None else None
    if cert is None:
        raise NotFound("no such certificate")
    await cert.fetch_related(*RELATED)
    return cert


async def list_certificates(
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    kind: str | None = None,
    occupation_code: str | None = None,
    issuer_id: uuid.UUID | None = None,
    cohort_id: uuid.UUID | None = None,
    trainee_id: uuid.UUID | None = None,
    issued_from: dt.date | None = None,
    issued_to: dt.date | None = None,
) -> Page[Certificate]:
    """The certificates in the caller's scope, newest first, filtered."""
    if issued_from is not None and issued_to is not None and issued_from > issued_to:
        raise ValidationFailed(
            "the date range is empty",
            errors=[FieldError("issued_from", "after_issued_to", "issued_from is after issued_to")],
        )
    query = visible_certificates(principal)
    filters: dict[str, Any] = {
        "status": status,
        "kind": kind,
        "occupation_id": occupation_code,
        "issuer_id": issuer_id,
        "cohort_id": cohort_id,
        "trainee_id": trainee_id,
        "issue_date__gte": issued_from,
        "issue_date__lte": issued_to,
    }
    query = query.filter(**{k: v for k, v in filters.items() if v is not None})
    page = await page_of(query.order_by("-issue_date", "number").prefetch_related(*RELATED), limit, offset)
    return page


# --- status -------------------------------------------------------------------------------


async def change_status(principal: Principal, ref: str, action: str, reason: str) -> Certificate:
    """Suspend, revoke or reinstate (:data:`registry.certificates.rules.ACTIONS`) with a
    reason. The issuing body, or an auditor or admin in scope; out of scope is 404, an
    institution that sees the certificate through its cohort 403; a step the status does
    not allow 409. One ``certificate.<action>`` audit event with the status before/after."""
    if action not in rules.ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    reason = rules.normalise_reason(reason)
    if principal.role is Role.INSTITUTION:
        if await _one(_addressed(visible_certificates(principal), ref), ref) is not None:
            raise PermissionDenied(
                "a training institution does not change certificates", code="assessor_only"
            )
        raise NotFound("no such certificate")
    if (err := rules.reason_error(reason)) is not None:
        raise ValidationFailed("the reason is not valid", errors=[err])
    async with unit_of_work(principal) as uow:
        # Scope first (its joins cannot be locked), then lock the one row.
        found = await _one(_addressed(visible_certificates(principal).using_db(uow.conn), ref), ref)
        if found is None:
            raise NotFound("no such certificate")
        if not await changeable_certificates(principal).using_db(uow.conn).filter(id=found.id).exists():
            raise PermissionDenied(
                "a county auditor changes the certificates of cohorts held in its county (and those "
                "without a cohort issued by a body of its county): another county's subsidies are not "
                "its to reach; the issuing body or the city bureau changes this one",
                code="outside_county",
            )
        cert = await Certificate.filter(id=found.id).using_db(uow.conn).select_for_update().get()
        before = {"status": _value(cert.status), "status_reason": cert.status_reason}
        if not rules.may_change_status(action, principal.role.value, cert.status_changed_by_role):
            raise PermissionDenied(
                "the bureau suspended this certificate: only the bureau reinstates it",
                code="bureau_suspension",
            )
        cert.status = rules.next_status(before["status"], action)
        cert.status_reason = reason
        cert.status_changed_by_role = principal.role.value
        await cert.save(
            using_db=uow.conn,
            update_fields=["status", "status_reason", "status_changed_by_role", "updated_at"],
        )
        await uow.audit(
            f"certificate.{action}",
            "certificate",
            cert.id,
            before=before,
            after={"status": cert.status.value, "status_reason": reason},
        )
        # Its subsidy: a line on a running notice goes back to review; a revoked
        # certificate's grants are clawed back (registry.notices.service).
        await after_certificate_change(uow, cert.id, action, reason)
    await cert.fetch_related(*RELATED)
    return cert


# --- public verification ------------------------------------------------------------------


async def verify_certificate(number: str) -> PublicCertificate | None:
    """The public facts of the certificate with this number, or None: for an unknown
    number and a malformed one alike, and for a number shaped like an ID number, which is
    not looked up at all (it came in a URL; see :func:`verify_with_holder`). No principal:
    anyone may ask."""
    number = rules.normalise_number(number)
    if not rules.is_well_formed_number(number) or rules.is_personal_number(number):
        return None
    return await _public(Certificate.filter(number=number))


async def verify_with_holder(vault: Vault, number: str, name: str) -> PublicCertificate | None:
    """The public check with the number and the holder's name from a request body: the
    certificate's public facts when both match, None for every miss (unknown number,
    malformed number or name, another name). The one way to check a certificate numbered
    with an ID number; it works for every other number too."""
    try:
        name = validate_name(name)
    except PersonalDataError:
        return None
    query = _by_number(vault, Certificate.all(), number)
    if query is None:
        return None
    return await _public(query, holder_name=name)


async def _public(
    query: QuerySet[Certificate], *, holder_name: str | None = None
) -> PublicCertificate | None:
    found = await query.limit(1).values(
        "number",
        "number_masked",
        "status",
        "kind",
        "level",
        "issue_date",
        "occupation_id",
        occupation_name="occupation__name",
        holder_name="trainee__name",
        issuer_name="issuer__name",
    )
    if not found or (holder_name is not None and found[0]["holder_name"] != holder_name):
        return None
    r = found[0]
    return PublicCertificate(
        number=r["number"] if r["number"] is not None else r["number_masked"],
        status=_value(r["status"]),
        kind=_value(r["kind"]),
        holder_name=mask_name(r["holder_name"]),
        occupation_code=r["occupation_id"],
        occupation_name=r["occupation_name"],
        level=r["level"],
        issuer_name=r["issuer_name"],
        issue_date=r["issue_date"],
    )


# --- numbers stored before they were personal data ----------------------------------------

_LEGACY_PERSONAL = r"^[0-9]{17}[0-9Xx]$"
"""What :func:`registry.people.rules.idnumber.looks_like_id_number` recognises, in SQL."""


async def seal_personal_numbers(principal: Principal, vault: Vault, *, batch_size: int = 1000) -> int:
    """Certificates stored before migration 0007 whose number is shaped like an ID number
    get it encrypted, blind-indexed and masked, and ``number`` cleared (``registry
    seal-certificate-numbers``, run once after migrating). Batches of ``batch_size``, each
    in its own transaction; the numbers go to the database only encrypted and indexed.
    Running it again finds nothing. One ``certificate.seal_numbers`` audit event (the count).
    Returns how many were sealed."""
    if not principal.is_admin:
        raise PermissionDenied("only an administrator seals certificate numbers")
    total = 0
    while True:
        async with unit_of_work(principal) as uow:
            _, rows = await uow.conn.execute_query(
                "SELECT id, number FROM certificate WHERE number ~ $1 ORDER BY id LIMIT $2 FOR UPDATE",
                [_LEGACY_PERSONAL, batch_size],
            )
            if not rows:
                break
            plain = [rules.normalise_personal_number(r["number"]) for r in rows]
            try:
                await uow.conn.execute_query(
                    "UPDATE certificate AS c SET number = NULL, number_index = u.idx, "
                    "number_cipher = u.cipher, number_masked = u.masked, updated_at = $5 "
                    "FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[]) AS u(id, idx, cipher, masked) "
                    "WHERE c.id = u.id",
                    [
                        [r["id"] for r in rows],
                        [number_index(vault, n) for n in plain],
                        [vault.encrypt(n, context=NUMBER_CONTEXT) for n in plain],
                        [mask_id(n) for n in plain],
                        dt.datetime.now(dt.UTC),
                    ],
                )
            except IntegrityError:
                raise Conflict(
                    "two certificates have the same ID-number-shaped number (one with x, one with X): "
                    "revoke or correct one of them, then run this again",
                    code="duplicate_certificate",
                ) from None
            total += len(rows)
    if total:
        async with unit_of_work(principal) as uow:
            await uow.audit("certificate.seal_numbers", "certificate", "bulk", after={"count": total})
    return total
