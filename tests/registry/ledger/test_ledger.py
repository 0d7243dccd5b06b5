"""The grant ledger on a real PostgreSQL, as the application's role: append-only, once per
slot, at most three a year, whatever the code does and however transactions interleave."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from registry.core import db
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.enums import CertificateKind, CohortKind, StartupCourse, SubsidyKind
from registry.ledger import queries, service
from registry.ledger.rules import NewGrant
from registry.models.audit import AuditEvent
from registry.models.ledger import SubsidyGrant
from registry.models.reference import Occupation
from registry.people.queries import Person, id_index, upsert_people
from registry.people.rules.idnumber import validate
from tests import factories
from tests.conftest import Servers

OCCUPATIONS = ("6-31-01-03", "6-18-02-04", "4-03-02-01", "4-02-04-06")
ELECTRICIAN, WELDER, COOK, DRONE = OCCUPATIONS
PERMISSION = r"permission denied"


@pytest.fixture(scope="module")
async def reference(database: None) -> None:
    for code in OCCUPATIONS:
        await Occupation.get_or_create(code=code, defaults={"name": code, "level": 4})


@pytest.fixture
async def person(reference: None, vault: Vault) -> uuid.UUID:
    p = Person(id=validate(factories.new_id_number()), name="张小明")
    async with in_transaction() as conn:
        ids = await upsert_people(conn, vault, [p])
    return ids[id_index(vault, p.id.number)]


def grant(trainee_id: uuid.UUID, occupation: str = ELECTRICIAN, level: int = 5, **overrides: Any) -> NewGrant:
    row = NewGrant(
        trainee_id=trainee_id,
        kind=SubsidyKind.TRAINING,
        cohort_kind=CohortKind.VOCATIONAL,
        year=2025,
        amount_fen=120000,
        policy_code="henan-2022",
        granted_by="system:test",
        occupation_code=occupation,
        level=level,
        certificate_kind=CertificateKind.SKILL_LEVEL,
    )
    return dataclasses.replace(row, **overrides)


def startup(trainee_id: uuid.UUID, course: StartupCourse = StartupCourse.SYB, **overrides: Any) -> NewGrant:
    return grant(
        trainee_id,
        cohort_kind=CohortKind.STARTUP,
        occupation_code=None,
        level=None,
        certificate_kind=CertificateKind.STARTUP,
        startup_course=course,
        **overrides,
    )


async def insert(*rows: NewGrant) -> list[uuid.UUID]:
    async with in_transaction() as conn:
        return await queries.insert_grants(conn, list(rows))


async def reverse(grant_id: uuid.UUID, reason: str = "certificate revoked") -> uuid.UUID:
    async with in_transaction() as conn:
        return await queries.reverse_grant(conn, grant_id, reason, "system:test")


RAW_INSERT = (
    "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, occupation_id, level, certificate_kind, "
    "startup_course, year, amount_fen, policy_code, granted_by, granted_at, reverses_id, reason) "
    "VALUES (gen_random_uuid(), $1, $2, 'vocational', $3, $4, 'skill_level', NULL, $5, $6, 'henan-2022', "
    "'system:raw', now(), $7, $8)"
)


async def raw_insert(
    conn: asyncpg.Connection,
    trainee_id: uuid.UUID,
    occupation: str = ELECTRICIAN,
    level: int = 5,
    *,
    kind: str = "training",
    year: int = 2025,
    amount: int = 120000,
    reverses: uuid.UUID | None = None,
    reason: str = "",
) -> None:
    """A writer that skips the ledger's module: only the database stands in its way."""
    await conn.execute(RAW_INSERT, trainee_id, kind, occupation, level, year, amount, reverses, reason)


@pytest.fixture
async def app_conn(servers: Servers) -> Any:
    """A connection of its own as the application's role (asyncpg, outside Tortoise's pool)."""
    conns: list[asyncpg.Connection] = []

    async def make() -> asyncpg.Connection:
        conn = await asyncpg.connect(**db.credentials_from_url(servers.database_url))
        conns.append(conn)
        return conn

    yield make
    for conn in conns:
        await conn.close()


# --- append-only ------------------------------------------------------------------------


async def test_the_application_may_only_insert_and_select(person: uuid.UUID) -> None:
    await insert(grant(person))
    conn = connections.get("default")
    for sql in (
        f"UPDATE subsidy_grant SET amount_fen = 1 WHERE trainee_id = '{person}'",
        f"DELETE FROM subsidy_grant WHERE trainee_id = '{person}'",
        "TRUNCATE subsidy_grant",
        "ALTER TABLE subsidy_grant DISABLE TRIGGER subsidy_grant_append_only",
    ):
        with pytest.raises(Exception, match=PERMISSION + "|must be (the )?owner"):
            await conn.execute_query(sql)
    _, rows = await conn.execute_query(
        "SELECT p, has_table_privilege(current_user, 'subsidy_grant', p) AS ok "
        "FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p"
    )
    assert {r["p"]: r["ok"] for r in rows} == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "REFERENCES": False,
        "TRIGGER": False,
    }


