"""Reading the audit trail: one set-based query, filtered and paged, in the caller's scope.

Who reads what (DESIGN.md sections 8 and 9):

- an administrator and a city auditor (no ``division_code``): every event;
- a county auditor (``division_code`` set): the events whose object is in its division, by
  ``entity_type``, the same scope as :mod:`registry.core.tenancy`:

  ============== ==========================================================================
  cohort         the cohort is held in the division (``cohort.division_id``)
  enrolment      the enrolment's cohort is held there
  import_batch   the roster import's cohort is held there
  certificate    the issuer is registered there, or the certificate's cohort is held there
  trainee        the person's household is there, or the person is enrolled in a cohort
                 held there
  subsidy_claim  the claim's cohort is held there (``subsidy_claim.division_id``)
  subsidy_grant  the grant's claim is the division's (a clawback of one of its lines)
  ============== ==========================================================================

  Events of any other entity type (users, API keys, institutions, reference data, keys, the
  bulk certificate imports) are the bureau's and are not listed to a county auditor;
- anyone else (an institution, an assessment body, their API keys): NotFound, so the API
  answers 404 as for anything the caller may not see.

The county scope is one CTE of ``(entity_type, entity_id)`` pairs, a UNION ALL of one join
per entity type, joined to ``audit_event`` on its ``(entity_type, entity_id)`` index: no
query per event and no per-row subplan. Each branch yields an object at most once, so the
join never repeats an event. Keep it in step with ``tenancy.py`` when that changes.

Events never hold ID numbers (the writers record ids, counts and statuses), so the rows
are returned as they are stored.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from tortoise import connections

from registry.core.clock import BUSINESS_TZ
from registry.core.errors import FieldError, NotFound, ValidationFailed
from registry.core.paging import Page, check_bounds
from registry.core.principal import Principal
from registry.core.tenancy import bureau_scope

# A county auditor's objects: $1 is the division code.
_COUNTY_SCOPE = """
scope (entity_type, entity_id) AS (
    SELECT 'cohort', c.id::text FROM cohort c WHERE c.division_id = $1
    UNION ALL
    SELECT 'enrolment', en.id::text
    FROM enrolment en JOIN cohort c ON c.id = en.cohort_id WHERE c.division_id = $1
    UNION ALL
    SELECT 'import_batch', b.id::text
    FROM import_batch b JOIN cohort c ON c.id = b.cohort_id WHERE c.division_id = $1
    UNION ALL
    SELECT 'certificate', ct.id::text
    FROM certificate ct
    JOIN institution i ON i.id = ct.issuer_id
    LEFT JOIN cohort c ON c.id = ct.cohort_id
    WHERE i.division_id = $1 OR c.division_id = $1
    UNION ALL
    SELECT 'subsidy_claim', s.id::text FROM subsidy_claim s WHERE s.division_id = $1
    UNION ALL
    SELECT 'subsidy_grant', g.id::text
    FROM subsidy_grant g JOIN subsidy_claim s ON s.id = g.claim_id WHERE s.division_id = $1
    UNION ALL
    SELECT 'trainee', t.id::text
    FROM trainee t
    WHERE EXISTS (
           SELECT 1 FROM enrolment en JOIN cohort c ON c.id = en.cohort_id
           WHERE en.trainee_id = t.id AND (c.division_id = $1 OR en.household_division_id = $1)
       )
)"""


@dataclass(frozen=True)
class AuditFilters:
    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    date_from: dt.date | None = None
    """First business day (Asia/Shanghai), inclusive."""
    date_to: dt.date | None = None
    """Last business day (Asia/Shanghai), inclusive."""


@dataclass(frozen=True)
class AuditEventRow:
    id: int
    """The event's place in the hash chain: ascending with time."""
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any


def business_day_bounds(
    date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``[start, end)`` of whole business days in Asia/Shanghai: from the first day's
    midnight there to the midnight after the last day."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=BUSINESS_TZ) if date_from else None
    end = (
        dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=BUSINESS_TZ)
        if date_to
        else None
    )
    return start, end


def _check(filters: AuditFilters) -> None:
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed(
            "the date range is empty",
            errors=[FieldError("from", "after_to", "from is after to")],
        )


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


async def list_events(
    principal: Principal, filters: AuditFilters, limit: int, offset: int
) -> Page[AuditEventRow]:
    """The audit events the caller may read, newest first (by chain position)."""
    scope = bureau_scope(principal)
    if scope is None:
        raise NotFound("nothing here")
    check_bounds(limit, offset)
    _check(filters)

    params: list[Any] = []
    with_clause = ""
    join = ""
    if scope.division_code:
        params.append(scope.division_code)
        with_clause = "WITH " + _COUNTY_SCOPE
        join = "JOIN scope s ON s.entity_type = e.entity_type AND s.entity_id = e.entity_id"

    where: list[str] = []

    def add(condition: str, value: Any) -> None:
        params.append(value)
        where.append(condition.format(f"${len(params)}"))

    for column in ("entity_type", "entity_id", "actor", "action"):
        value = getattr(filters, column)
        if value is not None:
            add(f"e.{column} = {{}}", value)
    start, end = business_day_bounds(filters.date_from, filters.date_to)
    if start is not None:
        add("e.at >= {}", start)
    if end is not None:
        add("e.at < {}", end)

    body = f"FROM audit_event e {join} " + (f"WHERE {' AND '.join(where)}" if where else "")
    conn = connections.get("default")
    _, counted = await conn.execute_query(f"{with_clause} SELECT count(*) AS n {body}", params)
    total = int(counted[0]["n"])
    _, rows = await conn.execute_query(
        f"{with_clause} SELECT e.id, e.at, e.actor, e.action, e.entity_type, e.entity_id, "
        f"e.before::text AS before, e.after::text AS after {body} "
        f"ORDER BY e.id DESC LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}",
        [*params, limit, offset],
    )
    items = [
        AuditEventRow(
            id=int(row["id"]),
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            before=_json(row["before"]),
            after=_json(row["after"]),
        )
        for row in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)
