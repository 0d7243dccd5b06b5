"""Who is acting: the identity and scope every service checks tenancy against."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from registry.enums import Role


@dataclass(frozen=True)
class Principal:
    kind: str
    """``user``, ``apikey`` or ``system``."""
    id: uuid.UUID | None
    role: Role
    institution_id: uuid.UUID | None = None
    division_code: str | None = None
    """For a county auditor: the division it may see. None = the whole city."""
    name: str = ""

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        if self.kind == "system":
            return f"system:{self.name}"
        return f"{self.kind}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_auditor(self) -> bool:
        return self.role is Role.AUDITOR


def system(name: str) -> Principal:
    return Principal(kind="system", id=None, role=Role.ADMIN, name=name)
