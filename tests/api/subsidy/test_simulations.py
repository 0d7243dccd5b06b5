"""``POST /api/v1/policies/simulate`` and ``GET /api/v1/policies/simulations/{id}``: 202 and
the result once the worker ran it, 403 for a role that may not simulate, 404 for a
simulation the caller may not see, 422 naming each field of a bad draft; the routes sit
beside ``GET /policies/{code}`` without clashing."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from registry.core.crypto import vault_from_settings
from registry.core.settings import Settings
from registry.enums import SubsidyKind
from registry.models.subsidy import PolicySimulation
from registry.subsidy import claims, simulations
from tests.api.support import Make, problem
from tests.factories import TODAY, Trainee, claimable_cohort, compute_filed, draft_policy, settle_simulations

pytestmark = pytest.mark.usefixtures("subsidy_policies")


@pytest.fixture(autouse=True)
async def settled(database: None) -> AsyncIterator[None]:
    yield
    await settle_simulations()


SIMULATE = "/api/v1/policies/simulate"
DIVISION = "410327"  # 宜阳县
YEAR = TODAY.year


def simulation_url(simulation_id: Any) -> str:
    return f"/api/v1/policies/simulations/{simulation_id}"


async def computed_claim(settings: Settings) -> uuid.UUID:
    vault = vault_from_settings(settings)
    cohort = await claimable_cohort(vault, [Trainee(), Trainee()], division_code=DIVISION)
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    report = await compute_filed(vault, filed.id)
    assert report is not None and report.status == "computed"
    return filed.id


async def test_simulate_answers_202_and_the_result_once_the_worker_ran_it(
    client: httpx.AsyncClient, sign_in: Make, settings: Settings
) -> None:
    await computed_claim(settings)
    county = await sign_in("auditor", division=DIVISION)
    response = await client.post(
        SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=county.headers
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert {"id", "status", "year", "draft_code", "requested_at"} <= set(queued)
    assert queued["status"] == "queued" and queued["year"] == YEAR and queued["result"] is None
    assert queued["draft_code"] == "draft-uplift-50" and queued["division_code"] == DIVISION

    pending = await client.get(simulation_url(queued["id"]), headers=county.headers)
    assert pending.status_code == 200 and pending.json()["status"] == "queued"
    outbox_id = (await PolicySimulation.get(id=queued["id"])).outbox_id
    report = await simulations.run_simulation(uuid.UUID(queued["id"]), outbox_id=outbox_id)
    assert report is not None and report.status == "done"

    done = await client.get(simulation_url(queued["id"]), headers=county.headers)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "done" and body["done_at"] is not None
    result = body["result"]
    assert result["year"] == YEAR and result["in_force"] == ["henan-2022"]
    assert result["difference_fen"] == result["total_fen_draft"] - result["total_fen_in_force"] > 0
    assert [b["key"] for b in result["by_division"]] == [DIVISION]
    assert {b["key"] for b in result["by_sector"]} >= {"4"}
    assert set(result["by_priority_group"][0]) == {
        "key",
        "name",
        "lines",
        "in_force_fen",
        "draft_fen",
        "difference_fen",
    }
    # The city's auditors and the admins see it too.
    for role in ("auditor", "admin"):
        actor = await sign_in(role)
        assert (await client.get(simulation_url(queued["id"]), headers=actor.headers)).status_code == 200


async def test_the_same_idempotency_key_answers_the_same_simulation(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    admin = await sign_in("admin")
    headers = {**admin.headers, "Idempotency-Key": uuid.uuid4().hex}
    data = {"draft": draft_policy(), "year": YEAR}
    first = await client.post(SIMULATE, json=data, headers=headers)
    again = await client.post(SIMULATE, json=data, headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["id"] == again.json()["id"]
    assert await PolicySimulation.filter(id=first.json()["id"]).count() == 1
    assert first.json()["division_code"] is None


@pytest.mark.parametrize("role", ["institution", "assessor"])
async def test_a_role_that_may_not_simulate_gets_403(
    client: httpx.AsyncClient, sign_in: Make, role: str
) -> None:
    actor = await sign_in(role)
    count = await PolicySimulation.all().count()
    refused = await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=actor.headers)
    problem(refused, 403)
    assert await PolicySimulation.all().count() == count
    auditor = await sign_in("auditor")
    made = await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=auditor.headers)
    assert made.status_code == 202
    problem(await client.get(simulation_url(made.json()["id"]), headers=actor.headers), 403)


async def test_a_simulation_the_caller_may_not_see_is_404(client: httpx.AsyncClient, sign_in: Make) -> None:
    city = await sign_in("auditor")
    made = await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=city.headers)
    assert made.status_code == 202
    county = await sign_in("auditor", division=DIVISION)
    problem(await client.get(simulation_url(made.json()["id"]), headers=county.headers), 404, "not_found")
    other = await sign_in("auditor", division="410305")
    theirs = await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=county.headers)
    problem(await client.get(simulation_url(theirs.json()["id"]), headers=other.headers), 404, "not_found")
    problem(await client.get(simulation_url(uuid.uuid4()), headers=city.headers), 404, "not_found")


def _bad(change: Any) -> dict[str, Any]:
    draft = copy.deepcopy(draft_policy())
    change(draft)
    return draft


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(surprise=1), "draft.surprise"),
        (
            lambda d: d["training"]["special_ability"].update(amount_fen=-100),
            "draft.training.special_ability.amount_fen",
        ),
        (lambda d: d["limits"]["annual_cap"].pop("source"), "draft.limits.annual_cap"),
    ],
    ids=["unknown-key", "negative-amount", "missing-source"],
)
async def test_a_bad_draft_is_422_naming_the_field(
    client: httpx.AsyncClient, sign_in: Make, change: Any, field: str
) -> None:
    auditor = await sign_in("auditor")
    count = await PolicySimulation.all().count()
    response = await client.post(
        SIMULATE, json={"draft": _bad(change), "year": YEAR}, headers=auditor.headers
    )
    data = problem(response, 422, "invalid_policy")
    assert field in [e["field"] for e in data["errors"]], data
    assert await PolicySimulation.all().count() == count


@pytest.mark.parametrize(
    "body",
    [
        {"draft": [], "year": YEAR},
        {"year": YEAR},
        {"draft": {}, "year": 1900},
        {"draft": {}, "year": YEAR, "x": 1},
    ],
    ids=["draft-not-an-object", "no-draft", "year-out-of-range", "unknown-body-key"],
)
async def test_a_bad_body_is_422(client: httpx.AsyncClient, sign_in: Make, body: dict[str, Any]) -> None:
    auditor = await sign_in("auditor")
    problem(await client.post(SIMULATE, json=body, headers=auditor.headers), 422)


async def test_the_routes_do_not_clash_with_a_policy_code(client: httpx.AsyncClient, sign_in: Make) -> None:
    auditor = await sign_in("auditor")
    policy = await client.get("/api/v1/policies/henan-2022", headers=auditor.headers)
    assert policy.status_code == 200 and policy.json()["code"] == "henan-2022"
    # The static route wins over ``{code}``: ``simulate`` is a reserved code no policy has.
    problem(await client.get("/api/v1/policies/simulate", headers=auditor.headers), 405)
    reserved = await client.post(
        SIMULATE, json={"draft": draft_policy("simulate"), "year": YEAR}, headers=auditor.headers
    )
    assert "draft.code" in [e["field"] for e in problem(reserved, 422, "invalid_policy")["errors"]]
    problem(await client.get(simulation_url(uuid.uuid4()), headers=auditor.headers), 404, "not_found")
    made = await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}, headers=auditor.headers)
    assert made.status_code == 202 and made.json()["status"] == "queued"


async def test_simulate_needs_sign_in(client: httpx.AsyncClient) -> None:
    problem(await client.post(SIMULATE, json={"draft": draft_policy(), "year": YEAR}), 401)
    problem(await client.get(simulation_url(uuid.uuid4())), 401)
