"""``POST /cohorts/{id}/claims``, ``GET /claims``, ``GET /claims/{id}``, ``POST /claims/{id}/withdraw``
over HTTP: 202 at once, one open claim per cohort and kind (also when filed concurrently),
scope, and the problems that name the state."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from registry.models.subsidy import SubsidyClaim
from registry.models.training import Cohort
from registry.subsidy import claims
from tests.api.support import Api, Make, problem
from tests.factories import ClaimableCohort, Trainee, claimable_cohort

pytestmark = pytest.mark.usefixtures("subsidy_policies")


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


async def cohort_of(
    vault: Vault, sign_in: Make, client: httpx.AsyncClient, **kw: object
) -> tuple[ClaimableCohort, Api]:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(hours=30)], **kw)  # type: ignore[arg-type]
    return cohort, Api(client, await sign_in("institution", institution=cohort.institution))


async def test_a_claim_is_accepted_at_once_and_read_back_with_its_lines(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    filed = await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"})
    assert filed.status_code == 202, filed.text
    claim = filed.json()
    assert claim["status"] == "submitted" and claim["policy_code"] == "henan-2022"
    assert claim["cohort_id"] == str(cohort.cohort_id) and claim["kind"] == "training"

    # What the worker runs (tests/workers/test_claims.py runs it in a real worker).
    await claims.compute_claim(uuid.UUID(claim["id"]), vault=vault)
    read = await api.get(f"/claims/{claim['id']}")
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["status"] == "computed" and body["line_count"] == 2 and len(body["lines"]) == 2
    short = next(line for line in body["lines"] if line["outcome"] == "blocked")
    assert {flag["code"] for flag in short["flags"]} == {"ATTENDANCE"}
    assert short["trace"][-1] == {
        "rule": "OUTCOME",
        "inputs": {"flags": ["ATTENDANCE:block"]},
        "result": "blocked",
    }
    assert all("*" in line["id_number_masked"] for line in body["lines"])
    assert body["total_fen"] == sum(line["total_fen"] for line in body["lines"])

    listed = await api.get(f"/claims?cohort_id={cohort.cohort_id}")
    assert [c["id"] for c in listed.json()["items"]] == [claim["id"]]
    assert "lines" not in listed.json()["items"][0]


async def test_two_claims_filed_at_once_one_is_accepted_the_other_is_409(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    answers = await asyncio.gather(
        *(api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"}) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [202, 409, 409, 409], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        problem(refused, 409, "claim_already_open")
    assert await SubsidyClaim.filter(cohort_id=cohort.cohort_id).count() == 1


async def test_a_withdrawn_claim_can_be_filed_again(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    first = (await api.post(f"/cohorts/{cohort.cohort_id}/claims", {})).json()
    await claims.compute_claim(uuid.UUID(first["id"]), vault=vault)
    withdrawn = await api.post(f"/claims/{first['id']}/withdraw", {"reason": "hours were wrong"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn", withdrawn.text
    problem(await api.post(f"/claims/{first['id']}/withdraw", {}), 409, "claim_not_withdrawable")
    again = await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"})
    assert again.status_code == 202 and again.json()["id"] != first["id"], again.text


async def test_the_state_and_the_tenant_are_named_and_nothing_changes(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    running, api = await cohort_of(vault, sign_in, client, close=False)
    refused = problem(
        await api.post(f"/cohorts/{running.cohort_id}/claims", {"kind": "training"}), 409, "cohort_not_closed"
    )
    assert "running" in refused["detail"]
    stranger = Api(client, await sign_in("institution"))
    problem(await stranger.post(f"/cohorts/{running.cohort_id}/claims", {"kind": "training"}), 404)
    problem(await stranger.post(f"/cohorts/{uuid.uuid4()}/claims", {"kind": "training"}), 404)
    bad = problem(await api.post(f"/cohorts/{running.cohort_id}/claims", {"kind": "bonus"}), 422)
    assert any("kind" in str(e.get("field")) for e in bad["errors"]), bad
    assert await SubsidyClaim.filter(cohort_id=running.cohort_id).count() == 0


async def test_no_policy_in_force_on_the_end_date_is_422_naming_the_date(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    # A cohort that ended before henan-2022 came into force (written directly: the
    # workflow would not accept such dates today).
    await Cohort.filter(id=cohort.cohort_id).update(start_date="2021-09-01", end_date="2021-12-20")
    answer = problem(
        await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"}), 422, "no_policy_in_force"
    )
    assert "2021-12-20" in answer["detail"]


async def test_claims_are_seen_by_their_claimant_and_the_right_auditors_only(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    claim = (await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"})).json()
    path = f"/claims/{claim['id']}"
    for role, kw, status in (
        ("institution", {}, 404),
        ("assessor", {}, 404),
        ("auditor", {"division": "410311"}, 404),
        ("auditor", {"division": "410305"}, 200),
        ("auditor", {}, 200),
        ("admin", {}, 200),
    ):
        other = Api(client, await sign_in(role, **kw))
        assert (await other.get(path)).status_code == status, (role, kw)
        listed = (await other.get("/claims?limit=500")).json()
        assert (claim["id"] in [c["id"] for c in listed["items"]]) is (status == 200) or listed["total"] > 500
    auditor = Api(client, await sign_in("auditor"))
    problem(await auditor.post(f"/claims/{claim['id']}/withdraw", {}), 403)


async def test_the_assessment_body_files_the_assessment_claim(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    body = Api(client, await sign_in("assessor", institution=cohort.assessor_body))
    problem(await body.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"}), 403)
    filed = await body.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "assessment"})
    assert filed.status_code == 202 and filed.json()["institution_id"] == str(cohort.assessor_body.id), (
        filed.text
    )
    problem(await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "assessment"}), 403)
    another_body = Api(client, await sign_in("assessor"))
    problem(await another_body.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "assessment"}), 404)


async def test_an_idempotency_key_replays_the_filing(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort, api = await cohort_of(vault, sign_in, client)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"}, headers=key)
    second = await api.post(f"/cohorts/{cohort.cohort_id}/claims", {"kind": "training"}, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"] and second.headers.get("idempotent-replay") == "true"
