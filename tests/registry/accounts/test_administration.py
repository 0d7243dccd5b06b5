"""The administration's services against a real PostgreSQL (issue 16): users created with a
temporary password that must be changed, deactivated and reactivated (audited; a token's or
session's user refused at once), every user changing its password under the same rule as a
new one, institutions approved for a year, suspended and reinstated with a reason, API keys
listed; anyone but an administrator gets NotFound for what it may not see."""

from __future__ import annotations

import uuid

import pytest

from registry.accounts import api_keys, institutions, users
from registry.accounts.security import verify_password
from registry.accounts.signin import active_principal, authenticate, signed_in_user
from registry.accounts.users import UserInput
from registry.core.errors import (
    AuthenticationFailed,
    Conflict,
    InstitutionSuspended,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from registry.core.principal import Principal
from registry.enums import InstitutionStatus, Role
from registry.models.audit import AuditEvent
from registry.models.auth import User
from tests.factories import auditor, new_institution

pytestmark = pytest.mark.usefixtures("divisions")

ADMIN = Principal(kind="user", id=uuid.uuid4(), role=Role.ADMIN, name="test-admin")
PASSWORD = "correct-horse-battery"


async def actions_of(entity_id: uuid.UUID) -> list[str]:
    rows = await AuditEvent.filter(entity_id=str(entity_id)).order_by("id").values_list("action", flat=True)
    return [str(a) for a in rows]


async def new_user(role: str = "auditor", **more: object) -> User:
    return await users.create_user(
        ADMIN,
        UserInput(username=f"acct-{uuid.uuid4().hex[:10]}", password=PASSWORD, role=role, **more),  # type: ignore[arg-type]
    )


async def test_a_temporary_password_must_be_changed_and_is_changed_once() -> None:
    user, temporary = await users.create_user_with_temporary_password(
        ADMIN,
        UserInput(
            username=f"temp-{uuid.uuid4().hex[:8]}", password="", role="auditor", division_code="410305"
        ),
    )
    assert len(temporary) >= 10 and user.must_change_password
    principal = await authenticate(user.username, temporary)
    assert (await signed_in_user(principal))[1] is True
    with pytest.raises(ValidationFailed) as wrong:
        await users.change_password(principal, "not-the-password", "a-new-password-1")
    assert [e.field for e in wrong.value.errors] == ["current_password"]
    with pytest.raises(ValidationFailed) as short:
        await users.change_password(principal, temporary, "short")
    assert [(e.field, e.code) for e in short.value.errors] == [("new_password", "too_short")]
    with pytest.raises(ValidationFailed) as same:
        await users.change_password(principal, temporary, temporary)
    assert [e.code for e in same.value.errors] == ["unchanged"]
    await users.change_password(principal, temporary, "a-new-password-1")
    stored = await User.get(id=user.id)
    assert not stored.must_change_password and verify_password(stored.password_hash, "a-new-password-1")
    assert (await signed_in_user(principal))[1] is False
    assert await actions_of(user.id) == ["user.create", "user.password_change"]


async def test_deactivated_users_are_refused_and_come_back_when_reactivated() -> None:
    user = await new_user()
    principal = await authenticate(user.username, PASSWORD)
    view = await users.deactivate_user(ADMIN, user.id)
    assert not view.is_active
    with pytest.raises(AuthenticationFailed):
        await active_principal(principal)
    with pytest.raises(AuthenticationFailed):
        await authenticate(user.username, PASSWORD)
    await users.deactivate_user(ADMIN, user.id)  # again: nothing changes
    assert (await users.reactivate_user(ADMIN, user.id)).is_active
    assert (await active_principal(principal)).id == user.id
    assert await actions_of(user.id) == ["user.create", "user.deactivate", "user.reactivate"]


async def test_only_an_administrator_sees_or_changes_users() -> None:
    user = await new_user()
    for who in (auditor(), auditor("410305")):
        for call in (
            users.deactivate_user(who, user.id),
            users.reactivate_user(who, user.id),
            users.list_users(who, limit=10, offset=0),
            users.get_user(who, user.id),
        ):
            with pytest.raises(NotFound):
                await call
    with pytest.raises(NotFound):
        await users.deactivate_user(ADMIN, uuid.uuid4())
    me = await new_user("admin")
    myself = Principal(kind="user", id=me.id, role=Role.ADMIN)
    with pytest.raises(Conflict):
        await users.deactivate_user(myself, me.id)
    listed = await users.list_users(ADMIN, limit=500, offset=0, active=True)
    assert listed.total >= 1 and all(u.is_active for u in listed.items)


async def test_institutions_approved_suspended_and_reinstated_with_a_reason() -> None:
    inst = await new_institution()
    owner = await new_user("institution", institution_id=inst.id)
    approved = await institutions.approve_for_year(ADMIN, inst.id, 2031)
    assert 2031 in approved.approved_years
    await institutions.approve_for_year(ADMIN, inst.id, 2031)  # again: nothing changes
    with pytest.raises(ValidationFailed):
        await institutions.approve_for_year(ADMIN, inst.id, 1800)
    with pytest.raises(ValidationFailed) as blank:
        await institutions.suspend_institution(ADMIN, inst.id, "  ")
    assert blank.value.errors[0].field == "reason"
    suspended = await institutions.suspend_institution(ADMIN, inst.id, "年度检查发现虚报学员")
    assert suspended.status is InstitutionStatus.SUSPENDED
    with pytest.raises(InstitutionSuspended):
        await authenticate(owner.username, PASSWORD)
    with pytest.raises(Conflict):
        await institutions.suspend_institution(ADMIN, inst.id, "再次暂停")
    assert (
        await institutions.reinstate_institution(ADMIN, inst.id, "整改完成")
    ).status is InstitutionStatus.ACTIVE
    assert (await authenticate(owner.username, PASSWORD)).id == owner.id
    assert await actions_of(inst.id) == [
        "institution.create",
        "institution.approve_year",
        "institution.suspend",
        "institution.reinstate",
    ]
    event = await AuditEvent.filter(entity_id=str(inst.id), action="institution.suspend").first()
    assert event is not None and event.after["reason"] == "年度检查发现虚报学员"
    # An auditor may read its county's institution but not change it; another county's is not found.
    with pytest.raises(PermissionDenied):
        await institutions.suspend_institution(auditor(), inst.id, "原因")
    with pytest.raises(NotFound):
        await institutions.suspend_institution(
            auditor("410302" if inst.division_id != "410302" else "410305"), inst.id, "原因"
        )  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        await institutions.administered_institutions(auditor(), limit=10, offset=0)


async def test_api_keys_listed_for_an_administrator_and_their_owner_only() -> None:
    inst = await new_institution()
    owner = await new_user("institution", institution_id=inst.id)
    admin = await new_user("admin")
    as_admin = Principal(kind="user", id=admin.id, role=Role.ADMIN)
    created = await api_keys.create_api_key(as_admin, name="对接系统", institution_id=inst.id)
    everyone = await api_keys.list_api_keys(ADMIN, limit=500, offset=0)
    assert created.key.id in {k.id for k in everyone.items}
    own = await api_keys.list_api_keys(
        Principal(kind="user", id=owner.id, role=Role.INSTITUTION, institution_id=inst.id), limit=50, offset=0
    )
    assert [k.id for k in own.items] == [created.key.id]
    with pytest.raises(NotFound):
        await api_keys.list_api_keys(auditor(), limit=10, offset=0)
    await api_keys.revoke_api_key(ADMIN, created.key.id)
    active = await api_keys.list_api_keys(ADMIN, limit=500, offset=0, include_revoked=False)
    assert created.key.id not in {k.id for k in active.items}
