"""People: read (masked), looked up by ID number (sent in a body, never a URL), and the
audited reveal of a full ID number."""

from __future__ import annotations

import uuid

from registry.core.crypto import Vault
from registry.core.errors import NotFound, PermissionDenied
from registry.core.principal import Principal
from registry.core.tenancy import visible_trainees
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.models.training import Trainee
from registry.people.queries import ID_CONTEXT, id_index
from registry.people.rules.idnumber import validate


async def get_trainee(principal: Principal, trainee_id: uuid.UUID) -> Trainee:
    trainee = await visible_trainees(principal).get_or_none(id=trainee_id)
    if trainee is None:
        raise NotFound("no such trainee")
    return trainee


async def find_by_id_number(principal: Principal, vault: Vault, raw_number: str) -> Trainee:
    """Look a person up by ID number (sent in a body, never a URL). Auditors and admins only,
    or an institution for the people it enrolled."""
    if principal.role is Role.ASSESSOR:
        raise PermissionDenied("assessment bodies look people up through their certificates")
    number = validate(raw_number).number
    trainee = await visible_trainees(principal).get_or_none(id_index=id_index(vault, number))
    if trainee is None:
        raise NotFound("no trainee with this ID number in your scope")
    return trainee


async def reveal_id_number(principal: Principal, vault: Vault, trainee_id: uuid.UUID, reason: str) -> str:
    """The full ID number, for an auditor who asks explicitly; the request is an audit event."""
    if principal.role not in (Role.AUDITOR, Role.ADMIN):
        raise NotFound("no such trainee")
    async with unit_of_work(principal) as uow:
        trainee = await visible_trainees(principal).using_db(uow.conn).get_or_none(id=trainee_id)
        if trainee is None:
            raise NotFound("no such trainee")
        await uow.audit("trainee.reveal_id_number", "trainee", trainee.id, after={"reason": reason})
    return vault.decrypt(trainee.id_cipher, context=ID_CONTEXT)
