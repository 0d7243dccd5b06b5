"""The dashboard's browser session over HTTP: sign-in with CSRF, the session cookie
(HttpOnly, SameSite=Strict), roles, the data, sign-out ending the session; the vendored
ECharts served from the site."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import httpx

from api.dashboard import session
from registry.models.institution import Institution
from tests.api.support import PASSWORD, Make

ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def signed_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    form = await client.get("/dashboard/sign-in")
    return await client.post(
        "/dashboard/sign-in", data={"username": username, "password": PASSWORD, "csrf": csrf_of(form)}
    )


async def test_without_a_session_the_dashboard_sends_you_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/dashboard")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/sign-in"
    assert (await client.get("/dashboard/data")).status_code == 401


async def test_sign_in_needs_the_forms_csrf_token(client: httpx.AsyncClient, password_sign_in: Make) -> None:
    actor = await password_sign_in("auditor")
    await client.get("/dashboard/sign-in")
    forged = await client.post(
        "/dashboard/sign-in", data={"username": actor.username, "password": PASSWORD, "csrf": "x"}
    )
    assert forged.status_code == 403 and "registry_session" not in forged.headers.get("set-cookie", "")
    client.cookies.clear()
    missing = await client.post("/dashboard/sign-in", data={"username": actor.username, "password": PASSWORD})
    assert missing.status_code == 403


async def test_an_auditor_signs_in_sees_the_dashboard_and_signs_out(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    actor = await password_sign_in("auditor")
    client.cookies.clear()
    wrong = await client.post(
        "/dashboard/sign-in",
        data={
            "username": actor.username,
            "password": "wrong",
            "csrf": csrf_of(await client.get("/dashboard/sign-in")),
        },
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    answer = await signed_in(client, actor.username)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("registry_session="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    page = await client.get("/dashboard")
    assert page.status_code == 200 and "洛阳市职业技能培训工作看板" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "/static/vendor/echarts/echarts.min.js" in page.text and "cdn" not in page.text.lower()
    data = (await client.get("/dashboard/data")).json()
    assert {s["status"] for s in data["claims"]} >= {"computed", "paid"} and isinstance(data["risk"], list)

    session_cookie = client.cookies.get("registry_session")
    forged = await client.post("/dashboard/sign-out", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert (await client.get("/dashboard")).status_code == 200  # still signed in
    out = await client.post("/dashboard/sign-out", data={"csrf": csrf_of(page)})
    assert out.status_code == 303
    # The session ended on the server: the old cookie no longer works.
    client.cookies.clear()
    client.cookies.set("registry_session", session_cookie or "")
    assert (await client.get("/dashboard")).status_code == 303


async def test_an_institutions_user_is_refused_at_sign_in_and_its_session_answers_404(
    client: httpx.AsyncClient, password_sign_in: Make, app: Any
) -> None:
    """Issue 16's security probe: an institution's or assessment body's user gets no bureau
    session (403 at the form, in Chinese); a session of such a user (made before this rule)
    answers 404 on every bureau page."""
    for role in ("institution", "assessor"):
        actor = await password_sign_in(role)
        client.cookies.clear()
        refused = await signed_in(client, actor.username)
        assert refused.status_code == 403 and "registry_session" not in refused.headers.get("set-cookie", "")
        assert "机构端" in refused.text
        started = await session.start(app.state.redis, actor.principal)
        client.cookies.set("registry_session", started.session_id)
        assert (await client.get("/dashboard")).status_code == 404
        assert (await client.get("/dashboard/data")).status_code == 404


async def test_a_suspended_institutions_user_is_told_so_and_its_session_ends(
    client: httpx.AsyncClient, password_sign_in: Make, app: Any
) -> None:
    """Issue 15 item 8: the form says the organisation is suspended (in Chinese, 403), not
    "wrong password"; a session started before the suspension no longer works."""
    actor = await password_sign_in("assessor")
    assert actor.institution is not None
    client.cookies.clear()
    started = await session.start(app.state.redis, actor.principal)
    client.cookies.set("registry_session", started.session_id)
    assert (await client.get("/dashboard")).status_code == 404  # signed in: not its page
    stored = "dashboard-session:" + hashlib.sha256(started.session_id.encode()).hexdigest()
    assert await app.state.redis.exists(stored)
    await Institution.filter(id=actor.institution.id).update(status="suspended")
    page = await client.get("/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/dashboard/sign-in"
    assert not await app.state.redis.exists(stored)  # ended on the server
    client.cookies.clear()
    refused = await signed_in(client, actor.username)
    assert refused.status_code == 403 and "registry_session" not in refused.headers.get("set-cookie", "")
    assert "已被暂停" in refused.text and "人力资源和社会保障局" in refused.text
    assert "用户名或密码错误" not in refused.text
    form = await client.get("/dashboard/sign-in")
    wrong = await client.post(
        "/dashboard/sign-in", data={"username": actor.username, "password": "wrong", "csrf": csrf_of(form)}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text


async def test_the_sign_in_token_is_the_servers_own_and_is_used_once(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    """Issue 16's security probe: a cookie and form value the server never issued (a forged
    double-submit pair) is refused; a token is good once; a form from another origin is
    refused whatever it carries."""
    actor = await password_sign_in("auditor")
    client.cookies.clear()
    client.cookies.set("registry_signin_csrf", "made-up-by-the-attacker")
    forged = await client.post(
        "/dashboard/sign-in",
        data={"username": actor.username, "password": PASSWORD, "csrf": "made-up-by-the-attacker"},
    )
    assert forged.status_code == 403 and "registry_session" not in forged.headers.get("set-cookie", "")
    client.cookies.clear()
    form = await client.get("/dashboard/sign-in")
    token = csrf_of(form)
    foreign = await client.post(
        "/dashboard/sign-in",
        data={"username": actor.username, "password": PASSWORD, "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    client.cookies.clear()
    form = await client.get("/dashboard/sign-in")
    token = csrf_of(form)
    body = {"username": actor.username, "password": PASSWORD, "csrf": token, "next": "/workbench"}
    first = await client.post("/dashboard/sign-in", data=body, headers={"Origin": "http://testserver"})
    assert first.status_code == 303 and first.headers["location"] == "/workbench"
    client.cookies.set("registry_signin_csrf", token)
    again = await client.post("/dashboard/sign-in", data=body)
    assert again.status_code == 403


async def test_after_sign_in_only_a_path_of_this_site(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    actor = await password_sign_in("auditor")
    for target, landed in (
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example", "/dashboard"),
        ("/workbench/claims", "/workbench/claims"),
    ):
        client.cookies.clear()
        form = await client.get("/dashboard/sign-in")
        answer = await client.post(
            "/dashboard/sign-in",
            data={"username": actor.username, "password": PASSWORD, "csrf": csrf_of(form), "next": target},
        )
        assert answer.status_code == 303 and answer.headers["location"] == landed


async def test_echarts_is_vendored_with_its_licence(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200 and hashlib.sha256(script.content).hexdigest() == ECHARTS_SHA256
    root = Path(__file__).resolve().parents[3] / "api" / "static" / "vendor" / "echarts"
    assert "Apache License" in (root / "LICENSE").read_text()
    assert ECHARTS_SHA256 in (root / "README.md").read_text()


async def test_the_site_icon_is_served(client: httpx.AsyncClient) -> None:
    """Browsers ask /favicon.ico of every page that names no icon: a 404 there is a console
    error on every load (issue 16)."""
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/x-icon")
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


async def test_the_data_speaks_chinese_and_links_into_the_workbench(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    actor = await password_sign_in("auditor")
    client.cookies.clear()
    await signed_in(client, actor.username)
    data = (await client.get("/dashboard/data")).json()
    for step in data["claims"]:
        assert re.fullmatch(r"[\u4e00-\u9fff]+", step["label"]), step
        assert step["href"] == f"/workbench/claims?status={step['status']}"
        assert re.fullmatch(r"¥[\d,]+\.\d\d", step["total"]), step
    for card in data["cards"]:
        assert card["href"] == f"/workbench/claims?year={data['year']}"
        assert not re.search(r"[A-Za-z]", card["note"]), card["note"]
    for row in data["risk"]:
        assert row["href"] == f"/workbench/claims?institution={row['institution_id']}"
        assert re.fullmatch(r"[\u4e00-\u9fff]+", row["division_name"]), row
        assert all(f["label"].endswith(f"（{f['code']}）") for f in row["top_flags"])
    if data["as_of"]:
        assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", data["as_of_label"])
