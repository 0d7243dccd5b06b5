"""Enrolments: people in a cohort, their attendance and outcome.

Enrolling is all or nothing: every item is validated first (every problem reported, as
``items[i].field``), then, under a lock on the cohort, the names are compared with the
people already registered, duplicates in the cohort and the capacity are checked, the
people are upserted and the enrolments inserted, set-based, in one transaction.

The roster import (and anything else that enrols) uses the same building blocks:
:func:`cohort_for_enrolment` (lock + state check) and :func:`check_capacity`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise import connections

from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from registry.core.paging import Page, check_bounds
from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts, visible_enrolments
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import CohortStatus, EnrolmentOutcome
from registry.models.training import Cohort, Enrolment
from registry.people.service import Person, id_index, known_names, upsert_people
from registry.reference.queries import division_lookup
from registry.training import rules
from registry.training.rules import Action, EnrolmentItem, EnrolmentRequest
from registry.training.service import check_capacity, cohort_for_enrolment, lock_cohort

__all__ = [
    "EnrolmentRequest",
    "EnrolmentView",
    "already_enrolled",
    "check_capacity",
    "cohort_for_enrolment",
    "enrol",
    "list_enrolments",
    "update_enrolment",
]


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment with the person's display values (masked, never the full numbers)."""

    id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    name: str
    id_masked: str
    phone_masked: str | None
    household_division: str | None
    attended_hours: Decimal
    outcome: str
    groups: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


_VIEW_SQL = (
    "SELECT e.id, e.cohort_id, e.trainee_id, t.name, t.id_masked, t.phone_masked, "
    "t.household_division_id, e.attended_hours, e.outcome, e.groups::text AS groups, "
    "e.created_at, e.updated_at "
    "FROM enrolment e JOIN trainee t ON t.id = e.trainee_id "
)


