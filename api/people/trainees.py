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
from registry.people import service

NO_STORE = {"Cache-Control": "no-store"}


class TraineeRead(msgspec.Struct, omit_defaults=True):
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
    """Auditors and admins only: ``name_differs`` when an enrolment gave another name."""

    @classmethod
    def of(cls, view: service.TraineeView) -> TraineeRead:
        return cls(
            id=view.id,
            name=view.name,
            id_masked=view.id_masked,
            sex=view.sex,
            birth_date=view.birth_date,
            phone_masked=view.phone_masked,
            household_division=view.household_division,
            groups=view.groups,
            created_at=view.created_at,
            review_flags=view.review_flags,
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
