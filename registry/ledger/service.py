"""Use cases of the grant ledger. Grants themselves are written by the claims' payable
transition (in its own unit of work, through :func:`registry.ledger.queries.insert_grants`);
here: a clawback by the bureau."""

from __future__ import annotations

import uuid

from registry.core.errors import PermissionDenied
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.ledger import queries


async def claw_back(principal: Principal, grant_id: uuid.UUID, reason: str) -> uuid.UUID:
    """Reverse one grant (a revoked certificate, a fraud found after payment): the reversing
    row and its audit event, in one transaction. The city's bureau only (an admin, or an
    auditor without a division scope). Returns the reversing row's id."""
    if not (principal.is_admin or (principal.is_auditor and principal.division_code is None)):
        raise PermissionDenied("only the city bureau claws a grant back")
    async with unit_of_work(principal) as uow:
        reversal_id = await queries.reverse_grant(uow.conn, grant_id, reason, principal.actor)
        await uow.audit(
            "ledger.reverse",
            "subsidy_grant",
            grant_id,
            after={"reversal_id": str(reversal_id), "reason": reason.strip()},
        )
    return reversal_id
