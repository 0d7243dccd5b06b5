from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from registry.core.crypto import Vault, vault_from_settings
from registry.core.settings import Settings
from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.training import Trainee
from tests.api.support import URL, Actor, addressed, id_number, issue, problem

Make = Callable[..., Awaitable[Actor]]
MISSES = [
    "NO-SUCH-CERT-0001",
    "LY-" + "0" * 61,  # well-formed, 64 characters, unknown
    "x" * 65,
    "has%20space",
    "证书001",
    "%27%20OR%201%3D1%20--",
    "a/b/c",
    "..%2F..%2Fetc%2Fpasswd",
    "<script>alert(1)</script>",
    "%00",
]


async def test_the_page_shows_a_valid_certificate_with_a_masked_name(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    assessor = await sign_in("assessor")
    raw = id_number()
    cert = await issue(client, assessor, id_number=raw, name="欧阳娜娜", level=5)
    response = await client.get(f"/verify/{cert['number']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for shown in (
        "证书查询",
        "Certificate verification",
        "有效",
        "Valid",
        "欧***",
        "电工",
        "五级/初级工",
        "2025年6月1日",
        cert["issuer_name"],
        cert["number"],
    ):
        assert shown in page, shown
    trainee = await Trainee.get(id=cert["trainee_id"])
    for hidden in (
        "欧阳娜娜",
        "阳娜娜",
        raw,
        raw[-4:] + "<",
        trainee.id_masked,
        cert["trainee_id"],
        cert["id"],
        str(trainee.id_index),
    ):
        assert hidden not in page, hidden


async def test_suspended_and_revoked_are_shown_clearly(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    cert = await issue(client, assessor, name="李小红")
    at = f"{URL}/{cert['number']}"
    await client.post(f"{at}/suspend", json={"reason": "私密原因 private reason"}, headers=assessor.headers)
    page = await client.get(f"/verify/{cert['number']}")
    assert page.status_code == 200 and "暂停使用" in page.text and "Suspended" in page.text
    assert 'class="status suspended"' in page.text and "私密原因" not in page.text
    data = (await client.get(f"/api/v1/verify/{cert['number']}")).json()
    assert data["status"] == "suspended" and data["valid"] is False
    await client.post(f"{at}/revoke", json={"reason": "考核作弊"}, headers=assessor.headers)
    page = await client.get(f"/verify/{cert['number']}")
    assert page.status_code == 200 and "已撤销" in page.text and "Revoked" in page.text
    assert "考核作弊" not in page.text
    assert (await client.get(f"/api/v1/verify/{cert['number']}")).json()["status"] == "revoked"


async def test_the_json_answer_reveals_only_public_facts(client: httpx.AsyncClient, sign_in: Make) -> None:
    assessor = await sign_in("assessor")
    raw = id_number()
    cert = await issue(
        client,
        assessor,
        id_number=raw,
        name="张三",
        kind="special_ability",
        level=None,
        occupation_code="4-03-02-01",
    )
    response = await client.get(f"/api/v1/verify/{cert['number']}")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "number": cert["number"],
        "status": "valid",
        "status_label": "有效",
        "valid": True,
        "kind": "special_ability",
        "kind_label": "专项职业能力证书",
        "holder_name": "张*",
        "occupation_code": "4-03-02-01",
        "occupation_name": "中式烹调师",
        "level": None,
        "level_label": "",
        "issuer_name": cert["issuer_name"],
        "issue_date": "2025-06-01",
    }
    assert raw not in response.text and cert["trainee_id"] not in response.text


async def test_every_miss_answers_the_same(client: httpx.AsyncClient) -> None:
    pages, answers = set(), set()
    for miss in MISSES:
        page = await client.get(f"/verify/{miss}")
        assert page.status_code == 404, (miss, page.text)
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-type"].startswith("text/html")
        assert "未查询到该证书" in page.text and "No certificate found" in page.text
        pages.add(page.content)
        answer = await client.get(f"/api/v1/verify/{miss}")
        assert answer.status_code == 404, (miss, answer.text)
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-type"].startswith("application/problem+json")
        answers.add(answer.content)
    assert len(pages) == 1 and len(answers) == 1
    assert b"NO-SUCH" not in next(iter(pages)) and b"NO-SUCH" not in next(iter(answers))
    assert next(iter(answers)) == (await client.get("/api/v1/verify/" + uuid.uuid4().hex)).content
    for empty in ("/api/v1/verify", "/api/v1/verify/"):
        answer = await client.get(empty)
        assert answer.status_code == 404 and answer.content in answers, empty


async def test_a_number_that_exists_is_not_told_apart_from_a_miss_by_case_or_spaces(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    assessor = await sign_in("assessor")
    cert = await issue(client, assessor)
    unknown = await client.get("/api/v1/verify/NO-SUCH-CERT-0001")
    lowered = await client.get(f"/api/v1/verify/{cert['number'].lower()}")
    assert lowered.status_code == 404 and lowered.content == unknown.content
    assert await Certificate.filter(number=cert["number"]).exists()


async def test_the_form(client: httpx.AsyncClient) -> None:
    form = await client.get("/verify")
    assert form.status_code == 200 and "证书查询" in form.text and 'action="/verify"' in form.text
    assert form.headers["cache-control"] == "no-store"
    redirect = await client.get("/verify", params={"number": " LY-001 "})
    assert redirect.status_code == 303 and redirect.headers["location"] == "/verify/LY-001"
    odd = await client.get("/verify", params={"number": "a/b?c"})
    assert odd.status_code == 303 and odd.headers["location"] == "/verify/a%2Fb%3Fc"


# --- certificates numbered by the holder's ID number (特种作业操作证) -------------------


def _vault(client: httpx.AsyncClient) -> Vault:
    return vault_from_settings(client._transport.app.state.settings)  # type: ignore[attr-defined]


async def test_a_number_that_is_an_id_number_is_personal_data(
    client: httpx.AsyncClient, sign_in: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect 6: a special_operation certificate's number is the holder's ID number. It is
    stored encrypted, blind-indexed and masked; it never shows in a URL, a log, an answer,
    the public page or the audit trail; verification takes it, with the name, in a body."""
    caplog.set_level(logging.DEBUG)
    assessor = await sign_in("assessor")
    raw = id_number()
    typed = raw[:-1] + raw[-1].lower()  # an x typed in lower case is the same number
    masked = raw[:6] + "********" + raw[-4:]
    created = await client.post(
        URL,
        json={
            "number": typed,
            "kind": "special_operation",
            "occupation_code": "6-31-01-03",
            "issue_date": "2025-06-01",
            "id_number": raw,
            "name": "张三丰",
        },
        headers=assessor.headers,
    )
    assert created.status_code == 201, created.text
    cert = created.json()
    assert cert["number"] == masked and cert["number_is_id_number"] is True
    assert raw not in created.text and typed not in created.text

    stored = await Certificate.get(id=cert["id"])
    assert stored.number is None and stored.number_masked == masked
    assert stored.number_cipher is not None
    assert _vault(client).decrypt(stored.number_cipher, context="certificate_number") == raw
    assert stored.number_index == _vault(client).blind_index(raw, context="certificate_number")
    events = await AuditEvent.filter(entity_type="certificate", entity_id=cert["id"])
    assert events and all(raw not in json.dumps([e.before, e.after]) for e in events)

    # public verification by GET: exactly a miss, whichever way the number is put
    miss_page = (await client.get("/verify/NO-SUCH-CERT-0001")).content
    miss_json = (await client.get("/api/v1/verify/NO-SUCH-CERT-0001")).content
    for number in (raw, typed, raw[:-1] + "0" if raw[-1] != "0" else raw[:-1] + "1"):
        page = await client.get(f"/verify/{number}")
        assert (page.status_code, page.content) == (404, miss_page)
        answer = await client.get(f"/api/v1/verify/{number}")
        assert (answer.status_code, answer.content) == (404, miss_json)
        form = await client.get("/verify", params={"number": number})
        assert (form.status_code, form.content) == (404, miss_page), form.headers
    # public verification by POST: the number and the holder's name in the body
    checked = await client.post("/api/v1/verify", json={"number": typed, "name": "张三丰"})
    assert checked.status_code == 200, checked.text
    assert checked.headers["cache-control"] == "no-store"
    answer = checked.json()
    assert answer["number"] == masked and answer["holder_name"] == "张**" and answer["valid"] is True
    assert answer["kind"] == "special_operation" and raw not in checked.text
    page = await client.post("/verify", data={"number": raw, "name": "张三丰"})
    assert page.status_code == 200 and "有效" in page.text and masked in page.text and raw not in page.text
    post_miss_json = (
        await client.post("/api/v1/verify", json={"number": "NO-SUCH-1", "name": "张三丰"})
    ).content
    post_miss_page = (await client.post("/verify", data={"number": "NO-SUCH-1", "name": "张三丰"})).content
    assert post_miss_json == miss_json
    for wrong in (
        {"number": raw, "name": "张三"},
        {"number": raw, "name": ""},
        {"number": raw},
        {"number": id_number(), "name": "张三丰"},
    ):
        answer = await client.post("/api/v1/verify", json=wrong)
        assert (answer.status_code, answer.content) == (404, post_miss_json), wrong
        page = await client.post("/verify", data=wrong)
        assert (page.status_code, page.content) == (404, post_miss_page), wrong

    # the issuer addresses it by its id (or looks it up with the number in a body), never by
    # the number in a URL: that is a 404 that does not repeat it
    by_url = await client.get(f"{URL}/{raw}", headers=assessor.headers)
    assert by_url.status_code == 404 and raw not in by_url.text
    by_id = await client.get(f"{URL}/{cert['id']}", headers=assessor.headers)
    assert by_id.status_code == 200 and by_id.json() == cert
    looked_up = await client.post(f"{URL}/lookup", json={"number": typed}, headers=assessor.headers)
    assert looked_up.status_code == 200 and looked_up.json() == cert
    other = await sign_in("assessor")
    assert (
        await client.post(f"{URL}/lookup", json={"number": raw}, headers=other.headers)
    ).status_code == 404
    assert (await client.get(f"{URL}/{cert['id']}", headers=other.headers)).status_code == 404
    revoked = await client.post(
        f"{URL}/{cert['id']}/revoke", json={"reason": "复审不合格"}, headers=assessor.headers
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    listed = await client.get(URL, params={"trainee_id": cert["trainee_id"]}, headers=assessor.headers)
    assert [c["number"] for c in listed.json()["items"]] == [masked]
    again = await client.post(
        URL,
        json={
            "number": raw,
            "kind": "special_operation",
            "occupation_code": "6-31-01-03",
            "issue_date": "2025-06-01",
            "id_number": raw,
            "name": "张三丰",
        },
        headers=assessor.headers,
    )
    assert again.status_code == 409 and raw not in again.text
    # the server's logs (the test's own HTTP client, httpx, logs the URLs it was given)
    server_logs = "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "tortoise" in server_logs  # the query log was captured, at DEBUG
    assert raw not in server_logs and typed not in server_logs


async def test_an_id_number_as_certificate_number_is_the_holders_own(
    client: httpx.AsyncClient, sign_in: Make
) -> None:
    assessor = await sign_in("assessor")
    someone_else = id_number()
    refused = await client.post(
        URL,
        json={
            "number": someone_else,
            "kind": "special_operation",
            "occupation_code": "6-31-01-03",
            "issue_date": "2025-06-01",
            "id_number": id_number(),
            "name": "李四",
        },
        headers=assessor.headers,
    )
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("number", "not_holders_id_number")
    ]
    assert someone_else not in refused.text


def test_the_access_log_never_shows_an_id_number() -> None:
    from api.app import mask_id_numbers_in_access_log

    raw = id_number()
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/verify/{raw}?x=1", "1.1", 404),
        None,
    )
    assert mask_id_numbers_in_access_log(record) is True
    assert raw not in record.getMessage() and "/verify/410" in record.getMessage()


async def test_rapid_misses_are_rate_limited_per_address(app: Any, settings: Settings) -> None:
    """300 rapid misses from one address: at most the window's allowance is looked up, the
    rest answered 429 (a problem document with Retry-After on the API, a Chinese page on the
    HTML side); another address is not affected."""
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    async with addressed(app, address) as client:
        answers = []
        for i in range(300):
            if i % 3 == 0:
                answers.append(await client.get(f"/api/v1/verify/LY-MISS-{i:05d}"))
            elif i % 3 == 1:
                answers.append(await client.get(f"/verify/LY-MISS-{i:05d}"))
            else:
                answers.append(
                    await client.post("/api/v1/verify", json={"number": f"LY-MISS-{i}", "name": "张三"})
                )
        statuses = Counter(r.status_code for r in answers)
        assert statuses[404] <= settings.verify_max_requests, statuses
        assert statuses[429] == 300 - statuses[404], statuses
        api = next(r for r in answers if r.status_code == 429 and r.request.url.path.startswith("/api/"))
        assert problem(api, 429, "rate_limited")
        assert 0 < int(api.headers["retry-after"]) <= settings.verify_window_seconds
        page = next(r for r in answers if r.status_code == 429 and r.request.url.path.startswith("/verify/"))
        assert page.headers["content-type"].startswith("text/html")
        assert "查询过于频繁" in page.text and int(page.headers["retry-after"]) > 0
        assert page.headers["cache-control"] == "no-store"
        form = await client.post("/verify", data={"number": "LY-MISS", "name": "张三"})
        assert form.status_code == 429 and "查询过于频繁" in form.text
    async with addressed(app, "192.0.3.1") as other:
        assert (await other.get("/api/v1/verify/LY-MISS-00000")).status_code == 404
