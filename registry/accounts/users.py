"""People who sign in: creating users and resetting their passwords."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from registry.accounts.rules import ROLE_INSTITUTION_KIND, password_errors, username_errors
from registry.accounts.security import hash_password
from registry.core.db import unique_violation
from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.models.auth import ApiKey, User
from registry.models.institution import Institution
from registry.models.reference import Division


@dataclass(frozen=True)
class UserInput:
    username: str
    password: str
    role: str
    institution_id: uuid.UUID | None = None
    division_code: str | None = None
    display_name: str = ""


def principal_of(user: User) -> Principal:
    return Principal(
        kind="user",
        id=user.id,
        role=Role(user.role),
        institution_id=user.institution_id,  # type: ignore[attr-defined]
        division_code=user.division_id,  # type: ignore[attr-defined]
        name=user.username,
    )


async def _user_errors(data: UserInput) -> list[FieldError]:
    errors: list[FieldError] = []
    errors.extend(username_errors(data.username))
    errors.extend(password_errors(data.password))
    try:
        role = Role(data.role)
    except ValueError:
        return [
            *errors,
            FieldError("role", "invalid_choice", "role is admin, auditor, institution or assessor"),
        ]
    needed_kind = ROLE_INSTITUTION_KIND.get(role)
    if needed_kind is not None:
        if data.institution_id is None:
            errors.append(
                FieldError("institution_id", "required", f"a user with role {role} belongs to an institution")
            )
        else:
            inst = await Institution.get_or_none(id=data.institution_id)
            if inst is None:
                errors.append(FieldError("institution_id", "unknown_institution", "no such institution"))
            elif needed_kind.value not in inst.kinds:
                errors.append(
                    FieldError(
                        "institution_id", "wrong_kind", f"role {role} needs a {needed_kind} institution"
                    )
                )
    elif data.institution_id is not None:
        errors.append(
            FieldError("institution_id", "not_allowed", f"a user with role {role} has no institution")
        )
    if data.division_code is not None:
        if role is not Role.AUDITOR:
            errors.append(
                FieldError("division_code", "not_allowed", "only an auditor is scoped to a division")
            )
        elif not await Division.filter(code=data.division_code).exists():
            errors.append(FieldError("division_code", "unknown_division", "not a Luoyang division"))
    return errors


def _username_taken() -> Conflict:
    return Conflict(
        "the username is taken",
        code="duplicate_username",
        errors=[FieldError("username", "duplicate", "already taken")],
    )


async def create_user(principal: Principal, data: UserInput) -> User:
    if principal.role is not Role.ADMIN:
        raise PermissionDenied("only an administrator creates users")
    errors = await _user_errors(data)
    if errors:
        raise ValidationFailed("the user is not valid", errors=errors)
    async with unit_of_work(principal) as uow:
        if await User.filter(username=data.username).using_db(uow.conn).exists():
            raise _username_taken()
        try:
            user = await User.create(
                username=data.username,
                display_name=data.display_name,
                role=Role(data.role),
                institution_id=data.institution_id,
                division_id=data.division_code,
                password_hash=hash_password(data.password),
                using_db=uow.conn,
            )
        except IntegrityError as exc:
            # Another request took the name between the check and the insert.
            if unique_violation(exc) == ("username",):
                raise _username_taken() from None
            raise
        await uow.audit(
            "user.create",
            "user",
            user.id,
            after={
                "username": user.username,
                "role": data.role,
                "institution": str(data.institution_id) if data.institution_id else None,
                "division": data.division_code,
            },
        )
    return user


async def set_password(principal: Principal, username: str, password: str) -> None:
    if principal.role is not Role.ADMIN:
        raise PermissionDenied("only an administrator resets passwords")
    if errors := password_errors(password):
        raise ValidationFailed("the password is too short", errors=errors)
    async with unit_of_work(principal) as uow:
        user = await User.filter(username=username).using_db(uow.conn).select_for_update().get_or_none()
        if user is None:
            raise NotFound("no such user")
        user.password_hash = hash_password(password)
        await user.save(using_db=uow.conn, update_fields=["password_hash"])
        await uow.audit("user.password_reset", "user", user.id)


async def actor_names(actors: list[str]) -> dict[str, str]:
    """What people read for the audit trail's actors: ``user:<id>`` as its username,
    ``apikey:<id>`` as its key's name, ``system:<name>`` as 系统（name）."""
    user_ids: list[uuid.UUID] = []
    key_ids: list[uuid.UUID] = []
    for actor in set(actors):
        kind, _, ident = actor.partition(":")
        try:
            value = uuid.UUID(ident)
        except ValueError:
            continue
        (user_ids if kind == "user" else key_ids if kind == "apikey" else []).append(value)
    names = {f"user:{u.id}": u.display_name or u.username for u in await User.filter(id__in=user_ids)}
    names.update({f"apikey:{k.id}": f"接口密钥 {k.name}" for k in await ApiKey.filter(id__in=key_ids)})
    for actor in actors:
        if actor.startswith("system:"):
            names[actor] = f"系统（{actor.split(':', 1)[1]}）"
        elif actor not in names:
            names[actor] = f"账号 {actor.partition(':')[2][:8]}"
    return names
