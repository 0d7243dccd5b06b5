"""Set-based SQL for people: one trainee per person, found by the ID number's blind index.

:func:`person_row` is the one place that turns a validated person into stored values;
the single path and the bulk paths (enrolments, roster imports, certificates, the demo)
all write people through :func:`upsert_people`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from registry.core.crypto import Vault
from registry.models.certificate import Certificate
from registry.models.training import Trainee
from registry.people.rules.idnumber import IdNumber, mask
from registry.people.rules.personal import mask_phone

ID_CONTEXT = "id_number"
PHONE_CONTEXT = "phone"


@dataclass(frozen=True)
class Person:
    """A validated person as a roster row or an enrolment request gives it."""

    id: IdNumber
    name: str
    phone: str | None = None
    household_division: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PhoneValues:
    """A phone as stored: blind index, ciphertext, masked form (all None: no phone)."""

    index: str | None = None
    cipher: bytes | None = None
    masked: str | None = None


def phone_values(vault: Vault, phone: str | None) -> PhoneValues:
    if not phone:
        return PhoneValues()
    return PhoneValues(
        index=phone_index(vault, phone),
        cipher=vault.encrypt(phone, context=PHONE_CONTEXT),
        masked=mask_phone(phone),
    )


def id_index(vault: Vault, number: str) -> str:
    return vault.blind_index(number, context=ID_CONTEXT)


def phone_index(vault: Vault, phone: str) -> str:
    return vault.blind_index(phone, context=PHONE_CONTEXT)


def person_row(vault: Vault, person: Person) -> dict[str, Any]:
    """The stored values of a person's trainee row (without id and timestamps)."""
    return {
        "id_index": id_index(vault, person.id.number),
        "id_cipher": vault.encrypt(person.id.number, context=ID_CONTEXT),
        "id_masked": mask(person.id.number),
        "name": person.name,
        "sex": person.id.sex,
        "birth_date": person.id.birth_date,
        "phone_index": phone_index(vault, person.phone) if person.phone else None,
        "phone_cipher": vault.encrypt(person.phone, context=PHONE_CONTEXT) if person.phone else None,
        "phone_masked": mask_phone(person.phone) if person.phone else None,
        "household_division_id": person.household_division,
        "groups": sorted(set(person.groups)),
    }


_UPSERT_COLUMNS = (
    "id_index",
    "id_cipher",
    "id_masked",
    "name",
    "sex",
    "birth_date",
    "phone_index",
    "phone_cipher",
    "phone_masked",
    "household_division_id",
    "groups",
)
_UPSERT_TYPES = ("text", "bytea", "text", "text", "text", "date", "text", "bytea", "text", "text", "jsonb")
_UPSERT_SQL = (
    "INSERT INTO trainee (id, " + ", ".join(_UPSERT_COLUMNS) + ", created_at, updated_at) "
    "SELECT gen_random_uuid(), u.*, $12, $12 FROM unnest("
    + ", ".join(f"${n}::{t}[]" for n, t in enumerate(_UPSERT_TYPES, start=1))
    + ") AS u "
    # A known person is left as it is (the no-op SET only makes RETURNING give its id): what
    # an institution says about a person belongs to its enrolment.
    "ON CONFLICT (id_index) DO UPDATE SET updated_at = trainee.updated_at "
    "RETURNING id, id_index"
)