def _view(row: dict[str, Any]) -> EnrolmentView:
    groups = row["groups"]
    return EnrolmentView(
        id=row["id"],
        cohort_id=row["cohort_id"],
        trainee_id=row["trainee_id"],
        name=row["name"],
        id_masked=row["id_masked"],
        phone_masked=row["phone_masked"],
        household_division=row["household_division_id"],
        attended_hours=Decimal(row["attended_hours"]),
        outcome=row["outcome"],
        groups=list(json.loads(groups) if isinstance(groups, str) else groups),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def already_enrolled(
    uow: UnitOfWork, cohort_id: uuid.UUID, trainee_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these people are already enrolled in the cohort."""
    if not trainee_ids:
        return set()
    _, rows = await uow.conn.execute_query(
        "SELECT trainee_id FROM enrolment WHERE cohort_id = $1 AND trainee_id = ANY($2::uuid[])",
        [cohort_id, list(trainee_ids)],
    )
    return {r["trainee_id"] for r in rows}


async def enrol(
    principal: Principal,
    vault: Vault,
    cohort_id: uuid.UUID,
    requests: Sequence[EnrolmentRequest],
    *,
    as_list: bool,
) -> list[EnrolmentView]:
    """Enrol one person (``as_list=False``, errors name plain fields) or a list (errors name
    ``items[i].field``): all or nothing.

    ValidationFailed (422) lists every bad item, including ``name_mismatch`` when the name
    differs from the one registered for that ID number; Conflict ``already_enrolled``
    names the items already in the cohort; Conflict ``capacity_exceeded``."""
    if not requests:
        raise ValidationFailed(
            "nobody to enrol", errors=[FieldError("items", "required", "send at least one")]
        )
    if len(requests) > rules.MAX_ENROLMENTS_PER_REQUEST:
        raise ValidationFailed(
            "too many people in one request",
            errors=[
                FieldError("items", "too_many", f"at most {rules.MAX_ENROLMENTS_PER_REQUEST} per request")
            ],
        )
    items, errors = rules.parse_enrolments(
        requests, divisions=set((await division_lookup()).values()), today=business_today(), as_list=as_list
    )
    async with unit_of_work(principal) as uow:
        # Scope and state first: a caller learns nothing about a cohort it cannot see.
        cohort = await cohort_for_enrolment(uow, principal, cohort_id)
        if errors:
            raise ValidationFailed("some enrolments are not valid; nothing was enrolled", errors=errors)
        where = [index if as_list else None for index in range(len(items))]
        indexes = [id_index(vault, item.id.number) for item in items]
        known = await known_names(uow.conn, indexes)
        mismatched = [
            FieldError(
                rules.item_field(where[i], "name"),
                "name_mismatch",
                "the name differs from the name registered for this ID number",
            )
            for i, (item, index) in enumerate(zip(items, indexes, strict=True))
            if index in known and known[index][1] != item.name
        ]
        if mismatched:
            raise ValidationFailed("some enrolments are not valid; nothing was enrolled", errors=mismatched)
        present = await already_enrolled(uow, cohort.id, [known[i][0] for i in indexes if i in known])
        duplicates = [
            FieldError(
                rules.item_field(where[i], "id_number"), "already_enrolled", "already enrolled in this cohort"
            )
            for i, index in enumerate(indexes)
            if index in known and known[index][0] in present
        ]
        if duplicates:
            raise Conflict(
                "some people are already enrolled in this cohort; nothing was enrolled",
                code="already_enrolled",
                errors=duplicates,
            )
        await check_capacity(uow.conn, cohort, len(items))
        views = await _insert(uow, vault, cohort, items, indexes)
        await uow.audit(
            "enrolment.create",
            "cohort",
            cohort.id,
            after={
                "enrolments": [{"id": str(v.id), "trainee": str(v.trainee_id)} for v in views],
                "count": len(views),
            },
        )
    return views


async def _insert(
    uow: UnitOfWork, vault: Vault, cohort: Cohort, items: list[EnrolmentItem], indexes: list[str]
) -> list[EnrolmentView]:
    people = [Person(item.id, item.name, item.phone, item.household_division, item.groups) for item in items]
    trainee_ids = await upsert_people(uow.conn, vault, people)
    ordered = [trainee_ids[index] for index in indexes]
    ids = [uuid.uuid4() for _ in items]
    now = dt.datetime.now(dt.UTC)
    # The groups recorded are the person's groups as they stand after this request.
    await uow.conn.execute_query(
        "INSERT INTO enrolment (id, cohort_id, trainee_id, attended_hours, outcome, groups, "
        "created_at, updated_at) "
        "SELECT e.id, $2, e.trainee_id, 0, 'in_progress', t.groups, $3, $3 "
        "FROM unnest($1::uuid[], $4::uuid[]) AS e(id, trainee_id) JOIN trainee t ON t.id = e.trainee_id",
        [ids, cohort.id, now, ordered],
    )
    rows = await uow.conn.execute_query_dict(_VIEW_SQL + "WHERE e.id = ANY($1::uuid[])", [ids])
    by_id = {row["id"]: _view(row) for row in rows}
    return [by_id[i] for i in ids]


async def list_enrolments(
    principal: Principal, cohort_id: uuid.UUID, *, limit: int, offset: int, outcome: str | None = None
) -> Page[EnrolmentView]:
    check_bounds(limit, offset)
    if outcome is not None and outcome not in set(EnrolmentOutcome):
        raise ValidationFailed("the filters are not valid", errors=rules.outcome_errors(outcome))
    if not await visible_cohorts(principal).filter(id=cohort_id).exists():
        raise NotFound("no such cohort")
    where, args = "WHERE e.cohort_id = $1", [str(cohort_id)]
    if outcome is not None:
        where += " AND e.outcome = $2"
        args.append(outcome)
    total = await Enrolment.filter(
        cohort_id=cohort_id, **({"outcome": EnrolmentOutcome(outcome)} if outcome else {})
    ).count()
    rows = await connections.get("default").execute_query_dict(
        _VIEW_SQL + where + f" ORDER BY e.created_at, e.id LIMIT {int(limit)} OFFSET {int(offset)}", args
    )
    return Page(items=[_view(r) for r in rows], total=total, limit=limit, offset=offset)


@dataclass(frozen=True)
class EnrolmentChanges:
    attended_hours: Decimal | None = None
    outcome: str | None = None


async def update_enrolment(
    principal: Principal, enrolment_id: uuid.UUID, changes: EnrolmentChanges
) -> EnrolmentView:
    """Record attendance and/or the outcome. Frozen once the cohort is closed or cancelled;
    before the start date only a withdrawal is recorded (``cohort_not_started``)."""
    errors: list[FieldError] = []
    if changes.outcome is not None:
        errors += rules.outcome_errors(changes.outcome)
    if changes.attended_hours is not None and not changes.attended_hours.is_finite():
        errors.append(FieldError("attended_hours", "invalid", "attended hours are a number"))
    if errors:
        raise ValidationFailed("the enrolment change is not valid", errors=errors)
    async with unit_of_work(principal) as uow:
        found = (
            await visible_enrolments(principal)
            .using_db(uow.conn)
            .filter(id=enrolment_id)
            .values_list("cohort_id", flat=True)
        )
        if not found:
            raise NotFound("no such enrolment")
        cohort = await lock_cohort(uow, principal, found[0], Action.RECORD)  # type: ignore[arg-type]
        enrolment = (
            await Enrolment.filter(id=enrolment_id).using_db(uow.conn).select_for_update(no_key=True).get()
        )
        hours = (
            changes.attended_hours
            if changes.attended_hours is not None
            else Decimal(enrolment.attended_hours)
        )
        outcome = (
            changes.outcome if changes.outcome is not None else EnrolmentOutcome(enrolment.outcome).value
        )
        if changes.attended_hours is not None:
            errors += rules.attendance_errors(hours, cohort.planned_hours)
        if errors:
            raise ValidationFailed("the enrolment change is not valid", errors=errors)
        refusal = rules.record_refusal(CohortStatus(cohort.status), attended_hours=hours, outcome=outcome)
        if refusal is not None:
            raise Conflict(refusal.message, code=refusal.code)
        before = {
            "attended_hours": f"{Decimal(enrolment.attended_hours):.1f}",
            "outcome": EnrolmentOutcome(enrolment.outcome).value,
        }
        after = {"attended_hours": f"{hours:.1f}", "outcome": outcome}
        if before != after:
            enrolment.attended_hours = hours
            enrolment.outcome = EnrolmentOutcome(outcome)
            await enrolment.save(using_db=uow.conn, update_fields=["attended_hours", "outcome", "updated_at"])
            await uow.audit("enrolment.update", "enrolment", enrolment.id, before=before, after=after)
        rows = await uow.conn.execute_query_dict(_VIEW_SQL + "WHERE e.id = $1", [enrolment.id])
    return _view(rows[0])
