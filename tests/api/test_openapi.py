"""The OpenAPI document tells the truth (issue 7 §3): every error the API answers is
documented as a problem document, public routes need no token, request schemas are as
strict as the server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import Make, body, owner

PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/healthz"),
    ("get", "/api/v1/readyz"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/verify"),
    ("get", "/api/v1/verify/{number}"),
    ("post", "/api/v1/verify"),
}
REQUEST_STRUCTS = [
    "TokenRequest",
    "InstitutionCreate",
    "UserCreate",
    "ApiKeyCreate",
    "CohortCreate",
    "CohortPatch",
    "CohortCancel",
    "EnrolmentCreate",
    "EnrolmentPatch",
    "CertificateCreate",
    "NumberLookup",
    "StatusChange",
    "LookupRequest",
    "RevealRequest",
    "VerifyRequest",
]


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]


async def test_every_error_is_documented_as_a_problem_document(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) >= {"type", "title", "status", "detail", "code", "instance", "errors"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ProblemError"}
    error = document["components"]["schemas"]["ProblemError"]
    assert set(error["properties"]) == {"field", "code", "message", "row", "column"}
    for method, path, op in operations(document):
        responses = op["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
        assert {"400", "404", "422"} <= set(responses), (method, path)
        if (method, path) not in PUBLIC or path == "/api/v1/auth/token":
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in op:
            assert {"413", "415"} <= set(responses), (method, path)
        if method != "get" and (method, path) not in PUBLIC:
            assert "409" in responses, (method, path)
    for method, path in [("post", "/api/v1/auth/token"), ("get", "/api/v1/verify/{number}")]:
        assert "429" in document["paths"][path][method]["responses"]
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]


async def test_public_routes_need_no_token_and_the_others_do(document: dict[str, Any]) -> None:
    assert {"bearer": []} in document["security"] and {"apiKey": []} in document["security"]
    found = set()
    for method, path, op in operations(document):
        if (method, path) in PUBLIC:
            assert op.get("security") == [], (method, path)
            found.add((method, path))
        else:
            assert "security" not in op, (method, path)  # the document's default: a token or a key
    assert found == PUBLIC


async def test_created_answers_are_documented(document: dict[str, Any]) -> None:
    for path, schema in [
        ("/api/v1/institutions", "InstitutionRead"),
        ("/api/v1/users", "UserRead"),
        ("/api/v1/api-keys", "ApiKeyRead"),
        ("/api/v1/cohorts", "CohortRead"),
        ("/api/v1/certificates", "CertificateRead"),
    ]:
        created = document["paths"][path]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
        assert created == {"$ref": f"#/components/schemas/{schema}"}, path
    assert "200" in document["paths"]["/api/v1/cohorts"]["post"]["responses"]  # found by its reference


async def test_request_schemas_are_as_strict_as_the_server(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in REQUEST_STRUCTS:
        assert schemas[name].get("additionalProperties") is False, name
    for name in ["CohortCreate", "CohortPatch", "InstitutionCreate"]:
        division = schemas[name]["properties"]["division_code"]
        assert division.get("pattern") == "^[0-9]{6}$", (name, division)
        assert division.get("maxLength") != 16
    for name, field in [("CohortCreate", "capacity"), ("CohortCreate", "planned_hours")]:
        assert schemas[name]["properties"][field]["maximum"] == 2**31 - 1
    params = {p["name"]: p for p in document["paths"]["/api/v1/cohorts"]["get"]["parameters"]}
    assert params["division"]["schema"].get("pattern") == "^[0-9]{6}$"
    assert params["offset"]["schema"]["maximum"] <= 2**63 - 1


async def test_what_the_api_answers_is_what_the_document_says(
    client: httpx.AsyncClient, sign_in: Make, document: dict[str, Any]
) -> None:
    """A few real answers, each a status the document lists for the operation, as a problem."""
    inst = await owner(client, sign_in)
    cohort = await inst.cohort(open_it=False)
    answers = [
        ("get", "/api/v1/cohorts", await client.get("/api/v1/cohorts")),  # 401
        ("post", "/api/v1/cohorts", await inst.post("/cohorts", {"reference": "x"})),  # 422
        (
            "post",
            "/api/v1/cohorts",
            await client.post(
                "/api/v1/cohorts",
                content=b"{",
                headers={**inst.actor.headers, "Content-Type": "application/json"},
            ),
        ),  # 400
        (
            "post",
            "/api/v1/cohorts",
            await client.post(
                "/api/v1/cohorts", content=b"{}", headers={**inst.actor.headers, "Content-Type": "text/plain"}
            ),
        ),  # 415
        (
            "post",
            "/api/v1/cohorts/{cohort_id}/close",
            await inst.post(f"/cohorts/{cohort['id']}/close"),
        ),  # 409
        ("post", "/api/v1/institutions", await inst.post("/institutions", {})),  # 422 or 403
        ("get", "/api/v1/cohorts", await inst.get("/cohorts?offset=-1")),  # 422
    ]
    statuses = set()
    for method, path, response in answers:
        documented = document["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        statuses.add(response.status_code)
    assert {400, 401, 409, 415, 422} <= statuses
    created = await inst.post("/cohorts", body())
    assert "201" in document["paths"]["/api/v1/cohorts"]["post"]["responses"] and created.status_code == 201
