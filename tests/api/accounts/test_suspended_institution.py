"""Issue 15 item 8 (the sign-in half): the users of a suspended or blacklisted institution or
assessment body are refused, with ``institution_suspended`` (403) and a message that says so,
however they come in: a password (``POST /auth/token``), a token issued before the
suspension, an API key. The dashboard's form is in tests/api/dashboard/test_pages.py.

The suite re-checks a token's user on every request (REGISTRY_SIGNED_IN_RECHECK_SECONDS=0,
tests/conftest.py); within the production window see tests/api/test_recent.py."""

from __future__ import annotations

import httpx
import pytest

from registry.accounts.rules import institution_refusal
from registry.models.institution import Institution
from tests.api.support import PASSWORD, Make


def _refused(response: httpx.Response, standing: str) -> None:
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "institution_suspended"
    assert standing in problem["detail"] and "contact" in problem["detail"] and "bureau" in problem["detail"]
    assert "www-authenticate" not in response.headers


def test_the_rule_refuses_every_status_but_active() -> None:
    assert institution_refusal(None) is None and institution_refusal("active") is None
    for status in ("suspended", "blacklisted"):
        refusal = institution_refusal(status)
        assert refusal is not None and refusal.code == "institution_suspended" and status in refusal.message


@pytest.mark.parametrize(("role", "status"), [("institution", "suspended"), ("assessor", "blacklisted")])
async def test_a_password_sign_in_is_refused_and_says_why(
    client: httpx.AsyncClient, password_sign_in: Make, role: str, status: str
) -> None:
    actor = await password_sign_in(role)
    assert actor.institution is not None
    await Institution.filter(id=actor.institution.id).update(status=status)
    right = await client.post("/api/v1/auth/token", json={"username": actor.username, "password": PASSWORD})
    _refused(right, status)
    assert "access_token" not in right.json()
    # A wrong password still answers as for anyone: the standing is told only to the password's holder.
    wrong = await client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": "not the password"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_credentials"
    await Institution.filter(id=actor.institution.id).update(status="active")
    again = await client.post("/api/v1/auth/token", json={"username": actor.username, "password": PASSWORD})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("role", ["institution", "assessor"])
async def test_a_token_issued_before_the_suspension_stops_working(
    client: httpx.AsyncClient, password_sign_in: Make, role: str
) -> None:
    actor = await password_sign_in(role)
    assert actor.institution is not None
    own = f"/api/v1/institutions/{actor.institution.id}"
    assert (await client.get(own, headers=actor.headers)).status_code == 200
    await Institution.filter(id=actor.institution.id).update(status="suspended")
    _refused(await client.get(own, headers=actor.headers), "suspended")
    await Institution.filter(id=actor.institution.id).update(status="active")
    assert (await client.get(own, headers=actor.headers)).status_code == 200


async def test_the_bureaus_users_are_not_affected(client: httpx.AsyncClient, password_sign_in: Make) -> None:
    for role in ("admin", "auditor"):
        actor = await password_sign_in(role)
        assert (await client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200


async def test_an_api_key_is_refused_the_same_way(client: httpx.AsyncClient, password_sign_in: Make) -> None:
    actor = await password_sign_in("institution")
    assert actor.institution is not None
    created = await client.post("/api/v1/api-keys", json={"name": "花名册同步"}, headers=actor.headers)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    own = f"/api/v1/institutions/{actor.institution.id}"
    assert (await client.get(own, headers=key)).status_code == 200
    await Institution.filter(id=actor.institution.id).update(status="blacklisted")
    _refused(await client.get(own, headers=key), "blacklisted")
