"""Key rotation: rows written under an old vault are re-encrypted, re-indexed, and a second
run finds nothing to do.

The database is shared: the session vault's rows are not ours to rotate, so every run here
is scoped (``RotationScope``) to the rows this test made under its own old keys.
"""

from __future__ import annotations

import os
import uuid

import pytest
from tortoise.transactions import in_transaction

from registry.core.crypto import Vault
from registry.core.errors import ConfigurationError, Conflict, PermissionDenied
from registry.core.principal import Principal, system
from registry.enums import Role
from registry.models.audit import AuditEvent
from registry.models.training import ImportBatch, Trainee
from registry.people.key_rotation import RotationScope, rotate_keys
from registry.people.queries import ID_CONTEXT, PHONE_CONTEXT, Person, upsert_people
from registry.people.rules.idnumber import validate
from registry.training.roster import service as roster_import
from tests.factories import acting_for as principal_of
from tests.factories import csv_bytes, make_cohort, new_institution
from tests.factories import new_id_number as new_number


def keys() -> tuple[bytes, bytes]:
    return os.urandom(32), os.urandom(32)


async def old_rows(old: Vault) -> tuple[list[str], RotationScope, Principal, uuid.UUID, uuid.UUID]:
    """Three trainees (two with phones) and a valid_rows import with a sealed refused row,
    all written under ``old``."""
    institution = await new_institution()
    cohort = await make_cohort(institution)
    principal = principal_of(institution)
    numbers = [new_number() for _ in range(3)]
    data = csv_bytes(
        [
            ["姓名", "身份证号", "手机号"],
            ["轮一", numbers[0], "13800000001"],
            ["轮二", numbers[1], "13800000002"],
            ["轮三", numbers[2], ""],
            ["轮四", "not a number", ""],
        ]
    )
    report = await roster_import.import_roster(
        principal, old, cohort.id, data, "rotate.csv", mode="valid_rows"
    )
    assert (report.accepted, report.refused, report.refused_rows_file) == (3, 1, True)
    assert report.batch_id is not None
    ids = [
        t.id
        for t in await Trainee.filter(id_index__in=[old.blind_index(n, context=ID_CONTEXT) for n in numbers])
    ]
    assert len(ids) == 3
    scope = RotationScope(trainee_ids=ids, import_batch_ids=[report.batch_id])
    return numbers, scope, principal, cohort.id, report.batch_id


async def test_rotation_re_encrypts_re_indexes_and_then_has_nothing_to_do(divisions: None) -> None:
    old_data, old_index = keys()
    new_data, new_index = keys()
    old = Vault(data_key=old_data, index_key=old_index)
    numbers, scope, owner, cohort_id, batch_id = await old_rows(old)
    # Step 1 of the procedure: the new data key is current, the old one is still readable.
    rotating = Vault(data_key=new_data, index_key=old_index, previous_data_keys=(old_data,))
    before = {t.id: bytes(t.id_cipher) for t in await Trainee.filter(id__in=scope.trainee_ids)}

    check = await rotate_keys(system("test"), rotating, reindex=False, check=True, scope=scope)
    assert (check.trainees, check.trainees_reencrypted, check.sealed_reencrypted) == (3, 3, 1)
    assert not check.nothing_to_do and "still under an old data key" in check.message
    assert not check.audit_event
    after_check = {t.id: bytes(t.id_cipher) for t in await Trainee.filter(id__in=scope.trainee_ids)}
    assert after_check == before

    report = await rotate_keys(system("test"), rotating, batch_size=2, reindex=False, scope=scope)
    assert (report.trainees, report.trainees_reencrypted, report.trainees_reindexed) == (3, 3, 0)
    assert (report.sealed_batches, report.sealed_reencrypted) == (1, 1)
    # Every row now reads under the new data key alone; the ID numbers are unchanged.
    alone = Vault(data_key=new_data, index_key=old_index)
    trainees = {t.name: t for t in await Trainee.filter(id__in=scope.trainee_ids)}
    assert [
        alone.decrypt(trainees[n].id_cipher, context=ID_CONTEXT) for n in ("轮一", "轮二", "轮三")
    ] == numbers
    assert alone.decrypt(trainees["轮一"].phone_cipher, context=PHONE_CONTEXT) == "13800000001"  # type: ignore[arg-type]
    assert trainees["轮三"].phone_cipher is None and trainees["轮三"].phone_index is None
    assert all(not alone.needs_reencryption(t.id_cipher) for t in trainees.values())
    content = await roster_import.refused_rows_xlsx(owner, alone, cohort_id, batch_id)
    assert content[:2] == b"PK"
    # Without --reindex the indexes are the old index key's, untouched.
    assert trainees["轮一"].id_index == old.blind_index(numbers[0], context=ID_CONTEXT)

    # The index key changes: --reindex recomputes the blind indexes.
    new = Vault(data_key=new_data, index_key=new_index)
    check = await rotate_keys(system("test"), new, reindex=True, check=True, scope=scope)
    assert (check.trainees_reencrypted, check.trainees_reindexed, check.sealed_reencrypted) == (0, 3, 0)
    reindexed = await rotate_keys(system("test"), new, reindex=True, scope=scope)
    assert (reindexed.trainees_reencrypted, reindexed.trainees_reindexed) == (0, 3)
    trainees = {t.name: t for t in await Trainee.filter(id__in=scope.trainee_ids)}
    for name, number in zip(("轮一", "轮二", "轮三"), numbers, strict=True):
        assert trainees[name].id_index == new.blind_index(number, context=ID_CONTEXT)
        assert new.decrypt(trainees[name].id_cipher, context=ID_CONTEXT) == number
    assert trainees["轮二"].phone_index == new.blind_index("13800000002", context=PHONE_CONTEXT)

    # A second run finds nothing to do, and says so.
    again = await rotate_keys(system("test"), new, reindex=True, scope=scope)
    assert again.nothing_to_do and again.message.startswith("nothing to do")
    assert (again.trainees, again.sealed_batches) == (3, 1)
    unchanged = {t.id: bytes(t.id_cipher) for t in await Trainee.filter(id__in=scope.trainee_ids)}
    assert unchanged == {t.id: bytes(t.id_cipher) for t in trainees.values()}
    batch = await ImportBatch.get(id=batch_id)
    assert batch.refused_cells is not None and not new.needs_reencryption(batch.refused_cells)

    # One audit event per run that changed data: counts only.
    events = await AuditEvent.filter(action="keys.rotate", actor="system:test").order_by("-id").limit(3)
    assert events[0].after["trainees_reindexed"] == 0 and events[1].after["trainees_reindexed"] == 3
    assert all(n not in str(e.after) for e in events for n in numbers)


