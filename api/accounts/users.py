"""Users who sign in, and API keys for institutions' own systems."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, post

from api.fields import DivisionCode
from api.idempotency import idempotent
from registry.accounts import api_keys
from registry.accounts import users as service
from registry.core.principal import Principal
from registry.enums import Role


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    role: Role
    institution_id: uuid.UUID | None = None
    division_code: DivisionCode | None = None
    display_name: Annotated[str, msgspec.Meta(max_length=100)] = ""


class UserRead(msgspec.Struct):
    id: uuid.UUID
    username: str
    role: Role
    institution_id: uuid.UUID | None
    division_code: str | None
    display_name: str
    created_at: dt.datetime
    is_active: bool = True
    must_change_password: bool = False

    @classmethod
    def of(cls, user: service.UserView) -> UserRead:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            institution_id=user.institution_id,
            division_code=user.division_code,
            display_name=user.display_name,
            created_at=user.created_at,
            is_active=user.is_active,
            must_change_password=user.must_change_password,
        )


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    institution_id: uuid.UUID | None = None


class ApiKeyRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    institution_id: uuid.UUID
    role: Role
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    key: str | None = None
    """The secret, present only in the answer to the create request: store it now."""


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post("/", summary="Create a user (admin)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: UserCreate
    ) -> Response[UserRead]:
        async def run() -> tuple[int, UserRead]:
            user = await service.create_user(
                principal,
                service.UserInput(**msgspec.structs.asdict(data)),
            )
            return 201, UserRead(
                id=user.id,
                username=user.username,
                role=data.role,
                institution_id=data.institution_id,
                division_code=data.division_code,
                display_name=user.display_name,
                created_at=user.created_at,
            )

        return await idempotent(request, principal, run)

    @post("/{user_id:uuid}/deactivate", summary="Deactivate a user (admin)", status_code=200)
    async def deactivate(self, principal: Principal, user_id: uuid.UUID) -> UserRead:
        """The user can no longer sign in; its tokens and browser sessions stop working.
        Audited. 404 for a caller who may not see users (anyone but an administrator)."""
        return UserRead.of(await service.deactivate_user(principal, user_id))

    @post("/{user_id:uuid}/reactivate", summary="Reactivate a user (admin)", status_code=200)
    async def reactivate(self, principal: Principal, user_id: uuid.UUID) -> UserRead:
        """The user signs in again. Audited. 404 for a caller who may not see users."""
        return UserRead.of(await service.reactivate_user(principal, user_id))


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["users"]

    @post("/", summary="Create an API key (shown once)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: ApiKeyCreate
    ) -> Response[ApiKeyRead]:
        async def run() -> tuple[int, ApiKeyRead]:
            created = await api_keys.create_api_key(
                principal, name=data.name, institution_id=data.institution_id
            )
            key = created.key
            return 201, ApiKeyRead(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                institution_id=key.institution_id,  # type: ignore[attr-defined]
                role=Role(key.role),
                created_at=key.created_at,
                key=created.secret,
            )

        return await idempotent(request, principal, run, redact=lambda body: {**body, "key": None})

    @delete("/{key_id:uuid}", summary="Revoke an API key", status_code=204)
    async def revoke(self, principal: Principal, key_id: uuid.UUID) -> None:
        await api_keys.revoke_api_key(principal, key_id)
