"""People who sign in, their tokens, and institutions' API keys."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from registry.accounts.security import (
    api_key_digest,
    digests_match,
    hash_password,
    needs_rehash,
    new_api_key,
    parse_api_key,
    verify_password,
)
from registry.core.clock import business_today
from registry.core.errors import (
    AuthenticationFailed,
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import InstitutionKind, InstitutionStatus, Role
from registry.models.auth import ApiKey, User
from registry.models.institution import Institution
from registry.models.reference import Division

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
# Which kind of institution each institution-bound role must belong to.
ROLE_INSTITUTION_KIND = {
    Role.INSTITUTION: InstitutionKind.TRAINING,
    Role.ASSESSOR: InstitutionKind.ASSESSMENT,
}


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


def password_errors(password: str) -> list[FieldError]:
    """The password rule's refusals (empty: the password is accepted)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [FieldError("password", "too_short", f"at least {MIN_PASSWORD_LENGTH} characters")]
    return []


async def _user_errors(data: UserInput) -> list[FieldError]:
    errors: list[FieldError] = []
    if not USERNAME_RE.match(data.username):
        errors.append(
            FieldError(
                "username", "invalid_format", "3-64 characters: lower-case letters, digits, '.', '_' or '-'"
            )
        )
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


async def create_user(principal: Principal, data: UserInput) -> User:
    if principal.role is not Role.ADMIN:
        raise PermissionDenied("only an administrator creates users")
    errors = await _user_errors(data)
    if errors:
        raise ValidationFailed("the user is not valid", errors=errors)
    async with unit_of_work(principal) as uow:
        if await User.filter(username=data.username).using_db(uow.conn).exists():
            raise Conflict(
                "the username is taken",
                code="duplicate_username",
                errors=[FieldError("username", "duplicate", "already taken")],
            )
        user = await User.create(
            username=data.username,
            display_name=data.display_name,
            role=Role(data.role),
            institution_id=data.institution_id,
            division_id=data.division_code,
            password_hash=hash_password(data.password),
            using_db=uow.conn,
        )
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


async def authenticate(username: str, password: str) -> Principal:
    """The principal for a username and password, or AuthenticationFailed (same answer for
    an unknown user and a wrong password)."""
    user = await User.get_or_none(username=username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationFailed("wrong username or password", code="bad_credentials")
    updates = ["last_login_at"]
    user.last_login_at = dt.datetime.now(dt.UTC)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        updates.append("password_hash")
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=updates)
    return principal_of(user)


async def active_principal(token_principal: Principal) -> Principal:
    """Re-check a token's user: a deactivated user's tokens stop working at once."""
    user = await User.get_or_none(id=token_principal.id, is_active=True)
    if user is None:
        raise AuthenticationFailed("the account is not active", code="account_inactive")
    return principal_of(user)


@dataclass(frozen=True)
class CreatedApiKey:
    key: ApiKey
    secret: str


async def create_api_key(
    principal: Principal, *, name: str, institution_id: uuid.UUID | None
) -> CreatedApiKey:
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


async def principal_for_api_key(secret: str) -> Principal:
    prefix = parse_api_key(secret)
    key = await ApiKey.get_or_none(prefix=prefix).select_related("institution")
    if key is None or key.revoked_at is not None or not digests_match(key.key_hash, api_key_digest(secret)):
        raise AuthenticationFailed("the API key is not valid", code="api_key_invalid")
    if key.institution.status is not InstitutionStatus.ACTIVE:
        raise AuthenticationFailed("the institution is not active", code="institution_inactive")
    return Principal(
        kind="apikey",
        id=key.id,
        role=Role(key.role),
        institution_id=key.institution_id,  # type: ignore[attr-defined]
        name=key.name,
    )


# --- demo users (``registry up``) -------------------------------------------------

DEMO_TRAINING_USCC_BODY = "91410305MA9DEMT01"
DEMO_ASSESSMENT_USCC_BODY = "52410305MA9DEMT02"
DEMO_USERNAMES = ("demo-admin", "demo-auditor", "demo-institution", "demo-assessor")


def uscc_with_check(body17: str) -> str:
    from stdnum.cn import uscc

    return body17 + uscc.calc_check_digit(body17 + "0")


@dataclass(frozen=True)
class DemoUsers:
    usernames: list[str]
    password: str | None
    """The password set now; None when the users already existed."""
    created: bool


async def ensure_demo_users(password: str | None) -> DemoUsers:
    """The demo institution, assessment body and the four demo users (idempotent).

    ``password`` is set on users created now; an existing user keeps its password unless
    a password is given, in which case it is reset to it."""
    from registry.core.principal import system

    actor = system("demo")
    this_year = business_today().year
    bodies = [
        (uscc_with_check(DEMO_TRAINING_USCC_BODY), "洛阳示范职业技能培训学校（演示）", ["training"]),
        (uscc_with_check(DEMO_ASSESSMENT_USCC_BODY), "洛阳示范职业技能评价中心（演示）", ["assessment"]),
    ]
    ids = []
    for code, name, kinds in bodies:
        inst = await Institution.get_or_none(uscc=code)
        if inst is None:
            from registry.accounts.institutions import InstitutionInput, create_institution

            inst = await create_institution(
                actor,
                InstitutionInput(
                    uscc=code,
                    name=name,
                    division_code="410305",
                    kinds=kinds,
                    approved_years=list(range(this_year - 2, this_year + 2)),
                ),
            )
        ids.append(inst.id)
    specs = [
        ("demo-admin", Role.ADMIN, None, "演示管理员"),
        ("demo-auditor", Role.AUDITOR, None, "演示审核员（市级）"),
        ("demo-institution", Role.INSTITUTION, ids[0], "演示培训机构用户"),
        ("demo-assessor", Role.ASSESSOR, ids[1], "演示评价机构用户"),
    ]
    created = False
    for username, role, institution_id, display in specs:
        existing = await User.get_or_none(username=username)
        if existing is None:
            created = True
            if password is None:
                import secrets

                password = secrets.token_urlsafe(12)
            await create_user(
                actor,
                UserInput(
                    username=username,
                    password=password,
                    role=role.value,
                    institution_id=institution_id,
                    display_name=display,
                ),
            )
        elif password is not None and not verify_password(existing.password_hash, password):
            await set_password(actor, username, password)
    return DemoUsers(usernames=list(DEMO_USERNAMES), password=password, created=created)
