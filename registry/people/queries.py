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

from registry.core.crypto import Vault
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
    "ON CONFLICT (id_index) DO UPDATE SET "
    "phone_index = COALESCE(EXCLUDED.phone_index, trainee.phone_index), "
    "phone_cipher = COALESCE(EXCLUDED.phone_cipher, trainee.phone_cipher), "
    "phone_masked = COALESCE(EXCLUDED.phone_masked, trainee.phone_masked), "
    "household_division_id = COALESCE(EXCLUDED.household_division_id, trainee.household_division_id), "
    "groups = CASE WHEN EXCLUDED.groups = '[]'::jsonb THEN trainee.groups ELSE EXCLUDED.groups END, "
    "updated_at = EXCLUDED.updated_at "
    "RETURNING id, id_index"
)


async def upsert_people(
    conn: BaseDBAsyncClient, vault: Vault, people: Sequence[Person]
) -> dict[str, uuid.UUID]:
    """Insert new people and refresh known ones (phone, household, groups when given),
    set-based in one statement (the database draws the new ids). Returns
    ``{id_index: trainee id}`` for all of them. A known person's name is not changed here:
    callers compare names first."""
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
