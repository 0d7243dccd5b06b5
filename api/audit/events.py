"""The audit trail for auditors and administrators (DESIGN.md section 8, docs/auditors.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import Parameter, QueryParameter

from api.fields import query_day
from api.pagination import Limit, Offset, Page
from registry.audit import queries
from registry.core.principal import Principal

DAY = "a business day (Asia/Shanghai), YYYY-MM-DD, 1900-01-01..2100-12-31"


class AuditEventRead(msgspec.Struct):
    id: int
    """The event's place in the hash chain (ascending with time); the list is newest first."""
    at: dt.datetime
    actor: str
    """user:<uuid>, apikey:<uuid> or system:<name>"""
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any

    @classmethod
    def of(cls, row: queries.AuditEventRow) -> AuditEventRead:
        read: AuditEventRead = msgspec.convert(row, cls, from_attributes=True)
        return read


class AuditEventController(Controller):
    path = "/audit-events"
    tags = ["audit"]

    @get(
        "/",
        summary="The audit trail, newest first (auditor in scope, admin)",
        description=(
            "A county auditor sees the events of its division's cohorts, their enrolments and "
            "imports, and the certificates and people it may see; others answer 404. from/to are "
            "business days in Asia/Shanghai, both inclusive."
        ),
    )
    async def list(
        self,
        principal: Principal,
        limit: Limit = 50,
        offset: Offset = 0,
        entity_type: Annotated[str | None, Parameter(max_length=64)] = None,
        entity_id: Annotated[str | None, Parameter(max_length=64)] = None,
        actor: Annotated[str | None, Parameter(max_length=100, description="e.g. user:<uuid>")] = None,
        action: Annotated[str | None, Parameter(max_length=64, description="e.g. cohort.cancel")] = None,
        date_from: Annotated[str | None, QueryParameter(name="from", format="date", description=DAY)] = None,
        date_to: Annotated[str | None, QueryParameter(name="to", format="date", description=DAY)] = None,
    ) -> Page[AuditEventRead]:
        filters = queries.AuditFilters(
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            action=action,
            date_from=query_day("from", date_from),
            date_to=query_day("to", date_to),
        )
        page = await queries.list_events(principal, filters, limit, offset)
        return Page.of(page, AuditEventRead.of)