async def upsert_people(
    conn: BaseDBAsyncClient, vault: Vault, people: Sequence[Person]
) -> dict[str, uuid.UUID]:
    """Insert new people, set-based in one statement (the database draws the new ids), and
    leave known ones as they are: a person's record is written by the first registration
    (or the bureau), never by a later enrolment, whose phone, household and groups are kept
    on the enrolment. Returns ``{id_index: trainee id}`` for all of them."""
    if not people:
        return {}
    columns: tuple[list[Any], ...] = tuple([] for _ in _UPSERT_COLUMNS)
    seen: set[str] = set()
    for person in people:
        values = person_row(vault, person)
        if values["id_index"] in seen:
            continue
        seen.add(values["id_index"])
        values["groups"] = json.dumps(values["groups"]) if values["groups"] else "[]"
        for column, name in zip(columns, _UPSERT_COLUMNS, strict=True):
            column.append(values[name])
    # execute_query drops the rows of an INSERT ... RETURNING; execute_query_dict keeps them.
    result = await conn.execute_query_dict(_UPSERT_SQL, [*columns, dt.datetime.now(dt.UTC)])
    return {r["id_index"]: r["id"] for r in result}


async def known_names(conn: BaseDBAsyncClient, indexes: Sequence[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """``{id_index: (trainee id, registered name)}`` for the people already registered."""
    if not indexes:
        return {}
    _, rows = await conn.execute_query(
        "SELECT id, id_index, name FROM trainee WHERE id_index = ANY($1::text[])", [list(indexes)]
    )
    return {r["id_index"]: (r["id"], r["name"]) for r in rows}


@dataclass(frozen=True)
class EnrolmentFacts:
    """What an institution said about a person on its latest enrolment of the person."""

    name: str
    phone_masked: str | None
    household_division: str | None
    groups: list[str]


async def institution_facts(
    conn: BaseDBAsyncClient, trainee_id: uuid.UUID, institution_id: uuid.UUID
) -> EnrolmentFacts | None:
    """The facts of the institution's latest enrolment of the person, or None."""
    rows = await conn.execute_query_dict(
        "SELECT COALESCE(e.name_as_given, t.name) AS name, e.phone_masked, e.household_division_id, "
        "e.groups::text AS groups FROM enrolment e JOIN cohort c ON c.id = e.cohort_id "
        "JOIN trainee t ON t.id = e.trainee_id WHERE e.trainee_id = $1 AND c.institution_id = $2 "
        "ORDER BY e.created_at DESC, e.id DESC LIMIT 1",
        [trainee_id, institution_id],
    )
    if not rows:
        return None
    row = rows[0]
    return EnrolmentFacts(
        name=row["name"],
        phone_masked=row["phone_masked"],
        household_division=row["household_division_id"],
        groups=list(json.loads(row["groups"])),
    )


# ---------------------------------------------------------------------------
# The bureau's view of a person (the workbench's 人员 page)
# ---------------------------------------------------------------------------


def named(scope: QuerySet[Trainee], name: str) -> QuerySet[Trainee]:
    """The people of ``scope`` (:func:`registry.core.tenancy.visible_trainees`) whose
    registered name, or a name an enrolment gave, holds ``name``; by name."""
    matching = Trainee.filter(Q(name__icontains=name) | Q(enrolments__name_as_given__icontains=name))
    return (
        Trainee.filter(id__in=Subquery(scope.values("id")))
        .filter(id__in=Subquery(matching.values("id")))
        .order_by("name", "id")
    )


async def division_names(conn: BaseDBAsyncClient, codes: Sequence[str | None]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT code, name FROM division WHERE code = ANY($1::text[])", [wanted]
    )
    return {row["code"]: row["name"] for row in rows}


async def occupation_names(conn: BaseDBAsyncClient, codes: Sequence[str | None]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    rows = await conn.execute_query_dict(
        "SELECT code, name FROM occupation WHERE code = ANY($1::text[])", [wanted]
    )
    return {row["code"]: row["name"] for row in rows}


async def enrolments_of(
    conn: BaseDBAsyncClient, trainee_id: uuid.UUID, cohorts: tuple[str, tuple[object, ...]]
) -> list[dict[str, Any]]:
    """The person's enrolments in the cohorts of ``cohorts`` (a condition on ``cohort AS c``
    from :func:`registry.core.tenancy.visible_cohorts_sql`, numbered from ``$2``), newest
    first, with their cohort and institution."""
    condition, params = cohorts
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        "SELECT e.id, e.attended_hours, e.outcome, e.name_as_given, e.review_flags::text AS review_flags, "
        "c.id AS cohort_id, c.reference AS cohort_reference, c.name AS cohort_name, c.kind AS cohort_kind, "
        "c.start_date, c.end_date, c.planned_hours, c.startup_course, c.occupation_id AS occupation_code, "
        "o.name AS occupation_name, c.certificate_level, i.name AS institution_name, d.name AS division_name "
        "FROM enrolment AS e JOIN cohort AS c ON c.id = e.cohort_id JOIN institution AS i ON i.id = c.institution_id "
        "JOIN division AS d ON d.code = c.division_id LEFT JOIN occupation AS o ON o.code = c.occupation_id "
        f"WHERE e.trainee_id = $1 AND {condition} ORDER BY c.start_date DESC, e.created_at DESC, e.id",
        [trainee_id, *params],
    )
    for row in rows:
        row["review_flags"] = list(json.loads(row["review_flags"] or "[]"))
    return rows


async def certificates_of(scope: QuerySet[Certificate], trainee_id: uuid.UUID) -> list[dict[str, Any]]:
    """The person's certificates in ``scope`` (:func:`registry.core.tenancy.visible_certificates`),
    newest first; ``number`` is None for a number that is an ID number (``number_masked``)."""
    rows: list[dict[str, Any]] = await (
        scope.filter(trainee_id=trainee_id)
        .order_by("-issue_date", "id")
        .values(
            "id",
            "number",
            "number_masked",
            "kind",
            "level",
            "is_renewal",
            "issue_date",
            "status",
            "status_reason",
            "occupation_id",
            occupation_name="occupation__name",
            issuer_name="issuer__name",
        )
    )
    return rows


async def claim_lines_of(
    conn: BaseDBAsyncClient, trainee_id: uuid.UUID, claims: tuple[str, list[Any]]
) -> list[dict[str, Any]]:
    """The person's lines on the claims of ``claims`` (a WHERE clause on ``subsidy_claim AS s``
    with one ``{p}`` placeholder: :func:`registry.core.tenancy.visible_claims_sql`), newest
    claim first."""
    clause, params = claims
    condition = clause.format(p="$2") if params else clause
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        "SELECT l.id, l.claim_id, l.seq, l.kind, l.occupation_code, o.name AS occupation_name, l.level, "
        "l.startup_course, l.year, l.total_fen, l.outcome, l.flags::text AS flags, l.decision, l.reason, "
        "l.notice_id, l.grant_id, s.status AS claim_status, s.filed_at, c.reference AS cohort_reference, "
        "c.name AS cohort_name, i.name AS institution_name, "
        "EXISTS (SELECT 1 FROM subsidy_payment AS p WHERE p.grant_id = l.grant_id) AS paid, "
        "EXISTS (SELECT 1 FROM subsidy_grant AS r WHERE r.reverses_id = l.grant_id) AS clawed_back "
        "FROM subsidy_line AS l JOIN subsidy_claim AS s ON s.id = l.claim_id JOIN cohort AS c ON c.id = s.cohort_id "
        "JOIN institution AS i ON i.id = s.institution_id LEFT JOIN occupation AS o ON o.code = l.occupation_code "
        f"WHERE l.trainee_id = $1 AND {condition} ORDER BY s.filed_at DESC, s.id, l.seq",
        [trainee_id, *params],
    )
    for row in rows:
        row["flags"] = list(json.loads(row["flags"] or "[]"))
    return rows


async def paid_grants(conn: BaseDBAsyncClient, grant_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not grant_ids:
        return set()
    rows = await conn.execute_query_dict(
        "SELECT DISTINCT grant_id FROM subsidy_payment WHERE grant_id = ANY($1::uuid[])", [list(grant_ids)]
    )
    return {row["grant_id"] for row in rows}
