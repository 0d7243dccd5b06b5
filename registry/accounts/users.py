"""People who sign in: creating users (with a temporary password that must be changed at
first sign-in), listing, deactivating and reactivating them (administrators), resetting
passwords, and every user changing its own password.

Who may not see users (anyone but an administrator) gets :class:`NotFound` for them, as the
API answers 404: a user is not something an auditor or an institution can find out about."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from registry.accounts.rules import ROLE_INSTITUTION_KIND, password_errors, username_errors
from registry.accounts.security import hash_password, temporary_password, verify_password
from registry.core.db import unique_violation
from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, page_of
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
    must_change_password: bool = False
    """The password is a temporary one an administrator hands over: changed at first sign-in."""


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
                must_change_password=data.must_change_password,
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
                "must_change_password": data.must_change_password,
            },
        )
    return user


async def create_user_with_temporary_password(principal: Principal, data: UserInput) -> tuple[User, str]:
    """A user with a random temporary password (returned: shown once to the administrator,
    kept nowhere) that it must change at first sign-in; ``data.password`` is ignored."""
    password = temporary_password()
    user = await create_user(
        principal,
        dataclasses.replace(data, password=password, must_change_password=True),
    )
    return user, password


@dataclass(frozen=True)
class UserView:
    """A user as the administration lists it (never its password hash)."""

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    institution_id: uuid.UUID | None
    institution_name: str | None
    division_code: str | None
    division_name: str | None
    is_active: bool
    must_change_password: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


def _view(user: User) -> UserView:
    institution = user.institution
    division = user.division
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        institution_id=user.institution_id,  # type: ignore[attr-defined]
        institution_name=institution.name if institution else None,
        division_code=user.division_id,  # type: ignore[attr-defined]
        division_name=division.name if division else None,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _administrators_only(principal: Principal) -> None:
    if principal.role is not Role.ADMIN or principal.kind not in ("user", "system"):
        raise NotFound("no such user")


async def list_users(
    principal: Principal, *, limit: int, offset: int, role: Role | None = None, active: bool | None = None
) -> Page[UserView]:
    """Every user, the newest first (administrators; anyone else: NotFound)."""
    _administrators_only(principal)
    query = User.all().select_related("institution", "division").order_by("-created_at", "username", "id")
    if role is not None:
        query = query.filter(role=role)
    if active is not None:
        query = query.filter(is_active=active)
    page: Page[User] = await page_of(query, limit, offset)
    return page.map(_view)


async def get_user(principal: Principal, user_id: uuid.UUID) -> UserView:
    _administrators_only(principal)
    user = await User.filter(id=user_id).select_related("institution", "division").get_or_none()
    if user is None:
        raise NotFound("no such user")
    return _view(user)


async def _set_active(principal: Principal, user_id: uuid.UUID, active: bool) -> UserView:
    _administrators_only(principal)
    if not active and principal.id == user_id:
        raise Conflict(
            "an administrator cannot deactivate its own account",
            code="own_account",
            errors=[FieldError("user", "own_account", "ask another administrator")],
        )
    async with unit_of_work(principal) as uow:
        user = await User.filter(id=user_id).using_db(uow.conn).select_for_update().get_or_none()
        if user is None:
            raise NotFound("no such user")
        if user.is_active != active:
            user.is_active = active
            await user.save(using_db=uow.conn, update_fields=["is_active"])
            await uow.audit(
                "user.reactivate" if active else "user.deactivate",
                "user",
                user.id,
                before={"is_active": not active},
                after={"is_active": active},
            )
    return await get_user(principal, user_id)


async def deactivate_user(principal: Principal, user_id: uuid.UUID) -> UserView:
    """The user can no longer sign in; its tokens and browser sessions stop working at their
    next re-check (:func:`registry.accounts.signin.active_principal`). Audited; deactivating
    a deactivated user changes nothing."""
    return await _set_active(principal, user_id, False)


async def reactivate_user(principal: Principal, user_id: uuid.UUID) -> UserView:
    """The user signs in again (tokens issued before its deactivation work again until they
    expire). Audited; reactivating an active user changes nothing."""
    return await _set_active(principal, user_id, True)


async def change_password(principal: Principal, current: str, new: str) -> None:
    """A signed-in user changes its own password: the current one must be right, the new one
    follows the same rule as :func:`create_user`'s and differs from the current one. Clears
    ``must_change_password``. Audited (``user.password_change``, no password in it)."""
    if principal.kind != "user" or principal.id is None:
        raise PermissionDenied("only a person signed in changes its password")
    errors = [FieldError("new_password", e.code, e.message) for e in password_errors(new)]
    if not errors and new == current:
        errors.append(
            FieldError("new_password", "unchanged", "the new password must differ from the current one")
        )
    async with unit_of_work(principal) as uow:
        user = (
            await User.filter(id=principal.id, is_active=True)
            .using_db(uow.conn)
            .select_for_update()
            .get_or_none()
        )
        if user is None:
            raise NotFound("no such user")
        if not verify_password(user.password_hash, current):
            errors.insert(
                0, FieldError("current_password", "wrong_password", "the current password is wrong")
            )
        if errors:
            raise ValidationFailed("the password was not changed", errors=errors)
        user.password_hash = hash_password(new)
        user.must_change_password = False
        await user.save(using_db=uow.conn, update_fields=["password_hash", "must_change_password"])
        await uow.audit("user.password_change", "user", user.id)


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
