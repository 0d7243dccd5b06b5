from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest

from registry.accounts.security import issue_token
from registry.core.principal import Principal
from registry.core.settings import Settings
from registry.enums import Role
from registry.models.auth import ApiKey
from tests.api.support import PASSWORD, Actor

Make = Callable[..., Awaitable[Actor]]


async def test_token_has_an_expiry_and_works(
    client: httpx.AsyncClient, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("admin")
    response = await client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": PASSWORD}
    )
    data = response.json()
    assert data["token_type"] == "bearer" and data["expires_in"] == settings.token_ttl_seconds
    assert dt.datetime.fromisoformat(data["expires_at"]) > dt.datetime.now(dt.UTC)
    assert (await client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200


async def test_wrong_password_and_unknown_user_answer_alike(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    actor = await password_sign_in("auditor")
    wrong = await client.post(
        "/api/v1/auth/token", json={"username": actor.username, "password": "nope-nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/token", json={"username": "nobody-here", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "bad_credentials"
    assert (await client.post("/api/v1/auth/token", json={"username": actor.username})).status_code == 422


async def test_sign_in_is_rate_limited(
    client: httpx.AsyncClient, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("auditor")
    for _ in range(settings.login_max_attempts):
        r = await client.post(
            "/api/v1/auth/token", json={"username": actor.username, "password": "wrong-password"}
        )
        assert r.status_code == 401
    limited = await client.post("/api/v1/auth/token", json={"username": actor.username, "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0


async def test_missing_expired_and_forged_tokens(
    client: httpx.AsyncClient, password_sign_in: Make, settings: Settings
) -> None:
    actor = await password_sign_in("admin")
    assert (await client.get("/api/v1/institutions")).status_code == 401
    principal = Principal(kind="user", id=actor.user_id, role=Role.ADMIN)
    expired = issue_token(
        settings.token_key, principal, 60, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    )
    r = await client.get("/api/v1/institutions", headers={"Authorization": f"Bearer {expired.token}"})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    forged = issue_token(b"x" * 32, principal, 600)
    r = await client.get("/api/v1/institutions", headers={"Authorization": f"Bearer {forged.token}"})
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"
    unsigned = jwt.encode(
        {"sub": str(actor.user_id), "role": "admin", "exp": 9999999999}, None, algorithm="none"
    )
    r = await client.get("/api/v1/institutions", headers={"Authorization": f"Bearer {unsigned}"})
    assert r.status_code == 401
    r = await client.get("/api/v1/institutions", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


async def test_api_keys_shown_once_hashed_and_revocable(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    inst_user = await password_sign_in("institution")
    assert inst_user.institution is not None
    created = await client.post("/api/v1/api-keys", json={"name": "花名册同步"}, headers=inst_user.headers)
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    stored = await ApiKey.get(id=created.json()["id"])
    assert secret not in stored.key_hash and len(stored.key_hash) == 64
    own = await client.get(f"/api/v1/institutions/{inst_user.institution.id}", headers={"X-API-Key": secret})
    assert own.status_code == 200
    other_user = await password_sign_in("institution")
    assert (
        await client.delete(f"/api/v1/api-keys/{stored.id}", headers=other_user.headers)
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/api-keys/{stored.id}", headers=inst_user.headers)
    ).status_code == 204
    after = await client.get(
        f"/api/v1/institutions/{inst_user.institution.id}", headers={"X-API-Key": secret}
    )
    assert after.status_code == 401
    bogus = await client.get("/api/v1/institutions", headers={"X-API-Key": "lyr_000000000000_x"})
    assert bogus.status_code == 401


async def test_an_institution_cannot_create_a_key_for_another_institution(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    inst_user = await password_sign_in("institution")
    other = await password_sign_in("institution")
    assert inst_user.institution is not None and other.institution is not None
    before = await ApiKey.filter(institution_id=other.institution.id).count()
    for headers in (inst_user.headers, (await password_sign_in("assessor")).headers):
        response = await client.post(
            "/api/v1/api-keys",
            json={"name": "别人的钥匙", "institution_id": str(other.institution.id)},
            headers=headers,
        )
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "not_found" and "key" not in response.json()
    assert await ApiKey.filter(institution_id=other.institution.id).count() == before
    # naming its own institution is allowed
    own = await client.post(
        "/api/v1/api-keys",
        json={"name": "自己的钥匙", "institution_id": str(inst_user.institution.id)},
        headers=inst_user.headers,
    )
    assert own.status_code == 201 and own.json()["institution_id"] == str(inst_user.institution.id)


async def test_admin_creates_users_with_checked_roles(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    admin = await password_sign_in("admin")
    ok = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "username": f"county-{uuid.uuid4().hex[:8]}",
            "password": "long enough password",
            "role": "auditor",
            "division_code": "410323",
        },
    )
    assert ok.status_code == 201, ok.text
    bad = [
        ({"username": "Bad Name", "password": "long enough password", "role": "admin"}, "username"),
        ({"username": "shorty-pw", "password": "short", "role": "admin"}, "password"),
        (
            {"username": "no-inst", "password": "long enough password", "role": "institution"},
            "institution_id",
        ),
        (
            {
                "username": "wrong-div",
                "password": "long enough password",
                "role": "auditor",
                "division_code": "999999",
            },
            "division_code",
        ),
        ({"username": "bad-role", "password": "long enough password", "role": "king"}, "role"),
    ]
    for payload, field in bad:
        r = await client.post("/api/v1/users", headers=admin.headers, json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert any(field in e["field"] for e in r.json()["errors"]), r.json()
    institution = await password_sign_in("institution")
    r = await client.post(
        "/api/v1/users",
        headers=institution.headers,
        json={"username": "sneaky-admin", "password": "long enough password", "role": "admin"},
    )
    assert r.status_code == 403, r.text
    assert "administrator" in r.json()["detail"]


async def test_a_remembered_token_still_expires_and_its_user_is_rechecked(
    client: httpx.AsyncClient, password_sign_in: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verified token is remembered (registry.accounts.security._verified), yet its expiry is
    checked on every request, and its user on every request: a deactivated user's token is
    refused at the next request, and a changed role is the database's, not the token's."""
    from registry.accounts import security
    from registry.models.auth import User

    actor = await password_sign_in("admin")
    assert (await client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200
    assert (await client.get("/api/v1/institutions", headers=actor.headers)).status_code == 200
    later = time.time() + 10 * 24 * 3600
    monkeypatch.setattr(security.time, "time", lambda: later)
    r = await client.get("/api/v1/institutions", headers=actor.headers)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    monkeypatch.undo()

    await User.filter(id=actor.user_id).update(role=Role.AUDITOR)
    body = {"username": f"u-{uuid.uuid4().hex[:8]}", "password": PASSWORD, "role": "auditor"}
    r = await client.post("/api/v1/users", headers=actor.headers, json=body)
    assert r.status_code == 403, r.text
    assert "administrator" in r.json()["detail"]
    await User.filter(id=actor.user_id).update(is_active=False)
    r = await client.get("/api/v1/institutions", headers=actor.headers)
    assert r.status_code == 401 and r.json()["code"] == "account_inactive"
