"""What the bureau's dashboard shows of the claims: how many wait at each audit step and
for how much, and the institutions ranked by risk (flags per hundred trainees on their
claims' lines, by kind). In the caller's scope (a county auditor: its division)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from registry.core.errors import NotFound
from registry.core.principal import Principal
from registry.core.tenancy import bureau_scope, visible_claims_sql
from registry.enums import ClaimStatus
from registry.subsidy import queries

RISK_FLAGS = (
    "OVERLAP",
    "SHARED_PHONE",
    "ID_INVALID",
    "ATTENDANCE",
    "AGE_RANGE",
    "CERT_NOT_VALID",
    "OBJECTION",
    "CLAWED_BACK",
)
"""The flags that rank an institution's risk: the fraud patterns (重复参训, a shared phone, an
invalid ID number), attendance shortfalls, ages outside 16-59, certificates suspended or
revoked, objections during a notice and clawbacks. Administrative blocks (no certificate yet,
a withdrawn trainee, a claim filed late) are not risk and do not rank."""

WORKFLOW = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.COMPUTED,
    ClaimStatus.IN_REVIEW,
    ClaimStatus.DECIDED,
    ClaimStatus.NOTICED,
    ClaimStatus.PAYABLE,
    ClaimStatus.PAID,
    ClaimStatus.WITHDRAWN,
    ClaimStatus.FAILED,
)


@dataclass(frozen=True)
class StepCount:
    status: ClaimStatus
    claims: int
    lines: int
    total_fen: int
    payable_fen: int
    """Of clean and review lines (what could be paid if approved)."""


@dataclass(frozen=True)
class InstitutionRisk:
    institution_id: uuid.UUID
    name: str
    division_code: str
    trainees: int
    flags: int
    per_hundred: float
    """Risk flags (:data:`RISK_FLAGS`) per hundred trainees on the institution's claims."""
    by_code: dict[str, int] = field(default_factory=dict)
    claim_ids: list[uuid.UUID] = field(default_factory=list)
    """Its latest claims (up to 5), to open them."""


@dataclass(frozen=True)
class AuditOverview:
    steps: list[StepCount]
    risk: list[InstitutionRisk]


async def audit_overview(principal: Principal, *, limit: int = 20, risk: bool = True) -> AuditOverview:
    """The claims at each step and (``risk``) the institutions ranked by risk."""
    if bureau_scope(principal) is None:
        raise NotFound("nothing here")
    scope = visible_claims_sql(principal)
    counted = {row["status"]: row for row in await queries.claims_by_status(scope)}
    steps = [
        StepCount(
            status=status,
            claims=int(counted.get(status.value, {}).get("claims", 0)),
            lines=int(counted.get(status.value, {}).get("lines", 0)),
            total_fen=int(counted.get(status.value, {}).get("total_fen", 0)),
            payable_fen=int(counted.get(status.value, {}).get("payable_fen", 0)),
        )
        for status in WORKFLOW
    ]
    ranked = [
        InstitutionRisk(
            institution_id=row["institution_id"],
            name=row["name"],
            division_code=row["division_id"],
            trainees=int(row["trainees"]),
            flags=int(row["flags"]),
            per_hundred=float(row["per_hundred"]),
            by_code={str(k): int(v) for k, v in (row["by_code"] or {}).items()},
            claim_ids=list(row["claim_ids"] or []),
        )
        for row in (await queries.institution_risk(scope, RISK_FLAGS, limit) if risk else [])
    ]
    return AuditOverview(steps, ranked)
