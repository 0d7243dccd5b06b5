"""The demo institution, assessment body and users that ``registry up`` signs in with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from registry.accounts.institutions import InstitutionInput, create_institution
from registry.accounts.rules import uscc_with_check
from registry.accounts.security import verify_password
from registry.accounts.users import UserInput, create_user, set_password
from registry.core.clock import business_today
from registry.core.principal import system
from registry.enums import Role
from registry.models.auth import User
from registry.models.institution import Institution

DEMO_TRAINING_USCC_BODY = "91410305MA9DEMT01"
DEMO_ASSESSMENT_USCC_BODY = "52410305MA9DEMT02"
DEMO_USERNAMES = ("demo-admin", "demo-auditor", "demo-institution", "demo-assessor")


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
