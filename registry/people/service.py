"""People: read (masked), looked up by ID number (sent in a body, never a URL), and the
audited reveal of a full ID number."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from tortoise import connections

from registry.core.crypto import Vault
from registry.core.errors import NotFound, PermissionDenied
from registry.core.principal import Principal
from registry.core.tenancy import visible_enrolments, visible_trainees
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.models.training import Trainee
from registry.people.queries import ID_CONTEXT, id_index, institution_facts
from registry.people.rules.idnumber import validate


@dataclass(frozen=True)
class TraineeView:
    """A person as the caller may see it (ID number masked). An institution sees what it
    said on its latest enrolment of the person (name as given, phone, household, groups);
    the bureau sees the person's record and the review flags of the enrolments in its scope."""

    id: uuid.UUID
    name: str
    id_masked: str
    sex: str
    birth_date: dt.date
    phone_masked: str | None
    household_division: str | None
    groups: list[str]
    created_at: dt.datetime
    review_flags: list[str] | None = None
    """For auditors and admins only (None for anyone else)."""


async def _view(principal: Principal, trainee: Trainee) -> TraineeView:
    view = TraineeView(
        id=trainee.id,
        name=trainee.name,
        id_masked=trainee.id_masked,
        sex=trainee.sex,
        birth_date=trainee.birth_date,
        phone_masked=trainee.phone_masked,
        household_division=trainee.household_division_id,  # type: ignore[attr-defined]
        groups=list(trainee.groups),
        created_at=trainee.created_at,
    )
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        facts = await institution_facts(connections.get("default"), trainee.id, principal.institution_id)
        if facts is not None:
            view = replace(
                view,
                name=facts.name,
                phone_masked=facts.phone_masked,
                household_division=facts.household_division,
                groups=facts.groups,
            )
    elif principal.role in (Role.AUDITOR, Role.ADMIN):
        flags = (
            await visible_enrolments(principal)
            .filter(trainee_id=trainee.id)
            .values_list("review_flags", flat=True)
        )
        view = replace(view, review_flags=sorted({f for fs in flags for f in (fs or [])}))  # type: ignore[union-attr]
    return view


async def get_trainee(principal: Principal, trainee_id: uuid.UUID) -> TraineeView:
    trainee = await visible_trainees(principal).get_or_none(id=trainee_id)
    if trainee is None:
        raise NotFound("no such trainee")
    return await _view(principal, trainee)


async def find_by_id_number(principal: Principal, vault: Vault, raw_number: str) -> TraineeView:
    """Look a person up by ID number (sent in a body, never a URL). Auditors and admins only,
    or an institution for the people it enrolled."""
    if principal.role is Role.ASSESSOR:
        raise PermissionDenied("assessment bodies look people up through their certificates")
    number = validate(raw_number).number
    trainee = await visible_trainees(principal).get_or_none(id_index=id_index(vault, number))
    if trainee is None:
        raise NotFound("no trainee with this ID number in your scope")
    return await _view(principal, trainee)


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