async def test_the_owner_is_stopped_by_the_trigger(person: uuid.UUID, owner: asyncpg.Connection) -> None:
    await insert(grant(person))
    for sql in (
        "UPDATE subsidy_grant SET amount_fen = 1 WHERE trainee_id = $1",
        "DELETE FROM subsidy_grant WHERE trainee_id = $1",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await owner.execute(sql, person)
    with pytest.raises(asyncpg.PostgresError, match="append-only: TRUNCATE"):
        await owner.execute("TRUNCATE subsidy_grant CASCADE")
    assert await owner.fetchval("SELECT count(*) FROM subsidy_grant WHERE trainee_id = $1", person) == 1


# --- once per slot ----------------------------------------------------------------------


async def test_the_indexes_hold_whatever_the_code_does(person: uuid.UUID, app_conn: Any) -> None:
    conn = await app_conn()
    await raw_insert(conn, person, ELECTRICIAN, 5)
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await raw_insert(conn, person, ELECTRICIAN, 5)
    assert caught.value.constraint_name == "subsidy_grant_level_once"
    await raw_insert(conn, person, ELECTRICIAN, 4)  # another level
    await raw_insert(conn, person, ELECTRICIAN, 5, kind="assessment")  # the assessment subsidy's own slot
    with pytest.raises(asyncpg.UniqueViolationError):
        await raw_insert(conn, person, ELECTRICIAN, 5, kind="assessment")
    await conn.execute(
        "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, startup_course, certificate_kind, year, "
        "amount_fen, policy_code, granted_by, granted_at, reason) VALUES "
        "(gen_random_uuid(), $1, 'training', 'startup', 'GYB', 'startup', 2024, 30000, 'p', 'x', now(), '')",
        person,
    )
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await conn.execute(
            "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, startup_course, year, "
            "amount_fen, policy_code, granted_by, granted_at, reason) VALUES "
            "(gen_random_uuid(), $1, 'training', 'startup', 'GYB', 2026, 30000, 'p', 'x', now(), '')",
            person,
        )
    assert caught.value.constraint_name == "subsidy_grant_startup_once"


async def test_the_checks_refuse_shapes_that_are_not_grants(person: uuid.UUID, app_conn: Any) -> None:
    conn = await app_conn()
    with pytest.raises(asyncpg.CheckViolationError):
        await raw_insert(conn, person, ELECTRICIAN, 9)
    with pytest.raises(asyncpg.CheckViolationError):
        await raw_insert(conn, person, ELECTRICIAN, 5, amount=-5)
    with pytest.raises(asyncpg.CheckViolationError):
        await raw_insert(conn, person, ELECTRICIAN, 5, kind="bonus")


async def test_a_second_grant_is_a_conflict_naming_the_row_and_slot(person: uuid.UUID) -> None:
    await insert(grant(person))
    with pytest.raises(Conflict) as caught:
        await insert(grant(person, WELDER, 3), grant(person))
    assert caught.value.code == "already_granted"
    assert [(e.row, e.code) for e in caught.value.errors] == [(1, "already_granted")]
    assert ELECTRICIAN in caught.value.message and "level 5" in caught.value.message
    history = await queries.history_of(connections.get("default"), [person])
    assert len(history[person]) == 1  # all or nothing: the welder row was not written either


async def test_a_clawed_back_grant_keeps_its_slot(person: uuid.UUID) -> None:
    [first] = await insert(
        grant(person),
    )
    await reverse(first)
    with pytest.raises(Conflict, match="already granted"):
        await insert(grant(person))
    [course] = await insert(startup(person))
    await reverse(course)
    with pytest.raises(Conflict):
        await insert(startup(person))


async def test_a_line_is_granted_once(person: uuid.UUID, vault: Vault) -> None:
    [line] = await factories.computed_line_ids(vault)
    await insert(grant(person, line_id=line))
    with pytest.raises(Conflict, match=str(line)):
        await insert(grant(person, WELDER, line_id=line))


async def test_a_malformed_row_is_refused_before_the_database(person: uuid.UUID) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await insert(grant(person), grant(person, level=None))
    assert [e.row for e in caught.value.errors] == [1]


async def test_outside_a_transaction_the_ledger_refuses_to_write(person: uuid.UUID) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        await queries.insert_grants(connections.get("default"), [grant(person)])


# --- concurrency --------------------------------------------------------------------------


async def _racing(rows_per_tx: list[list[NewGrant]]) -> list[BaseException | list[uuid.UUID]]:
    """Each batch in a transaction of its own, on a connection of its own, all started before
    any writes, each holding its transaction open a moment after writing."""
    barrier = asyncio.Barrier(len(rows_per_tx))

    async def one(rows: list[NewGrant]) -> list[uuid.UUID]:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")
            await barrier.wait()
            ids = await queries.insert_grants(conn, rows)
            await asyncio.sleep(0.1)
            return ids

    return await asyncio.gather(*(one(rows) for rows in rows_per_tx), return_exceptions=True)


async def test_concurrent_inserts_of_one_grant_one_wins(person: uuid.UUID) -> None:
    results = await _racing([[grant(person)], [grant(person)]])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "list"]
    assert [r.code for r in results if isinstance(r, Conflict)] == ["already_granted"]
    history = await queries.history_of(connections.get("default"), [person])
    assert len(history[person]) == 1


