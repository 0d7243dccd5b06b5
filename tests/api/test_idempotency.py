"""``Idempotency-Key`` holds under concurrency (DESIGN.md section 8; issue 7 section 4).

For every create endpoint: two (and five) parallel requests with one key and one body do
the work once and all answer alike (the replays marked ``Idempotent-Replay: true``); the
same key with another body is a 409; a refused request (4xx) stores nothing, so the same
key may be sent again; a crash between the work and its stored response leaves neither,
so a retry does the work once; a request whose twin is still running waits, then answers
409 ``request_in_progress`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from registry.core import idempotency
from registry.models.auth import ApiKey, User
from registry.models.certificate import Certificate
from registry.models.idempotency import IdempotencyKey
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment
from tests.api.support import OCCUPATION, Actor, Api, Make, body, certificate_body, item, problem
from tests.api.support import owner as institution_api
from tests.factories import YEARS, make_uscc

Count = Callable[[], Awaitable[int]]


@dataclass
class Case:
    """One create endpoint: who posts what where, and how to count the work it did."""

    actor: Actor
    path: str
    body: Any
    count: Count
    other_body: Any


async def _api_keys(client: httpx.AsyncClient, sign_in: Make) -> Case:
    actor = await sign_in("institution")
    name = f"sync-{uuid.uuid4().hex[:8]}"
    inst = actor.institution
    assert inst is not None
    return Case(
        actor,
        "/api-keys",
        {"name": name},
        lambda: ApiKey.filter(institution_id=inst.id, name=name).count(),
        {"name": f"{name}-other"},
    )


async def _users(client: httpx.AsyncClient, sign_in: Make) -> Case:
    actor = await sign_in("admin")
    username = f"county-{uuid.uuid4().hex[:8]}"
    data = {"username": username, "password": "a long enough password", "role": "auditor"}
    return Case(
        actor,
        "/users",
        data,
        lambda: User.filter(username=username).count(),
        {**data, "display_name": "someone else"},
    )


async def _cohorts(client: httpx.AsyncClient, sign_in: Make) -> Case:
    api = await institution_api(client, sign_in)
    data = body()
    inst = api.actor.institution
    assert inst is not None
    return Case(
        api.actor,
        "/cohorts",
        data,
        lambda: Cohort.filter(institution_id=inst.id, reference=data["reference"]).count(),
        {**data, "capacity": 25},
    )


async def _enrolments(client: httpx.AsyncClient, sign_in: Make) -> Case:
    api = await institution_api(client, sign_in)
    cohort = await api.cohort()
    return Case(
        api.actor,
        f"/cohorts/{cohort['id']}/enrolments",
        item(),
        lambda: Enrolment.filter(cohort_id=cohort["id"]).count(),
        item(),
    )


async def _certificates(client: httpx.AsyncClient, sign_in: Make) -> Case:
    actor = await sign_in("assessor")
    data = certificate_body(occupation_code=OCCUPATION)
    return Case(
        actor,
        "/certificates",
        data,
        lambda: Certificate.filter(number=data["number"]).count(),
        certificate_body(occupation_code=OCCUPATION),
    )


def institution_body() -> dict[str, Any]:
    return {
        "uscc": make_uscc(),
        "name": f"洛阳技能培训学校{uuid.uuid4().hex[:4]}",
        "division_code": "410305",
        "kinds": ["training"],
        "approved_years": YEARS,
    }


async def _institutions(client: httpx.AsyncClient, sign_in: Make) -> Case:
    actor = await sign_in("admin")
    data = institution_body()
    return Case(
        actor,
        "/institutions",
        data,
        lambda: Institution.filter(uscc=data["uscc"]).count(),
        institution_body(),
    )


CASES: dict[str, Callable[[httpx.AsyncClient, Make], Awaitable[Case]]] = {
    "api-keys": _api_keys,
    "users": _users,
    "cohorts": _cohorts,
    "enrolments": _enrolments,
    "certificates": _certificates,
    "institutions": _institutions,
}


def _keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def _stored_keys(actor: Actor, key: str) -> int:
    return await IdempotencyKey.filter(principal=f"user:{actor.user_id}", key=key).count()


@pytest.mark.parametrize("parallel", [2, 5])
@pytest.mark.parametrize("endpoint", list(CASES))
async def test_parallel_requests_with_one_key_do_the_work_once(
    client: httpx.AsyncClient, sign_in: Make, endpoint: str, parallel: int
) -> None:
    case = await CASES[endpoint](client, sign_in)
    api, key = Api(client, case.actor), uuid.uuid4().hex
    responses = await asyncio.gather(
        *(api.post(case.path, case.body, headers=_keyed(key)) for _ in range(parallel))
    )
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * parallel, [r.text for r in responses]
    assert await case.count() == 1
    assert await _stored_keys(case.actor, key) == 1
    firsts = [r for r in responses if r.headers.get("idempotent-replay") != "true"]
    replays = [r for r in responses if r.headers.get("idempotent-replay") == "true"]
    assert len(firsts) == 1 and len(replays) == parallel - 1
    first = firsts[0].json()
    if endpoint == "api-keys":
        # The secret is shown once: never stored, so a replay carries none.
        assert first["key"], first
        assert all(r.json() == {**first, "key": None} for r in replays)
        assert await ApiKey.filter(institution_id=first["institution_id"]).count() == 1
    else:
        assert all(r.json() == first for r in replays)
    # A later retry replays too; the same key with another body is refused.
    again = await api.post(case.path, case.body, headers=_keyed(key))
    assert again.status_code == 201 and again.headers.get("idempotent-replay") == "true"
    problem(await api.post(case.path, case.other_body, headers=_keyed(key)), 409, "idempotency_key_reused")
    assert await case.count() == 1


@pytest.mark.parametrize("endpoint", list(CASES))
async def test_parallel_requests_with_one_key_and_two_bodies(
    client: httpx.AsyncClient, sign_in: Make, endpoint: str
) -> None:
    """One of them does its work; the other is told its key was used for another request."""
    case = await CASES[endpoint](client, sign_in)
    api, key = Api(client, case.actor), uuid.uuid4().hex
    one, two = await asyncio.gather(
        api.post(case.path, case.body, headers=_keyed(key)),
        api.post(case.path, case.other_body, headers=_keyed(key)),
    )
    assert sorted([one.status_code, two.status_code]) == [201, 409], [one.text, two.text]
    refused = one if one.status_code == 409 else two
    problem(refused, 409, "idempotency_key_reused")
    assert await _stored_keys(case.actor, key) == 1


async def test_a_refused_request_stores_nothing_and_the_key_may_be_sent_again(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    """A 4xx answer from the use case is not stored: the key is free for a corrected body."""
    admin = Api(client, await sign_in("admin"))
    key = uuid.uuid4().hex
    username = f"county-{uuid.uuid4().hex[:8]}"
    bad = {
        "username": username,
        "password": "a long enough password",
        "role": "auditor",
        "division_code": "999999",
    }
    refused = problem(await admin.post("/users", bad, headers=_keyed(key)), 422, "validation_failed")
    assert [e["code"] for e in refused["errors"]] == ["unknown_division"]
    assert await _stored_keys(admin.actor, key) == 0
    # The same body again is judged again (the same 422, not a replay).
    again = await admin.post("/users", bad, headers=_keyed(key))
    assert again.status_code == 422 and again.headers.get("idempotent-replay") is None
    fixed = await admin.post("/users", {**bad, "division_code": "410305"}, headers=_keyed(key))
    assert fixed.status_code == 201, fixed.text
    assert await User.filter(username=username).count() == 1 and await _stored_keys(admin.actor, key) == 1
    # Once the work is stored, the same key and body replay it.
    replay = await admin.post("/users", {**bad, "division_code": "410305"}, headers=_keyed(key))
    assert replay.status_code == 201 and replay.headers.get("idempotent-replay") == "true"


async def test_a_crash_before_the_response_is_stored_leaves_no_work(
    client: httpx.AsyncClient, sign_in: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The work and its stored response commit together: a failure between the two (here,
    writing the stored response raises) rolls the work back, so the retry does it once."""
    admin = Api(client, await sign_in("admin"))
    key = uuid.uuid4().hex
    username = f"county-{uuid.uuid4().hex[:8]}"
    data = {"username": username, "password": "a long enough password", "role": "auditor"}

    async def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the process died before the response was stored")

    with monkeypatch.context() as patched:
        patched.setattr(idempotency, "save", crash)
        failed = await admin.post("/users", data, headers=_keyed(key))
    assert failed.status_code == 500
    assert await User.filter(username=username).count() == 0
    assert await _stored_keys(admin.actor, key) == 0
    retried = await admin.post("/users", data, headers=_keyed(key))
    assert retried.status_code == 201, retried.text
    assert retried.headers.get("idempotent-replay") is None
    assert await User.filter(username=username).count() == 1 and await _stored_keys(admin.actor, key) == 1


async def test_a_request_whose_twin_is_still_running_is_told_to_retry(
    client: httpx.AsyncClient, sign_in: Make, owner: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for a running twin is bounded: 409 ``request_in_progress`` with ``Retry-After``,
    and nothing done; once the twin is gone the key works."""
    admin = Api(client, await sign_in("admin"))
    key = uuid.uuid4().hex
    data = institution_body()
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    # A twin holding the key: the lock its transaction holds while it works.
    async with owner.transaction():
        await owner.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            idempotency.lock_name(f"user:{admin.actor.user_id}", key),
        )
        started = dt.datetime.now(dt.UTC)
        busy = await admin.post("/institutions", data, headers=_keyed(key))
        waited = dt.datetime.now(dt.UTC) - started
    problem(busy, 409, "request_in_progress")
    assert int(busy.headers["retry-after"]) >= 1
    assert dt.timedelta(seconds=0.2) <= waited < dt.timedelta(seconds=5)
    assert await Institution.filter(uscc=data["uscc"]).count() == 0
    assert await _stored_keys(admin.actor, key) == 0
    done = await admin.post("/institutions", data, headers=_keyed(key))
    assert done.status_code == 201, done.text
    assert await Institution.filter(uscc=data["uscc"]).count() == 1
