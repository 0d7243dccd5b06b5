"""``POST /subsidy/evaluate``: the subsidy calculator (any signed-in user).

Plain facts in, lines with amounts, flags and trace out (docs/calculator.md). Nothing is read
from the database but the policies and the priority list; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import post

from registry.core.clock import business_today
from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.enums import (
    CertificateKind,
    CertificateStatus,
    CohortKind,
    StartupCourse,
    TrainingMode,
)
from registry.subsidy import rules, service

OccupationCode = Annotated[str, msgspec.Meta(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")]
Level = Annotated[int, msgspec.Meta(ge=1, le=5)]
MAX_HOURS = 10_000
MAX_HISTORY = 200


class CohortIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: CohortKind
    planned_hours: Annotated[int, msgspec.Meta(ge=1, le=MAX_HOURS)]
    start_date: dt.date
    end_date: dt.date
    occupation_code: OccupationCode | None = None
    certificate_kind: CertificateKind | None = None
    certificate_level: Level | None = None
    startup_course: StartupCourse | None = None
    training_mode: TrainingMode | None = None


class CertificateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: CertificateKind
    issue_date: dt.date
    level: Level | None = None
    occupation_code: OccupationCode | None = None
    startup_course: StartupCourse | None = None
    status: CertificateStatus = CertificateStatus.VALID
    is_renewal: bool = False
    direct_recognition: bool = False


class GrantIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An earlier training grant; ``kind`` is the kind of cohort it was for (``vocational`` or
    ``startup``), ``certificate_kind`` the kind of certificate it was granted for (may be left
    out when ``level`` is set: it is then ``skill_level``; null for startup), ``is_renewal`` a
    special-operation renewal. Level-less repeats are told apart by the certificate kind."""

    kind: CohortKind
    year: Annotated[int, msgspec.Meta(ge=1990, le=2200)]
    certificate_kind: CertificateKind | None = None
    occupation_code: OccupationCode | None = None
    level: Level | None = None
    startup_course: StartupCourse | None = None
    is_renewal: bool = False


class EvaluateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cohort: CohortIn
    birth_date: dt.date
    attended_hours: Decimal
    outcome: Literal["completed", "withdrawn", "failed"]
    certificate: CertificateIn | None = None
    history: Annotated[list[GrantIn], msgspec.Meta(max_length=MAX_HISTORY)] = []
    institution_approved: bool = True
    claim_date: dt.date | None = None
    policy_code: Annotated[str, msgspec.Meta(max_length=63)] | None = None


class FlagOut(msgspec.Struct):
    code: str
    severity: str
    message: str


class StepOut(msgspec.Struct):
    rule: str
    inputs: dict[str, Any]
    result: Any


class LineOut(msgspec.Struct):
    kind: str
    base_fen: int
    uplift_fen: int
    total_fen: int
    outcome: str
    flags: list[FlagOut]
    trace: list[StepOut]


class EvaluateResponse(msgspec.Struct):
    policy_code: str
    priority_trade: bool
    lines: list[LineOut]


def _hours(value: Decimal) -> Decimal:
    if not value.is_finite() or not Decimal(0) <= value <= MAX_HOURS:
        raise ValidationFailed(
            "attended hours are out of range",
            errors=[
                FieldError("attended_hours", "out_of_range", f"attended hours are between 0 and {MAX_HOURS}")
            ],
        )
    if value != value.quantize(Decimal("0.1")):
        raise ValidationFailed(
            "attended hours are too precise",
            errors=[FieldError("attended_hours", "too_precise", "record hours to one decimal place")],
        )
    return value


def facts_of(data: EvaluateRequest) -> rules.PersonFacts:
    """The request as the rule's plain facts (field for field, by msgspec's converter)."""
    fields = msgspec.structs.asdict(data)
    del fields["policy_code"]
    fields["attended_hours"] = _hours(data.attended_hours)
    fields["claim_date"] = data.claim_date or business_today()
    facts: rules.PersonFacts = msgspec.convert(fields, rules.PersonFacts, from_attributes=True)
    return facts


@post(
    "/subsidy/evaluate",
    status_code=200,
    summary="The subsidy calculator: a person's lines from plain facts",
    description="See docs/calculator.md. 422 `no_policy_in_force` when no policy covers the cohort's end date.",
    tags=["subsidy"],
)
async def evaluate(principal: Principal, data: EvaluateRequest) -> EvaluateResponse:
    del principal
    evaluation = await service.evaluate_facts(facts_of(data), data.policy_code)
    return msgspec.convert(msgspec.to_builtins(evaluation), EvaluateResponse)


HANDLERS = [evaluate]