async def test_four_grants_in_a_year_in_concurrent_transactions_three_land(person: uuid.UUID) -> None:
    results = await _racing([[grant(person, occupation)] for occupation in OCCUPATIONS])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "list", "list", "list"]
    assert [r.code for r in results if isinstance(r, Conflict)] == ["annual_cap"]
    history = await queries.history_of(connections.get("default"), [person])
    assert len(history[person]) == 3


async def test_the_trigger_alone_holds_the_cap_across_transactions(person: uuid.UUID, app_conn: Any) -> None:
    """Writers that skip the ledger's module: the trigger's lock and count still hold."""
    conns = [await app_conn() for _ in OCCUPATIONS]
    txs = [conn.transaction() for conn in conns]
    for tx in txs:
        await tx.start()
    await raw_insert(conns[0], person, OCCUPATIONS[0])
    others = [
        asyncio.create_task(raw_insert(c, person, o)) for c, o in zip(conns[1:], OCCUPATIONS[1:], strict=True)
    ]
    await asyncio.sleep(0.3)
    assert not any(t.done() for t in others)  # queued on the person's lock
    await txs[0].commit()
    outcomes: list[str] = []
    pending = {task: tx for task, tx in zip(others, txs[1:], strict=True)}
    while pending:
        # Whichever holds the lock now finishes; end its transaction so the next one may go.
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            tx = pending.pop(task)
            error = task.exception()
            if error is None:
                await tx.commit()
                outcomes.append("landed")
            else:
                assert isinstance(error, asyncpg.CheckViolationError)
                assert error.constraint_name == "subsidy_grant_annual_cap"
                await tx.rollback()
                outcomes.append("capped")
    assert sorted(outcomes) == ["capped", "landed", "landed"]


async def test_a_waiting_second_grant_is_refused_once_the_first_commits(person: uuid.UUID) -> None:
    first_written, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with in_transaction() as conn:
            await queries.insert_grants(conn, [grant(person)])
            first_written.set()
            await release.wait()

    t1 = asyncio.create_task(first())
    await first_written.wait()
    t2 = asyncio.create_task(insert(grant(person)))
    await asyncio.sleep(0.3)
    assert not t2.done()
    release.set()
    await t1
    with pytest.raises(Conflict, match="already granted"):
        await t2


async def test_repeatable_read_is_refused(person: uuid.UUID, app_conn: Any) -> None:
    conn = await app_conn()
    async with conn.transaction(isolation="repeatable_read"):
        with pytest.raises(asyncpg.PostgresError, match="READ COMMITTED"):
            await raw_insert(conn, person)


async def test_the_cap_counts_net_training_grants(person: uuid.UUID) -> None:
    ids = await insert(*(grant(person, occupation) for occupation in OCCUPATIONS[:3]))
    await insert(grant(person, DRONE, kind=SubsidyKind.ASSESSMENT))  # not a training grant
    await insert(grant(person, ELECTRICIAN, 4, year=2026))  # another year
    with pytest.raises(Conflict) as caught:
        await insert(grant(person, DRONE))
    assert caught.value.code == "annual_cap"
    await reverse(ids[0])
    await insert(grant(person, DRONE))  # a clawed-back grant frees its place in the cap


