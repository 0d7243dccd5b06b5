"""Helpers for API tests: institutions and users made through the services, and sign-in."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from stdnum.cn import uscc as uscc_std

from registry.models.enums import Role
from registry.models.institution import Institution
from registry.models.reference import Division
from registry.principal import system
from registry.services.institutions import InstitutionInput, create_institution
from registry.services.users import UserInput, create_user

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_uscc() -> str:
    """A fresh valid unified social credit code."""
    body = f"914103{uuid.uuid4().int % 10**9:09d}MA"[:17]
    body = body[:8] + f"{uuid.uuid4().int % 10**9:09d}"
    return body + uscc_std.calc_check_digit(body + "0")


@dataclass
class Actor:
    username: str
    headers: dict[str, str]
    user_id: uuid.UUID
    institution: Institution | None = None


@pytest.fixture(scope="session")
async def divisions(database: None) -> None:
    """Enough of the reference data for these tests (load-reference loads all of it)."""
    for code, name, kind in [
        ("410305", "涧西区", "district"),
        ("410302", "老城区", "district"),
        ("410323", "新安县", "county"),
    ]:
        await Division.get_or_create(code=code, defaults={"name": name, "kind": kind})


async def new_institution(kinds: list[str], division: str = "410305") -> Institution:
    return await create_institution(
        system("test"),
        InstitutionInput(
            uscc=make_uscc(),
            name=f"测试机构{next(_counter)}",
            division_code=division,
            kinds=kinds,
            approved_years=[2025, 2026],
        ),
    )


@pytest.fixture
def sign_in(client: httpx.AsyncClient, divisions: None) -> Callable[..., Awaitable[Actor]]:
    async def make(
        role: str,
        *,
        institution: Institution | None = None,
        division: str | None = None,
        kinds: list[str] | None = None,
    ) -> Actor:
        if role in ("institution", "assessor") and institution is None:
            institution = await new_institution(
                kinds or (["training"] if role == "institution" else ["assessment"])
            )
        username = f"{role}-{uuid.uuid4().hex[:10]}"
        user = await create_user(
            system("test"),
            UserInput(
                username=username,
                password=PASSWORD,
                role=Role(role).value,
                institution_id=institution.id if institution else None,
                division_code=division,
            ),
        )
        response = await client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        return Actor(username, {"Authorization": f"Bearer {token}"}, user.id, institution)

    return make
