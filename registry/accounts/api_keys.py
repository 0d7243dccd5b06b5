"""Institutions' API keys: created (the secret shown once), listed, revoked."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from registry.accounts.security import new_api_key
from registry.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, page_of
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import InstitutionKind, Role
from registry.models.auth import ApiKey
from registry.models.institution import Institution


@dataclass(frozen=True)
class CreatedApiKey:
    key: ApiKey
    secret: str


async def create_api_key(
    principal: Principal, *, name: str, institution_id: uuid.UUID | None
) -> CreatedApiKey:
    if principal.kind != "user":
        # A key is created by a person (``created_by``): a machine client cannot mint keys.
        raise PermissionDenied("an API key cannot create API keys: sign in as a user")
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        if institution_id is not None and institution_id != principal.institution_id:
            raise NotFound("no such institution")
        institution_id = principal.institution_id
        role = principal.role
    elif principal.role is Role.ADMIN:
        if institution_id is None:
            raise ValidationFailed(
                "name the institution",
                errors=[FieldError("institution_id", "required", "the key's institution")],
            )
        role = Role.INSTITUTION
    else:
        raise PermissionDenied("auditors do not create API keys")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(
            "the key needs a name", errors=[FieldError("name", "invalid_length", "1-100 characters")]
        )
    inst = await Institution.get_or_none(id=institution_id)
    if inst is None:
        raise NotFound("no such institution")
    if principal.role is Role.ADMIN and InstitutionKind.TRAINING.value not in inst.kinds:
        role = Role.ASSESSOR
    issued = new_api_key()
    async with unit_of_work(principal) as uow:
        key = await ApiKey.create(
            name=name,
            prefix=issued.prefix,
            key_hash=issued.digest,
            role=role,
            institution_id=inst.id,
            created_by_id=principal.id,
            using_db=uow.conn,
        )
        await uow.audit(
            "api_key.create", "api_key", key.id, after={"name": name, "institution": str(inst.id)}
        )
    return CreatedApiKey(key=key, secret=issued.secret)


async def revoke_api_key(principal: Principal, key_id: uuid.UUID) -> ApiKey:
    async with unit_of_work(principal) as uow:
        query = ApiKey.filter(id=key_id).using_db(uow.conn).select_for_update()
        if principal.role is not Role.ADMIN:
            if principal.institution_id is None or principal.kind != "user":
                raise NotFound("no such API key")
            query = query.filter(institution_id=principal.institution_id)
        key = await query.get_or_none()
        if key is None:
            raise NotFound("no such API key")
        if key.revoked_at is None:
            key.revoked_at = dt.datetime.now(dt.UTC)
            await key.save(using_db=uow.conn, update_fields=["revoked_at"])
            await uow.audit(
                "api_key.revoke", "api_key", key.id, after={"revoked_at": key.revoked_at.isoformat()}
            )
    return key


async def list_api_keys(
    principal: Principal, *, limit: int, offset: int, include_revoked: bool = True
) -> Page[ApiKey]:
    """API keys, newest first, with their institution: an administrator's every key, an
    institution's or assessment body's user its own; anyone else NotFound (never a secret:
    only its hash is kept)."""
    query = ApiKey.all().select_related("institution", "created_by").order_by("-created_at", "id")
    if principal.role is not Role.ADMIN:
        if principal.kind != "user" or principal.institution_id is None:
            raise NotFound("no such API key")
        query = query.filter(institution_id=principal.institution_id)
    if not include_revoked:
        query = query.filter(revoked_at__isnull=True)
    return await page_of(query, limit, offset)