async def test_four_in_one_statement_by_a_raw_writer(person: uuid.UUID, app_conn: Any) -> None:
    conn = await app_conn()
    with pytest.raises(asyncpg.CheckViolationError, match="annual cap"):
        await conn.execute(
            "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, occupation_id, level, certificate_kind, "
            "year, amount_fen, policy_code, granted_by, granted_at, reason) "
            "SELECT gen_random_uuid(), $1, 'training', 'vocational', o, 5, 'skill_level', 2025, 1, 'p', 'x', now(), '' "
            "FROM unnest($2::text[]) AS o",
            person,
            list(OCCUPATIONS),
        )


# --- reversals ----------------------------------------------------------------------------


async def test_a_reversal_is_a_new_row_and_only_once(person: uuid.UUID, vault: Vault) -> None:
    [line] = await factories.computed_line_ids(vault)
    [grant_id] = await insert(grant(person, amount_fen=160000, line_id=line))
    reversal_id = await reverse(grant_id)
    original = await SubsidyGrant.get(id=grant_id)
    row = await SubsidyGrant.get(id=reversal_id)
    assert (row.reverses_id, row.amount_fen, row.reason, row.granted_by) == (  # type: ignore[attr-defined]
        grant_id,
        -160000,
        "certificate revoked",
        "system:test",
    )
    assert (row.trainee_id, row.occupation_id, row.level, row.year, row.line_id) == (  # type: ignore[attr-defined]
        original.trainee_id,  # type: ignore[attr-defined]
        original.occupation_id,  # type: ignore[attr-defined]
        original.level,
        original.year,
        original.line_id,
    )
    with pytest.raises(Conflict) as caught:
        await reverse(grant_id)
    assert caught.value.code == "already_reversed"
    with pytest.raises(Conflict) as caught:
        await reverse(reversal_id)
    assert caught.value.code == "not_a_grant"
    with pytest.raises(NotFound):
        await reverse(uuid.uuid4())
    with pytest.raises(ValidationFailed):
        await reverse(grant_id, reason="  ")


async def test_concurrent_reversals_one_wins(person: uuid.UUID) -> None:
    [grant_id] = await insert(grant(person))
    results = await asyncio.gather(reverse(grant_id), reverse(grant_id), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "UUID"]


async def test_a_raw_reversal_must_mirror_its_grant(person: uuid.UUID, app_conn: Any) -> None:
    [grant_id] = await insert(grant(person))
    conn = await app_conn()
    with pytest.raises(asyncpg.CheckViolationError, match="negates its amount"):
        await raw_insert(conn, person, amount=-1, reverses=grant_id, reason="wrong amount")
    with pytest.raises(asyncpg.CheckViolationError):
        await raw_insert(conn, person, amount=-120000, reverses=grant_id, reason="")  # no reason
    await raw_insert(conn, person, amount=-120000, reverses=grant_id, reason="mirror")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await raw_insert(conn, person, amount=-120000, reverses=grant_id, reason="twice")
    assert caught.value.constraint_name == queries.REVERSAL_INDEX


async def test_claw_back_audits_and_is_the_city_bureaus(person: uuid.UUID) -> None:
    [grant_id] = await insert(grant(person))
    with pytest.raises(PermissionDenied):
        await service.claw_back(factories.auditor("410305"), grant_id, "revoked")
    reversal_id = await service.claw_back(factories.auditor(), grant_id, "certificate revoked")
    event = await AuditEvent.filter(action="ledger.reverse", entity_id=str(grant_id)).get()
    assert event.after == {"reversal_id": str(reversal_id), "reason": "certificate revoked"}


# --- history ------------------------------------------------------------------------------


async def test_history_of_returns_the_facts(person: uuid.UUID, vault: Vault) -> None:
    other = uuid.uuid4()
    nobody = uuid.uuid4()
    ids = await insert(grant(person, ELECTRICIAN, 4), startup(person, year=2024), grant(person, WELDER, 3))
    await reverse(ids[2])
    history = await queries.history_of(connections.get("default"), [person, nobody, other])
    assert history[nobody] == [] and history[other] == []
    facts = history[person]
    assert [(f.year, f.occupation_code, f.level, f.startup_course) for f in facts[:1]] == [
        (2024, None, None, StartupCourse.SYB)
    ]
    by_id = {f.id: f for f in facts}
    assert set(by_id) == set(ids)  # the reversal row is not a fact of its own
    assert (
        by_id[ids[0]].kind is SubsidyKind.TRAINING
        and by_id[ids[0]].certificate_kind is CertificateKind.SKILL_LEVEL
    )
    assert (by_id[ids[2]].reversed, by_id[ids[2]].net_fen, by_id[ids[2]].amount_fen) == (True, 0, 120000)
    assert (by_id[ids[0]].reversed, by_id[ids[0]].net_fen) == (False, 120000)
