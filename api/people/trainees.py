"""People. ID numbers travel only in request bodies, never in URLs; answers show them
masked, except the explicit, audited reveal for auditors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post

from registry.core.crypto import Vault
from registry.core.principal import Principal
from registry.models.training import Trainee
from registry.people import service

NO_STORE = {"Cache-Control": "no-store"}


class TraineeRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    id_masked: str
    sex: str
    birth_date: dt.date
    phone_masked: str | None
    household_division: str | None
    groups: list[str]
    created_at: dt.datetime

    @classmethod
    def of(cls, trainee: Trainee) -> TraineeRead:
        return cls(
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


class LookupRequest(msgspec.Struct, forbid_unknown_fields=True):
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class RevealRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=4, max_length=500, pattern=r"\S")]
    """Why the full number is needed; kept in the audit trail."""


class RevealRead(msgspec.Struct):
    trainee_id: uuid.UUID
    id_number: str


class TraineeController(Controller):
    path = "/trainees"
    tags = ["trainees"]

    @get("/{trainee_id:uuid}", summary="One person (ID number masked)")
    async def read(self, principal: Principal, trainee_id: uuid.UUID) -> TraineeRead:
        return TraineeRead.of(await service.get_trainee(principal, trainee_id))

    @post("/lookup", summary="Find a person by ID number (in the body)", status_code=200)
    async def lookup(
        self, request: Request[Any, Any, Any], principal: Principal, data: LookupRequest
    ) -> Response[TraineeRead]:
        vault: Vault = request.app.state.vault
        trainee = await service.find_by_id_number(principal, vault, data.id_number)
        return Response(TraineeRead.of(trainee), headers=NO_STORE)

    @post("/{trainee_id:uuid}/reveal", summary="Show the full ID number (auditor; audited)", status_code=200)
    async def reveal(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        trainee_id: uuid.UUID,
        data: RevealRequest,
    ) -> Response[RevealRead]:
        vault: Vault = request.app.state.vault
        number = await service.reveal_id_number(principal, vault, trainee_id, data.reason.strip())
        return Response(RevealRead(trainee_id=trainee_id, id_number=number), headers=NO_STORE)


HANDLERS = [TraineeController]
