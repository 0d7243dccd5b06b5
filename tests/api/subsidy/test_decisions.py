"""``POST /claims/{id}/decisions``: auditors of the claim's scope decide each line; reasons
where required; a blocked line is never approved; one call approves every clean line."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from registry.models.audit import AuditEvent
from registry.models.subsidy import SubsidyLine
from registry.subsidy import claims
from tests.api.support import Api, Make, problem
from tests.factories import Trainee, claimable_cohort

pytestmark = pytest.mark.usefixtures("subsidy_policies")


@pytest.fixture(scope="session")
def vault(settings: Settings) -> Vault:
    return vault_from_settings(settings)


async def computed_claim(vault: Vault, people: list[Trainee] | None = None) -> tuple[uuid.UUID, Any]:
    cohort = await claimable_cohort(vault, people or [Trainee(), Trainee(), Trainee(hours=20)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await claims.compute_claim(filed.id, vault=vault)
    return filed.id, cohort


def by_outcome(claim: dict[str, Any], outcome: str) -> list[dict[str, Any]]:
    return [line for line in claim["lines"] if line["outcome"] == outcome]


async def test_approve_clean_then_reject_the_rest_with_reasons(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    claim_id, _ = await computed_claim(vault)
    auditor = Api(client, await sign_in("auditor", division="410305"))
    first = await auditor.post(f"/claims/{claim_id}/decisions", {"approve_clean": True})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "in_review"
    assert {line["decision"] for line in by_outcome(body, "clean")} == {"approved"}
    [blocked] = by_outcome(body, "blocked")
    assert blocked["decision"] is None

    refused = problem(
        await auditor.post(
            f"/claims/{claim_id}/decisions", {"lines": [{"line_id": blocked["id"], "decision": "approved"}]}
        ),
        409,
        "line_blocked",
    )
    assert refused["errors"][0]["field"] == "lines[0].decision"
    missing = problem(
        await auditor.post(
            f"/claims/{claim_id}/decisions", {"lines": [{"line_id": blocked["id"], "decision": "rejected"}]}
        ),
        422,
    )
    assert missing["errors"] == [
        {"field": "lines[0].reason", "code": "reason_required", "message": "a rejection needs a reason"}
    ]
    assert (await SubsidyLine.get(id=blocked["id"])).decision is None  # nothing changed

    done = await auditor.post(
        f"/claims/{claim_id}/decisions",
        {"lines": [{"line_id": blocked["id"], "decision": "rejected", "reason": "attended 20 of 80 hours"}]},
    )
    assert done.status_code == 200 and done.json()["status"] == "decided", done.text
    line = next(line for line in done.json()["lines"] if line["id"] == blocked["id"])
    assert (line["decision"], line["reason"]) == ("rejected", "attended 20 of 80 hours")
    assert line["decided_by"].startswith("user:") and line["decided_at"]
    events = await AuditEvent.filter(entity_id=str(claim_id), action="subsidy_claim.decide").count()
    assert events == 2


async def test_a_review_line_is_approved_only_with_a_reason(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    claim_id, _ = await computed_claim(vault, [Trainee(phone=phone) for _ in range(5)])
    auditor = Api(client, await sign_in("auditor"))
    claim = (await auditor.get(f"/claims/{claim_id}")).json()
    review = by_outcome(claim, "review")
    assert len(review) == 5
    problem(
        await auditor.post(
            f"/claims/{claim_id}/decisions", {"lines": [{"line_id": review[0]["id"], "decision": "approved"}]}
        ),
        422,
    )
    ok = await auditor.post(
        f"/claims/{claim_id}/decisions",
        {
            "lines": [
                {"line_id": line["id"], "decision": "approved", "reason": "家庭共用号码, 已电话核实"}
                for line in review
            ]
        },
    )
    assert ok.status_code == 200 and ok.json()["status"] == "decided", ok.text


async def test_who_may_decide(client: httpx.AsyncClient, sign_in: Make, vault: Vault) -> None:
    claim_id, cohort = await computed_claim(vault)
    body = {"approve_clean": True}
    own = Api(client, await sign_in("institution", institution=cohort.institution))
    problem(await own.post(f"/claims/{claim_id}/decisions", body), 404)
    county = Api(client, await sign_in("auditor", division="410311"))
    problem(await county.post(f"/claims/{claim_id}/decisions", body), 404)
    admin = Api(client, await sign_in("admin"))
    problem(await admin.post(f"/claims/{claim_id}/decisions", body), 403)
    auditor = Api(client, await sign_in("auditor"))
    problem(await auditor.post(f"/claims/{uuid.uuid4()}/decisions", body), 404)
    problem(
        await auditor.post(
            f"/claims/{claim_id}/decisions",
            {"lines": [{"line_id": str(uuid.uuid4()), "decision": "approved"}]},
        ),
        422,
    )
    problem(await auditor.post(f"/claims/{claim_id}/decisions", {}), 422)
    assert await SubsidyLine.filter(claim_id=claim_id, decision__isnull=False).count() == 0


async def test_a_submitted_claim_cannot_be_decided(
    client: httpx.AsyncClient, sign_in: Make, vault: Vault
) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    auditor = Api(client, await sign_in("auditor"))
    problem(
        await auditor.post(f"/claims/{filed.id}/decisions", {"approve_clean": True}),
        409,
        "claim_not_decidable",
    )
