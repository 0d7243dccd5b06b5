"""The administration's pages over HTTP (issue 16, "Administration" and "Every user: change
password"): an auditor gets 404 on them, as the services answer; a forged CSRF token is 403
and changes nothing; a file with bad rows shows each by row and column and loads nothing; a
new user's temporary password is shown once and must be changed; a deactivated user's
session ends; an institution suspended and reinstated with a reason."""

from __future__ import annotations

import re
import uuid

import httpx

from registry.models.audit import AuditEvent
from registry.models.auth import User
from registry.models.institution import Institution
from registry.models.progress import Target
from tests.api.support import PASSWORD, Make
from tests.api.workbench.test_pages import browser, csrf_of
from tests.factories import csv_bytes, make_uscc, new_institution

ADMIN_PAGES = (
    "/workbench/admin",
    "/workbench/admin/institutions",
    "/workbench/admin/users",
    "/workbench/admin/api-keys",
    "/workbench/admin/files",
)
ENGLISH = re.compile(r">[^<>]*\b(the|is|not|and|of|file|row|column)\b[^<>]*<", re.IGNORECASE)


def no_english(text: str) -> None:
    body = text.split("<main>", 1)[-1]
    assert not ENGLISH.search(body), ENGLISH.search(body)


async def test_an_auditor_gets_404_on_every_admin_page(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    target = await password_sign_in("auditor")
    await browser(client, password_sign_in)
    token = csrf_of(await client.get("/workbench"))
    for path in ADMIN_PAGES:
        answer = await client.get(path)
        assert answer.status_code == 404 and "页面不存在" in answer.text, path
    refused = await client.post(f"/workbench/admin/users/{target.user_id}/deactivate", data={"csrf": token})
    assert refused.status_code == 404
    assert (await User.get(id=target.user_id)).is_active
    upload = await client.post(
        "/workbench/admin/files/targets",
        data={"csrf": token},
        files={"file": ("t.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert upload.status_code == 404


async def test_an_administrator_reads_every_page_in_chinese(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    await browser(client, password_sign_in, "admin")
    for path in ADMIN_PAGES:
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert "style=" not in answer.text and "<script>" not in answer.text
        assert answer.headers["cache-control"] == "no-store"
        no_english(answer.text)
    users = await client.get("/workbench/admin/users")
    assert "涧西区" in users.text and "审核员" in users.text


async def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    target = await password_sign_in("auditor")
    inst = await new_institution()
    await browser(client, password_sign_in, "admin")
    token = csrf_of(await client.get("/workbench/admin/users"))
    for path, data in (
        (f"/workbench/admin/users/{target.user_id}/deactivate", {}),
        (f"/workbench/admin/institutions/{inst.id}/suspend", {"reason": "虚报"}),
        ("/workbench/admin/users", {"username": "forged-user", "role": "auditor"}),
    ):
        for csrf, headers in (("forged", {}), ("", {}), (token, {"Origin": "https://evil.example"})):
            refused = await client.post(path, data={**data, "csrf": csrf}, headers=headers)
            assert refused.status_code == 403 and "未做任何更改" in refused.text, path
    assert (await User.get(id=target.user_id)).is_active
    assert (await Institution.get(id=inst.id)).status.value == "active"
    assert not await User.filter(username="forged-user").exists()
    forged_upload = await client.post(
        "/workbench/admin/files/targets",
        data={"csrf": "forged"},
        files={
            "file": (
                "t.csv",
                csv_bytes([["年度", "县区", "指标", "目标"], [2095, "涧西区", "trainees_trained", 1]]),
            )
        },
    )
    assert forged_upload.status_code == 403
    assert not await Target.filter(year=2095).exists()


async def test_a_file_with_bad_rows_shows_them_by_row_and_column_and_loads_nothing(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    await browser(client, password_sign_in, "admin")
    token = csrf_of(await client.get("/workbench/admin/files"))
    bad = csv_bytes(
        [
            ["年度", "县区", "指标", "目标"],
            [2096, "涧西区", "trainees_trained", 100],
            [2096, "不存在区", "trainees_trained", 100],
            [2096, "410302", "no_such_metric", 5],
        ]
    )
    answer = await client.post(
        "/workbench/admin/files/targets",
        data={"csrf": token, "source_note": "洛人社〔2096〕1号"},
        files={"file": ("targets.csv", bad, "text/csv")},
    )
    assert answer.status_code == 200 and "未导入任何内容" in answer.text, answer.text[:500]
    rows = re.findall(r'<tr class="problem"><td class="num">(\d+)</td><td>([^<]*)</td>', answer.text)
    assert ("3", "县区") in rows and ("4", "指标") in rows, rows
    assert "洛人社〔2096〕1号" in answer.text  # what was typed is kept
    no_english(answer.text)
    assert not await Target.filter(year=2096).exists()
    good = csv_bytes([["年度", "县区", "指标", "目标"], [2097, "涧西区", "trainees_trained", 100]])
    loaded = await client.post(
        "/workbench/admin/files/targets", data={"csrf": token}, files={"file": ("good.csv", good, "text/csv")}
    )
    assert loaded.status_code == 200 and "目标任务已导入" in loaded.text
    assert await Target.filter(year=2097).count() == 1
    # A priority list without its date: the error beside the field; an empty upload too.
    listed = await client.post(
        "/workbench/admin/files/priority_list",
        data={"csrf": token, "name": "重点工种目录（测试）"},
        files={"file": ("list.csv", b"code\n6-01-01-01\n", "text/csv")},
    )
    assert listed.status_code == 200 and 'id="error-effective_from"' in listed.text
    assert "重点工种目录（测试）" in listed.text
    unconfirmed = await client.post(
        "/workbench/admin/files/confirm", data={"csrf": token, "code": "no-such", "document": "文号"}
    )
    assert unconfirmed.status_code == 200 and "没有这个编号的目录" in unconfirmed.text


async def test_institutions_registered_approved_suspended_and_reinstated(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    await browser(client, password_sign_in, "admin")
    token = csrf_of(await client.get("/workbench/admin/institutions"))
    name = f"页面测试学校{uuid.uuid4().hex[:6]}"
    wrong = await client.post(
        "/workbench/admin/institutions",
        data={"csrf": token, "name": name, "uscc": "12345", "division_code": "410305", "kinds": "training"},
    )
    assert wrong.status_code == 200 and "统一社会信用代码为 18 位" in wrong.text and name in wrong.text
    uscc = make_uscc()
    made = await client.post(
        "/workbench/admin/institutions",
        data={
            "csrf": token,
            "name": name,
            "uscc": uscc,
            "division_code": "410305",
            "kinds": ["training", "assessment"],
            "approved_years": "2030",
        },
    )
    assert made.status_code == 303
    inst = await Institution.get(uscc=uscc)
    assert inst.approved_years == [2030] and sorted(inst.kinds) == ["assessment", "training"]
    approved = await client.post(
        f"/workbench/admin/institutions/{inst.id}/approve", data={"csrf": token, "year": "2031"}
    )
    assert approved.status_code == 303
    no_reason = await client.post(
        f"/workbench/admin/institutions/{inst.id}/suspend", data={"csrf": token, "reason": " "}
    )
    assert no_reason.status_code == 200 and f'id="error-suspend:{inst.id}"' in no_reason.text
    suspended = await client.post(
        f"/workbench/admin/institutions/{inst.id}/suspend", data={"csrf": token, "reason": "虚报学员"}
    )
    assert suspended.status_code == 303
    assert (await Institution.get(id=inst.id)).status.value == "suspended"
    page = await client.get(suspended.headers["location"])
    assert "机构已暂停" in page.text and "已暂停" in page.text
    back = await client.post(
        f"/workbench/admin/institutions/{inst.id}/reinstate", data={"csrf": token, "reason": "整改完成"}
    )
    assert back.status_code == 303 and (await Institution.get(id=inst.id)).status.value == "active"
    actions = await AuditEvent.filter(entity_id=str(inst.id)).order_by("id").values_list("action", flat=True)
    assert list(actions) == [
        "institution.create",
        "institution.approve_year",
        "institution.suspend",
        "institution.reinstate",
    ]


async def _new_user_by_page(client: httpx.AsyncClient, token: str, username: str) -> str:
    created = await client.post(
        "/workbench/admin/users",
        data={
            "csrf": token,
            "username": username,
            "display_name": "王审核",
            "role": "auditor",
            "division_code": "410305",
        },
    )
    assert created.status_code == 200 and "只在这里显示一次" in created.text, created.text[:500]
    match = re.search(r'id="temporary-password">([^<]+)<', created.text)
    assert match
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    client.cookies.clear()
    form = await client.get("/dashboard/sign-in?next=/workbench")
    return await client.post(
        "/dashboard/sign-in",
        data={"username": username, "password": password, "csrf": csrf_of(form), "next": "/workbench"},
    )


async def test_a_user_created_with_a_temporary_password_that_is_shown_once(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    await browser(client, password_sign_in, "admin")
    token = csrf_of(await client.get("/workbench/admin/users"))
    username = f"page-{uuid.uuid4().hex[:8]}"
    temporary = await _new_user_by_page(client, token, username)
    user = await User.get(username=username)
    assert user.must_change_password and user.division_id == "410305"  # type: ignore[attr-defined]
    listed = await client.get("/workbench/admin/users")
    assert temporary not in listed.text and "待修改临时密码" in listed.text
    taken = await client.post(
        "/workbench/admin/users",
        data={"csrf": token, "username": username, "role": "auditor", "display_name": "重名"},
    )
    assert taken.status_code == 200 and 'id="error-username"' in taken.text and "已存在" in taken.text
    assert "重名" in taken.text
    signed = await _sign_in(client, username, temporary)
    assert signed.status_code == 303
    page = await client.get("/workbench/password")
    assert page.status_code == 200 and "临时密码" in page.text
    token = csrf_of(page)
    wrong = await client.post(
        "/workbench/password",
        data={
            "csrf": token,
            "current_password": "wrong-one-here",
            "new_password": "my-own-password-1",
            "repeat_password": "my-own-password-1",
        },
    )
    assert wrong.status_code == 200 and "当前密码不正确" in wrong.text
    assert "my-own-password-1" not in wrong.text  # passwords are never written back
    done = await client.post(
        "/workbench/password",
        data={
            "csrf": token,
            "current_password": temporary,
            "new_password": "my-own-password-1",
            "repeat_password": "my-own-password-1",
        },
    )
    assert done.status_code == 303
    assert not (await User.get(id=user.id)).must_change_password
    assert (await client.get("/workbench")).status_code == 200


async def test_a_temporary_password_must_be_changed_before_any_other_page(
    client: httpx.AsyncClient, password_sign_in: Make
) -> None:
    await browser(client, password_sign_in, "admin")
    username = f"gate-{uuid.uuid4().hex[:8]}"
    temporary = await _new_user_by_page(client, csrf_of(await client.get("/workbench/admin/users")), username)
    assert (await _sign_in(client, username, temporary)).status_code == 303
    for path in ("/workbench", "/workbench/claims", f"/workbench/claims/{uuid.uuid4()}"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/workbench/password", path
    page = await client.get("/workbench/password")
    done = await client.post(
        "/workbench/password",
        data={
            "csrf": csrf_of(page),
            "current_password": temporary,
            "new_password": "my-own-password-2",
            "repeat_password": "my-own-password-2",
        },
    )
    assert done.status_code == 303
    assert (await client.get("/workbench")).status_code == 200


async def test_a_deactivated_users_session_ends(client: httpx.AsyncClient, password_sign_in: Make) -> None:
    target = await browser(client, password_sign_in)
    their_cookie = client.cookies.get("registry_session")
    assert (await client.get("/workbench")).status_code == 200
    await browser(client, password_sign_in, "admin")
    token = csrf_of(await client.get("/workbench/admin/users"))
    off = await client.post(f"/workbench/admin/users/{target.user_id}/deactivate", data={"csrf": token})
    assert off.status_code == 303
    assert "账号已停用" in (await client.get(off.headers["location"])).text
    client.cookies.clear()
    client.cookies.set("registry_session", their_cookie)
    ended = await client.get("/workbench")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/dashboard/sign-in")
    wrong = await _sign_in(client, target.username, PASSWORD)
    assert wrong.status_code == 401


async def test_api_keys_listed_and_revoked(client: httpx.AsyncClient, password_sign_in: Make) -> None:
    from registry.accounts.api_keys import create_api_key
    from registry.models.auth import ApiKey

    inst = await new_institution()
    admin = await browser(client, password_sign_in, "admin")
    created = await create_api_key(admin.principal, name="排课系统对接", institution_id=inst.id)
    listed = await client.get("/workbench/admin/api-keys")
    assert listed.status_code == 200 and "排课系统对接" in listed.text and inst.name in listed.text
    assert created.secret not in listed.text
    token = csrf_of(listed)
    revoked = await client.post(f"/workbench/admin/api-keys/{created.key.id}/revoke", data={"csrf": token})
    assert revoked.status_code == 303
    assert (await ApiKey.get(id=created.key.id)).revoked_at is not None
    assert "接口密钥已吊销" in (await client.get(revoked.headers["location"])).text
