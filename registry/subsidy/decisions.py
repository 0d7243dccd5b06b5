"""The audit of a computed claim: an auditor of the claim's scope decides each line.

DESIGN.md section 6: approve or reject each line, with a reason for every rejection and for
every approval of a flagged (``review``) line; a ``blocked`` line is never payable, so it
cannot be approved (409); one call approves every ``clean`` line. The claim's status
follows from its lines (:func:`registry.subsidy.rules.status_of`): the first decision makes
it ``in_review``, every line decided ``decided``; a decision may change until its line is on
a running notice or granted (409 ``line_not_decidable``); a line sent back to review (an
objection, a certificate changed, a conflict at the notice's end) is decided again. Every call is one unit of work
with one audit event listing what it decided.

Who: an auditor whose scope holds the claim (the city, or the county the cohort was held
in). The claim's own institution, or an assessment body, is answered 404 (the decision
endpoint does not exist for them); an administrator 403 (the bureau's auditors decide).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal
from registry.core.tenancy import visible_claims_sql
from registry.core.text import visible_text
from registry.core.uow import unit_of_work
from registry.enums import ClaimStatus, Role
from registry.subsidy import queries
from registry.subsidy.claims import ClaimView, get_claim, settle_status
from registry.subsidy.rules import TRANSITIONS, ClaimEvent, Decision, DecisionRequest, decision_errors


@dataclass(frozen=True)
class DecisionBatch:
    lines: Sequence[DecisionRequest] = ()
    approve_clean: bool = False
    """Approve every clean line not yet decided (no reason needed)."""
    clean_reason: str = ""


def _auditor_only(principal: Principal) -> None:
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR):
        raise NotFound("no such claim")
    if principal.role is not Role.AUDITOR:
        raise PermissionDenied("the bureau's auditors decide claims")


async def decide(principal: Principal, claim_id: uuid.UUID, batch: DecisionBatch) -> ClaimView:
    """Record decisions on a claim's lines (see the module's documentation)."""
    _auditor_only(principal)
    scope = visible_claims_sql(principal)
    async with unit_of_work(principal) as uow:
        if await queries.claim_row(scope, claim_id) is None:
            raise NotFound("no such claim")
        claim = await queries.lock_claim(uow.conn, claim_id)
        assert claim is not None
        status = ClaimStatus(claim["status"])
        if status not in TRANSITIONS[ClaimEvent.DECIDE]:
            raise Conflict(
                f"the claim is {status.value}: lines are decided on a computed claim",
                code="claim_not_decidable",
            )
        lines = await queries.line_outcomes(uow.conn, claim_id)
        requests = list(batch.lines)
        if batch.approve_clean:
            asked = {r.line_id for r in requests}
            requests += [
                DecisionRequest(line_id, Decision.APPROVED, batch.clean_reason)
                for line_id, (outcome, decision, _settled) in lines.items()
                if outcome == "clean" and decision is None and line_id not in asked
            ]
        if not requests:
            raise ValidationFailed(
                "nothing to decide: give lines, or approve_clean",
                errors=[FieldError("lines", "required", "give at least one line decision, or approve_clean")],
            )
        settled = [
            f"lines[{i}].line_id"
            for i, r in enumerate(requests)
            if r.line_id in lines and lines[r.line_id][2]
        ]
        if settled:
            raise Conflict(
                "a line on a running notice or granted is not decided again (an objection sends it back)",
                code="line_not_decidable",
                errors=[
                    FieldError(f, "line_not_decidable", "on a running notice or granted") for f in settled
                ],
            )
        errors, blocked = decision_errors(requests, {k: v[0] for k, v in lines.items()})
        if errors:
            raise ValidationFailed("some decisions are not valid; nothing was decided", errors=errors)
        if blocked:
            raise Conflict(
                f"{len(blocked)} blocked line(s) cannot be approved: a blocked line is never payable "
                f"({', '.join(blocked[:5])})",
                code="line_blocked",
                errors=[
                    FieldError(field, "line_blocked", "a blocked line cannot be approved")
                    for field in blocked
                ],
            )
        now = dt.datetime.now(dt.UTC)
        await queries.store_decisions(uow.conn, claim_id, requests, principal.actor, now)
        new_status = await settle_status(uow.conn, claim_id, status, ClaimEvent.DECIDE)
        await uow.audit(
            "subsidy_claim.decide",
            "subsidy_claim",
            claim_id,
            before={"status": status.value},
            after={
                "status": new_status.value,
                "decisions": [
                    {
                        "line_id": str(r.line_id),
                        "decision": r.decision.value,
                        "reason": visible_text(r.reason),
                    }
                    for r in requests
                ],
            },
        )
    return await get_claim(principal, claim_id)