async def test_a_row_under_a_key_that_is_not_configured_stops_the_run(divisions: None) -> None:
    old_data, old_index = keys()
    old = Vault(data_key=old_data, index_key=old_index)
    _, scope, _, _, _ = await old_rows(old)
    forgot = Vault(data_key=os.urandom(32), index_key=old_index)  # the old key left out
    check = await rotate_keys(system("test"), forgot, reindex=False, check=True, scope=scope)
    assert check.trainees_reencrypted == 3  # counting needs no key
    with pytest.raises(ConfigurationError, match="REGISTRY_DATA_KEY_PREVIOUS"):
        await rotate_keys(system("test"), forgot, reindex=False, scope=scope)


async def test_only_an_administrator_rotates(vault: Vault) -> None:
    institution = Principal(kind="user", id=uuid.uuid4(), role=Role.INSTITUTION, institution_id=uuid.uuid4())
    with pytest.raises(PermissionDenied):
        await rotate_keys(institution, vault, reindex=False, check=True)


async def test_a_person_registered_again_during_a_re_index_stops_it(divisions: None) -> None:
    data_key, old_index = keys()
    old = Vault(data_key=data_key, index_key=old_index)
    numbers, scope, _, _, _ = await old_rows(old)
    new = Vault(data_key=data_key, index_key=os.urandom(32))
    async with in_transaction() as conn:  # enrolled under the new index key, not yet re-indexed
        again = await upsert_people(conn, new, [Person(id=validate(numbers[0]), name="轮一")])
    both = RotationScope(trainee_ids=[*(scope.trainee_ids or []), *again.values()], import_batch_ids=[])
    with pytest.raises(Conflict) as raised:
        await rotate_keys(system("test"), new, reindex=True, scope=both)
    assert raised.value.code == "duplicate_person" and numbers[0] not in raised.value.message


async def test_the_phones_given_at_enrolment_are_re_encrypted_and_re_indexed(divisions: None) -> None:
    from registry.models.training import Enrolment

    old_data, old_index = keys()
    new_data, new_index = keys()
    old = Vault(data_key=old_data, index_key=old_index)
    _, scope, _, cohort_id, _ = await old_rows(old)
    enrolments = await Enrolment.filter(cohort_id=cohort_id)
    scope = RotationScope(
        trainee_ids=scope.trainee_ids,
        import_batch_ids=scope.import_batch_ids,
        enrolment_ids=[e.id for e in enrolments],
    )
    assert sum(e.phone_cipher is not None for e in enrolments) == 2

    new = Vault(data_key=new_data, index_key=new_index, previous_data_keys=(old_data,))
    check = await rotate_keys(system("test"), new, reindex=True, check=True, scope=scope)
    assert (check.enrolments, check.enrolments_reencrypted, check.enrolments_reindexed) == (2, 2, 2)
    report = await rotate_keys(system("test"), new, batch_size=2, reindex=True, scope=scope)
    assert (report.enrolments, report.enrolments_reencrypted, report.enrolments_reindexed) == (2, 2, 2)

    alone = Vault(data_key=new_data, index_key=new_index)
    phones = {}
    for e in await Enrolment.filter(id__in=scope.enrolment_ids):
        if e.phone_cipher is None:
            assert e.phone_index is None
            continue
        assert not alone.needs_reencryption(e.phone_cipher)
        phone = alone.decrypt(e.phone_cipher, context=PHONE_CONTEXT)
        assert e.phone_index == alone.blind_index(phone, context=PHONE_CONTEXT)
        phones[phone] = e.phone_masked
    assert phones == {"13800000001": "138****0001", "13800000002": "138****0002"}
    again = await rotate_keys(system("test"), alone, reindex=True, scope=scope)
    assert again.nothing_to_do and again.enrolments == 2
