"""``POST /api/v1/users/{id}/deactivate`` and ``/reactivate`` (issue 16): an administrator's;
404 for a caller who may not see users; a deactivated user's token stops working at once
(the tests re-check every request) and works again once reactivated."""

from __future__ import annotations

import uuid

import httpx

from registry.models.audit import AuditEvent
from tests.api.support import Make


async def test_an_administrator_deactivates_and_reactivates_a_user(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    admin = await password_sign_in("admin")
    target = await password_sign_in("auditor")
    assert (await client.get("/api/v1/institutions", headers=target.headers)).status_code == 200
    off = await client.post(f"/api/v1/users/{target.user_id}/deactivate", headers=admin.headers)
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False and off.json()["username"] == target.username
    refused = await client.get("/api/v1/institutions", headers=target.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "account_inactive"
    on = await client.post(f"/api/v1/users/{target.user_id}/reactivate", headers=admin.headers)
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert (await client.get("/api/v1/institutions", headers=target.headers)).status_code == 200
    actions = (
        await AuditEvent.filter(entity_id=str(target.user_id)).order_by("id").values_list("action", flat=True)
    )
    assert list(actions)[-2:] == ["user.deactivate", "user.reactivate"]


async def test_anyone_else_gets_404_and_changes_nothing(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    target = await password_sign_in("auditor")
    for role in ("auditor", "institution"):
        caller = await password_sign_in(role)
        for action in ("deactivate", "reactivate"):
            answer = await client.post(f"/api/v1/users/{target.user_id}/{action}", headers=caller.headers)
            assert answer.status_code == 404, (role, action, answer.text)
    assert (await client.get("/api/v1/institutions", headers=target.headers)).status_code == 200
    admin = await password_sign_in("admin")
    missing = await client.post(f"/api/v1/users/{uuid.uuid4()}/deactivate", headers=admin.headers)
    assert missing.status_code == 404
    own = await client.post(f"/api/v1/users/{admin.user_id}/deactivate", headers=admin.headers)
    assert own.status_code == 409 and own.json()["code"] == "own_account"
