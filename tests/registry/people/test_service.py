from __future__ import annotations

import datetime as dt
import random

from tortoise.transactions import in_transaction

from registry.core.crypto import Vault
from registry.models.training import Trainee
from registry.people.queries import ID_CONTEXT, PHONE_CONTEXT, Person, id_index, upsert_people
from registry.people.rules.idnumber import make_number, validate


def person(seq: int, phone: str | None = None, groups: tuple[str, ...] = ()) -> Person:
    number = make_number("410381", dt.date(1990, 1, 1) + dt.timedelta(days=random.randrange(9000)), seq)
    return Person(id=validate(number), name="张三", phone=phone, groups=groups)


async def test_people_are_stored_encrypted_indexed_and_masked(database: None, vault: Vault) -> None:
    p = person(11, phone="13812345678", groups=("veteran",))
    async with in_transaction() as conn:
        ids = await upsert_people(conn, vault, [p])
    trainee = await Trainee.get(id=ids[id_index(vault, p.id.number)])
    assert p.id.number.encode() not in bytes(trainee.id_cipher)
    assert vault.decrypt(trainee.id_cipher, context=ID_CONTEXT) == p.id.number
    assert vault.decrypt(trainee.phone_cipher, context=PHONE_CONTEXT) == "13812345678"
    assert trainee.id_masked == p.id.number[:6] + "********" + p.id.number[-4:]
    assert trainee.phone_masked == "138****5678"
    assert trainee.sex == "M" and trainee.groups == ["veteran"]


async def test_upsert_finds_the_same_person_and_keeps_known_values(database: None, vault: Vault) -> None:
    p = person(22, phone="13912345678", groups=("graduate",))
    async with in_transaction() as conn:
        first = await upsert_people(conn, vault, [p, p])
    again = Person(id=p.id, name=p.name, phone=None, groups=())
    async with in_transaction() as conn:
        second = await upsert_people(conn, vault, [again])
    assert first == second
    trainee = await Trainee.get(id=next(iter(first.values())))
    assert trainee.phone_masked == "139****5678" and trainee.groups == ["graduate"]
