"""Cohorts, their workflow, and enrolments (DESIGN.md sections 6 and 8)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from msgspec import UNSET, UnsetType

from api.fields import DivisionCode, DivisionQuery, Int32, SmallInt
from api.idempotency import idempotent
from api.pagination import Limit, Offset, Page
from registry.core.crypto import Vault
from registry.core.principal import Principal
from registry.enums import (
    CertificateKind,
    CohortKind,
    CohortStatus,
    Delivery,
    EnrolmentOutcome,
    StartupCourse,
    TrainingMode,
)
from registry.training import enrolments as enrolment_service
from registry.training import service
from registry.training.rules import MAX_ENROLMENTS_PER_REQUEST

Reference = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="the institution's own reference")
]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Code = Annotated[str, msgspec.Meta(max_length=16)]


class CohortCreate(msgspec.Struct, forbid_unknown_fields=True):
    reference: Reference
    kind: CohortKind
    division_code: Annotated[DivisionCode, msgspec.Meta(description="where the cohort is held")]
    planned_hours: Int32
    start_date: dt.date
    end_date: dt.date
    capacity: Int32
    name: Name = ""
    occupation_code: Annotated[str, msgspec.Meta(max_length=16, description="X-XX-XX-XX (2022)")] | None = (
        None
    )
    certificate_kind: CertificateKind | None = None
    certificate_level: SmallInt | None = None
    startup_course: StartupCourse | None = None
    training_mode: TrainingMode = TrainingMode.GENERAL
    delivery: Delivery = Delivery.IN_PERSON
    institution_id: uuid.UUID | None = msgspec.field(default=None)
    """Only for an administrator acting for an institution."""

    def facts(self) -> service.CohortInput:
        fields = msgspec.structs.asdict(self)
        del fields["institution_id"]
        return service.CohortInput(**fields)


class CohortPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; null clears an optional field."""

    reference: Reference | UnsetType = UNSET
    kind: CohortKind | UnsetType = UNSET
    division_code: DivisionCode | UnsetType = UNSET
    planned_hours: Int32 | UnsetType = UNSET
    start_date: dt.date | UnsetType = UNSET
    end_date: dt.date | UnsetType = UNSET
    capacity: Int32 | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    occupation_code: Code | UnsetType | None = UNSET
    certificate_kind: CertificateKind | UnsetType | None = UNSET
    certificate_level: SmallInt | UnsetType | None = UNSET
    startup_course: StartupCourse | UnsetType | None = UNSET
    training_mode: TrainingMode | UnsetType = UNSET
    delivery: Delivery | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not UNSET}


class CohortCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CohortRead(msgspec.Struct):
    id: uuid.UUID
    institution_id: uuid.UUID
    reference: str
    name: str
    kind: CohortKind
    occupation_code: str | None
    certificate_kind: CertificateKind | None
    certificate_level: int | None
    startup_course: StartupCourse | None
    training_mode: TrainingMode
    delivery: Delivery
    division_code: str
    planned_hours: int
    start_date: dt.date
    end_date: dt.date
    capacity: int
    status: CohortStatus
    """Effective: an open cohort is ``running`` from its start date (Asia/Shanghai) on."""
    enrolled: int
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, view: service.CohortView) -> CohortRead:
        c = view.cohort
        return msgspec.convert(
            {
                **_shallow(service.facts_of(c)),
                "id": c.id,
                "institution_id": c.institution_id,  # type: ignore[attr-defined]
                "status": view.status,
                "enrolled": view.enrolled,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
                "closed_at": c.closed_at,
            },
            cls,
            from_attributes=True,
        )


_FACT_NAMES = tuple(f.name for f in dataclasses.fields(service.CohortInput))


def _shallow(facts: service.CohortInput) -> dict[str, Any]:
    """The facts as a dict; their values are plain (text, numbers, dates), so no deep copy
    (``dataclasses.asdict`` copies every value: most of a page's serialisation time)."""
    return {name: getattr(facts, name) for name in _FACT_NAMES}


class EnrolmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    id_number: Annotated[
        str, msgspec.Meta(max_length=64, description="sent in the body only, never in a URL")
    ]
    name: Annotated[str, msgspec.Meta(max_length=50, description="as on the identity card")]
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    household_division: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=50,
                description="name or code as written on the household register (涧西区, 410305, 偃师市)",
            ),
        ]
        | None
    ) = None
    groups: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=8)] = (
        msgspec.field(default_factory=list)
    )

    def request(self) -> enrolment_service.EnrolmentRequest:
        return enrolment_service.EnrolmentRequest(
            id_number=self.id_number,
            name=self.name,
            phone=self.phone,
            household_division=self.household_division,
            groups=tuple(self.groups),
        )


EnrolmentList = Annotated[
    list[EnrolmentCreate], msgspec.Meta(min_length=1, max_length=MAX_ENROLMENTS_PER_REQUEST)
]


class EnrolmentRead(msgspec.Struct, omit_defaults=True):
    id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    name: str
    id_masked: str
    phone_masked: str | None
    household_division: str | None
    """Today's code of the household division given at enrolment."""
    household_as_written: str | None
    """The household division as it was written (偃师市, 410381)."""
    attended_hours: float
    outcome: EnrolmentOutcome
    groups: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    registered_name: str | None = None
    """Auditors and admins only: the person's registered name."""
    review_flags: list[str] | None = None
    """Auditors and admins only: ``name_differs`` when the name given is not the registered one."""

    @classmethod
    def of(cls, view: enrolment_service.EnrolmentView) -> EnrolmentRead:
        return msgspec.convert(view, cls, from_attributes=True, strict=False)


