from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx

from registry.models.certificate import Certificate
from registry.models.training import Trainee
from tests.api.certificates.test_certificates import URL, id_number, issue
from tests.api.certificates.test_certificates import occupations as occupations  # the autouse fixture
from tests.api.support import Actor

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
