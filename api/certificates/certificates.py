"""Certificates: issued by assessment bodies; suspended, revoked, reinstated with a reason.

A certificate is addressed in a URL by its number or by its id. One whose number is an ID
number (a 特种作业操作证) only by its id: a path that is shaped like an ID number is answered
404 without a lookup (and the problem's ``instance`` masks it); ``POST /certificates/lookup``
finds a certificate by a number given in the body."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from api.fields import SmallInt
from api.idempotency import idempotent
from api.pagination import Limit, Offset, Page
from registry.certificates import rules, service
from registry.core.principal import Principal
from registry.enums import CertificateKind, CertificateStatus
from registry.models.certificate import Certificate
from registry.people.rules.personal import mask_name

NUMBER_PATTERN = r"^[A-Za-z0-9-]+$"


class CertificateCreate(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=rules.NUMBER_MAX, pattern=NUMBER_PATTERN, description="证书编号"
        ),
    ]
    kind: CertificateKind
    issue_date: dt.date
    occupation_code: (
        Annotated[str, msgspec.Meta(max_length=16, description="职业编码, e.g. 6-31-01-03")] | None
    ) = None
    level: SmallInt | None = None
    trainee_id: uuid.UUID | None = None
    id_number: (
        Annotated[str, msgspec.Meta(max_length=40, description="居民身份号码 (never in a URL)")] | None
    ) = None
    name: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    cohort_id: uuid.UUID | None = None
    is_renewal: bool = False
    direct_recognition: bool = False


class NumberLookup(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=rules.NUMBER_MAX, description="证书编号")]


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=rules.REASON_MAX)]


class CertificateRead(msgspec.Struct):
    id: uuid.UUID
    number: str
    """Masked (410302********123X) when it is an ID number; address such a certificate by ``id``."""
    number_is_id_number: bool
    kind: CertificateKind
    occupation_code: str | None
    occupation_name: str | None
    level: int | None
    level_label: str
    is_renewal: bool
    direct_recognition: bool
    issuer_id: uuid.UUID
    issuer_name: str
    cohort_id: uuid.UUID | None
    trainee_id: uuid.UUID
    holder_name: str
    """Masked (张*)."""
    holder_id_masked: str
    issue_date: dt.date
    status: CertificateStatus
    status_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, cert: Certificate) -> CertificateRead:
        """``cert`` with trainee, occupation and issuer fetched."""
        occupation = cert.occupation
        return cls(
            id=cert.id,
            number=service.display_number(cert),
            number_is_id_number=cert.number is None,
            kind=CertificateKind(cert.kind),
            occupation_code=occupation.code if occupation else None,
            occupation_name=occupation.name if occupation else None,
            level=cert.level,
            level_label=rules.level_label(cert.level),
            is_renewal=cert.is_renewal,
            direct_recognition=cert.direct_recognition,
            issuer_id=cert.issuer.id,
            issuer_name=cert.issuer.name,
            cohort_id=cert.cohort_id,  # type: ignore[attr-defined]
            trainee_id=cert.trainee.id,
            holder_name=mask_name(cert.trainee.name),
            holder_id_masked=cert.trainee.id_masked,
            issue_date=cert.issue_date,
            status=CertificateStatus(cert.status),
            status_reason=cert.status_reason,
            created_at=cert.created_at,
            updated_at=cert.updated_at,
        )


class CertificateController(Controller):
    path = "/certificates"
    tags = ["certificates"]

    @post("/", summary="Issue a certificate (assessment body)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: CertificateCreate
    ) -> Response[CertificateRead]:
        async def run() -> tuple[int, CertificateRead]:
            cert = await service.issue_certificate(
                principal,
                request.app.state.vault,
                service.CertificateInput(
                    number=data.number,
                    kind=data.kind,
                    issue_date=data.issue_date,
                    occupation_code=data.occupation_code,
                    level=data.level,
                    trainee_id=data.trainee_id,
                    id_number=data.id_number,
                    name=data.name,
                    cohort_id=data.cohort_id,
                    is_renewal=data.is_renewal,
                    direct_recognition=data.direct_recognition,
                ),
            )
            return 201, CertificateRead.of(cert)

        return await idempotent(request, principal, run)

    @get("/", summary="Certificates the caller may see")
    async def list(
        self,
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
        status: CertificateStatus | None = None,
        kind: CertificateKind | None = None,
        occupation_code: Annotated[str | None, Parameter(max_length=16)] = None,
        issuer_id: uuid.UUID | None = None,
        cohort_id: uuid.UUID | None = None,
        trainee_id: uuid.UUID | None = None,
        issued_from: dt.date | None = None,
        issued_to: dt.date | None = None,
    ) -> Page[CertificateRead]:
        page = await service.list_certificates(
            principal,
            limit=limit,
            offset=offset,
            status=status,
            kind=kind,
            occupation_code=occupation_code,
            issuer_id=issuer_id,
            cohort_id=cohort_id,
            trainee_id=trainee_id,
            issued_from=issued_from,
            issued_to=issued_to,
        )
        return Page.of(page, CertificateRead.of)

    @post("/lookup", summary="Find a certificate by its number, given in the body", status_code=200)
    async def lookup(
        self, request: Request[Any, Any, Any], principal: Principal, data: NumberLookup
    ) -> Response[CertificateRead]:
        cert = await service.lookup_certificate(principal, request.app.state.vault, data.number)
        return Response(CertificateRead.of(cert), headers={"Cache-Control": "no-store"})

    @get("/{ref:str}", summary="One certificate in the caller's scope, by number or id")
    async def read(self, principal: Principal, ref: str) -> CertificateRead:
        return CertificateRead.of(await service.get_certificate(principal, ref))

    @post("/{ref:str}/suspend", summary="Suspend a valid certificate", status_code=200)
    async def suspend(self, principal: Principal, ref: str, data: StatusChange) -> CertificateRead:
        return CertificateRead.of(await service.change_status(principal, ref, rules.SUSPEND, data.reason))

    @post("/{ref:str}/revoke", summary="Revoke a certificate", status_code=200)
    async def revoke(self, principal: Principal, ref: str, data: StatusChange) -> CertificateRead:
        return CertificateRead.of(await service.change_status(principal, ref, rules.REVOKE, data.reason))

    @post("/{ref:str}/reinstate", summary="Reinstate a suspended certificate", status_code=200)
    async def reinstate(self, principal: Principal, ref: str, data: StatusChange) -> CertificateRead:
        return CertificateRead.of(await service.change_status(principal, ref, rules.REINSTATE, data.reason))
