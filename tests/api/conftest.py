"""Fixtures for API tests: signed-in actors and the catalogue rows the tests use.

``sign_in`` issues a token directly for a new user row (argon2 hashing twice per actor
would dominate the suite); ``password_sign_in`` goes through ``POST /auth/token`` with a
real password, for the sign-in tests themselves."""

from __future__ import annotations

import uuid

import httpx
import pytest

from registry.accounts.security import issue_token
from registry.accounts.users import UserInput, create_user
from registry.core.principal import Principal, system
from registry.core.settings import Settings
from registry.enums import Role
from registry.models.auth import User
from registry.models.institution import Institution
from registry.models.reference import Occupation
from tests.api.support import GROUP, OCCUPATION, PASSWORD, Actor, Make
from tests.factories import new_institution


@pytest.fixture(scope="session", autouse=True)
async def occupations(divisions: None) -> None:
    await Occupation.get_or_create(code=OCCUPATION, defaults={"name": "无人机驾驶员", "level": 4})
    await Occupation.get_or_create(code=GROUP, defaults={"name": "生活照料服务人员", "level": 3})


async def _owner(role: str, institution: Institution | None, kinds: list[str] | None) -> Institution | None:
    if role in ("institution", "assessor") and institution is None:
        return await new_institution(
            kinds=kinds or (["training"] if role == "institution" else ["assessment"])
        )
    return institution


@pytest.fixture
def sign_in(settings: Settings, divisions: None) -> Make:
    async def make(
        role: str,
        *,
        institution: Institution | None = None,
        division: str | None = None,
        kinds: list[str] | None = None,
    ) -> Actor:
        institution = await _owner(role, institution, kinds)
        user = await User.create(
            id=uuid.uuid4(),
            username=f"{role}-{uuid.uuid4().hex[:10]}",
            role=Role(role),
            password_hash="!",
            institution_id=institution.id if institution else None,
            division_id=division,
        )
        principal = Principal(
            kind="user",
            id=user.id,
            role=Role(role),
            institution_id=institution.id if institution else None,
            division_code=division,
        )
        token = issue_token(settings.token_key, principal, 3600).token
        return Actor(user.username, {"Authorization": f"Bearer {token}"}, user.id, institution)

    return make


@pytest.fixture
def password_sign_in(client: httpx.AsyncClient, divisions: None) -> Make:
    async def make(
        role: str,
        *,
        institution: Institution | None = None,
        division: str | None = None,
        kinds: list[str] | None = None,
    ) -> Actor:
        institution = await _owner(role, institution, kinds)
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
        return Actor(username, {"Authorization": f"Bearer {token}"}, user.id, institution, role, division)

    return make


@pytest.fixture(autouse=True)
async def fresh_rate_limits(app) -> None:  # type: ignore[no-untyped-def]
    """Each test starts with no rate-limit counters (most tests share the default address)."""
    redis = app.state.redis
    keys = [key async for key in redis.scan_iter("limit:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture(scope="session")
async def catalogue(divisions: None) -> None:
    """The whole shipped catalogue (``registry load-reference``): every division and the
    division aliases (retired and short names, retired codes)."""
    from registry.reference.service import load_reference
    from tests.factories import confirm_reference_list

    await load_reference(system("test"))
    await confirm_reference_list()


@pytest.fixture(scope="session")
async def subsidy_policies(catalogue: None) -> None:
    """The catalogue and its shipped subsidy policies (what ``registry load-reference`` loads):
    henan-2022 from 2022-03-31, the reference priority list from 2025-01-01."""
    from registry.subsidy.service import load_shipped_policies

    await load_shipped_policies(system("test"))
