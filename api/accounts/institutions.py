"""Training institutions and assessment bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post

from api.fields import DivisionCode, DivisionQuery, SmallInt
from api.idempotency import idempotent
from api.pagination import Limit, Offset, Page
from registry.accounts import institutions as service
from registry.core.principal import Principal
from registry.enums import InstitutionKind, InstitutionStatus
from registry.models.institution import Institution


class InstitutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    uscc: Annotated[str, msgspec.Meta(min_length=1, max_length=32, description="统一社会信用代码")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    division_code: DivisionCode
    kinds: Annotated[list[InstitutionKind], msgspec.Meta(min_length=1, max_length=2)]
    approved_years: Annotated[list[SmallInt], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    status: InstitutionStatus = InstitutionStatus.ACTIVE


class InstitutionRead(msgspec.Struct):
    id: uuid.UUID
    uscc: str
    name: str
    division_code: str
    kinds: list[InstitutionKind]
    approved_years: list[int]
    status: InstitutionStatus
    created_at: dt.datetime

    @classmethod
    def of(cls, inst: Institution) -> InstitutionRead:
        read: InstitutionRead = msgspec.convert(
            {**inst.__dict__, "division_code": inst.division_id},  # type: ignore[attr-defined]
            cls,
            strict=False,
        )
        return read


class InstitutionController(Controller):
    path = "/institutions"
    tags = ["institutions"]

    @post("/", summary="Register an institution (admin)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: InstitutionCreate
    ) -> Response[InstitutionRead]:
        async def run() -> tuple[int, InstitutionRead]:
            inst = await service.create_institution(
                principal,
                service.InstitutionInput(**msgspec.structs.asdict(data)),
            )
            return 201, InstitutionRead.of(inst)

        return await idempotent(request, principal, run)

    @get("/", summary="Institutions the caller may see")
    async def list(
        self,
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
        kind: InstitutionKind | None = None,
        division_code: DivisionQuery = None,
    ) -> Page[InstitutionRead]:
        page = await service.list_institutions(
            principal, limit=limit, offset=offset, kind=kind, division_code=division_code
        )
        return Page.of(page, InstitutionRead.of)

    @get("/{institution_id:uuid}", summary="One institution")
    async def read(self, principal: Principal, institution_id: uuid.UUID) -> InstitutionRead:
        return InstitutionRead.of(await service.get_institution(principal, institution_id))