EnrolmentAnswer = EnrolmentRead | list[EnrolmentRead]
"""One enrolment for one sent, a list for a list."""


class EnrolmentPatch(msgspec.Struct, forbid_unknown_fields=True):
    attended_hours: Decimal | UnsetType = UNSET
    outcome: EnrolmentOutcome | UnsetType = UNSET


class CohortController(Controller):
    path = "/cohorts"
    tags = ["cohorts"]

    @post(
        "/",
        summary="Register a cohort (201), or find it again by its reference (200)",
        status_code=201,
        responses={200: ResponseSpec(CohortRead, description="A cohort with this reference exists: it")},
    )
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, data: CohortCreate
    ) -> Response[CohortRead]:
        async def run() -> tuple[int, CohortRead]:
            view, created = await service.create_cohort(
                principal, data.facts(), institution_id=data.institution_id
            )
            return (201 if created else 200), CohortRead.of(view)

        return await idempotent(request, principal, run)

    @get("/", summary="Cohorts the caller may see")
    async def list(
        self,
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
        status: CohortStatus | None = None,
        kind: CohortKind | None = None,
        year: Annotated[int | None, Parameter(ge=2000, le=2100)] = None,
        division: DivisionQuery = None,
    ) -> Page[CohortRead]:
        page = await service.list_cohorts(
            principal, limit=limit, offset=offset, status=status, kind=kind, year=year, division_code=division
        )
        return Page.of(page, CohortRead.of)

    @get("/{cohort_id:uuid}", summary="One cohort")
    async def read(self, principal: Principal, cohort_id: uuid.UUID) -> CohortRead:
        return msgspec.convert(await service.get_cohort(principal, cohort_id), CohortRead)

    @patch("/{cohort_id:uuid}", summary="Change a draft or open cohort")
    async def update(self, principal: Principal, cohort_id: uuid.UUID, data: CohortPatch) -> CohortRead:
        return CohortRead.of(await service.update_cohort(principal, cohort_id, data.changes()))

    @post("/{cohort_id:uuid}/open", summary="Open a draft cohort for enrolment", status_code=200)
    async def open(self, principal: Principal, cohort_id: uuid.UUID) -> CohortRead:
        return CohortRead.of(await service.open_cohort(principal, cohort_id))

    @post(
        "/{cohort_id:uuid}/close",
        summary="Close a running cohort once every outcome is recorded",
        status_code=200,
    )
    async def close(self, principal: Principal, cohort_id: uuid.UUID) -> CohortRead:
        return CohortRead.of(await service.close_cohort(principal, cohort_id))

    @post("/{cohort_id:uuid}/cancel", summary="Cancel a cohort that is not closed", status_code=200)
    async def cancel(
        self, principal: Principal, cohort_id: uuid.UUID, data: CohortCancel | None = None
    ) -> CohortRead:
        reason = data.reason if data is not None else ""
        return CohortRead.of(await service.cancel_cohort(principal, cohort_id, reason))

    @post(
        "/{cohort_id:uuid}/enrolments", summary="Enrol one person or a list (all or nothing)", status_code=201
    )
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        cohort_id: uuid.UUID,
        data: EnrolmentCreate | EnrolmentList,
    ) -> Response[EnrolmentAnswer]:
        vault: Vault = request.app.state.vault

        async def run() -> tuple[int, EnrolmentRead | list[EnrolmentRead]]:
            as_list = isinstance(data, list)
            items = data if isinstance(data, list) else [data]
            views = await enrolment_service.enrol(
                principal, vault, cohort_id, [item.request() for item in items], as_list=as_list
            )
            reads = [EnrolmentRead.of(v) for v in views]
            return 201, (reads if as_list else reads[0])

        return await idempotent(request, principal, run)

    @get("/{cohort_id:uuid}/enrolments", summary="A cohort's enrolments (ID numbers masked)")
    async def enrolments(
        self,
        principal: Principal,
        cohort_id: uuid.UUID,
        limit: Limit = 50,
        offset: Offset = 0,
        outcome: EnrolmentOutcome | None = None,
    ) -> Page[EnrolmentRead]:
        page = await enrolment_service.list_enrolments(
            principal, cohort_id, limit=limit, offset=offset, outcome=outcome
        )
        return Page.of(page, EnrolmentRead.of)


class EnrolmentController(Controller):
    path = "/enrolments"
    tags = ["cohorts"]

    @patch("/{enrolment_id:uuid}", summary="Record attendance and outcome")
    async def update(
        self, principal: Principal, enrolment_id: uuid.UUID, data: EnrolmentPatch
    ) -> EnrolmentRead:
        changes = enrolment_service.EnrolmentChanges(
            attended_hours=None if data.attended_hours is UNSET else data.attended_hours,
            outcome=None if data.outcome is UNSET else data.outcome,
        )
        return EnrolmentRead.of(await enrolment_service.update_enrolment(principal, enrolment_id, changes))


HANDLERS = [CohortController, EnrolmentController]
