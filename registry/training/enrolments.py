"""Enrolments: people in a cohort, their attendance and outcome.

Enrolling is all or nothing: every item is validated first (every problem reported, as
``items[i].field``), then, under a lock on the cohort, duplicates in the cohort and the
capacity are checked, the names are compared with the people already registered (a
caller is told only about people it has enrolled before), new people are registered and
the enrolments inserted with what the caller said (name as given, phone, household,
groups), set-based, in one transaction.

The roster import (and anything else that enrols) uses the same building blocks:
:func:`cohort_for_enrolment` (lock + state check) and :func:`check_capacity`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from registry.core.paging import Page, check_bounds
from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts, visible_enrolments
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import CohortStatus, EnrolmentOutcome, Role
from registry.models.training import Cohort, Enrolment
from registry.people.queries import Person, id_index, known_names, phone_values, upsert_people
from registry.reference.queries import division_lookup
from registry.training import queries, rules
from registry.training.queries import EnrolmentView, NewEnrolment
from registry.training.rules import NAME_DIFFERS, Action, EnrolmentItem, EnrolmentRequest
from registry.training.service import check_capacity, cohort_for_enrolment, lock_cohort

__all__ = [
    "EnrolmentRequest",
    "EnrolmentView",
    "check_capacity",
    "cohort_for_enrolment",
    "enrol",
    "list_enrolments",
    "update_enrolment",
]


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

    ValidationFailed (422) lists every bad item; Conflict ``already_enrolled`` names the
    items already in the cohort; Conflict ``capacity_exceeded``; then ValidationFailed
    ``name_mismatch`` when the name differs from the one registered for that ID number and
    the cohort's institution has enrolled that person before. For a person it never
    enrolled the answer does not depend on the registered name: the enrolment keeps the
    name as given and is flagged ``name_differs`` for the auditors."""
    _check_count(requests)
    items, errors = rules.parse_enrolments(
        requests, divisions=await division_lookup(), today=business_today(), as_list=as_list
    )
    async with unit_of_work(principal) as uow:
        # Scope and state first: a caller learns nothing about a cohort it cannot see.
        cohort = await cohort_for_enrolment(uow, principal, cohort_id)
        if errors:
            raise ValidationFailed("some enrolments are not valid; nothing was enrolled", errors=errors)
        where = [index if as_list else None for index in range(len(items))]
        indexes = [id_index(vault, item.id.number) for item in items]
        known = await known_names(uow.conn, indexes)
        await _refuse_duplicates(uow, cohort, indexes, known, where)
        # The capacity before the names: its answer never depends on who the people are.
        await check_capacity(uow.conn, cohort, len(items))
        flagged = await _names_that_differ(uow, cohort, items, indexes, known, where)
        views = await _insert(uow, vault, cohort, items, indexes, flagged)
        await uow.audit(
            "enrolment.create",
            "cohort",
            cohort.id,
            after={
                "enrolments": [{"id": str(v.id), "trainee": str(v.trainee_id)} for v in views],
                "count": len(views),
            },
        )
    return [shown_to(principal, view) for view in views]


def _check_count(requests: Sequence[EnrolmentRequest]) -> None:
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


async def _refuse_duplicates(
    uow: UnitOfWork,
    cohort: Cohort,
    indexes: list[str],
    known: dict[str, tuple[uuid.UUID, str]],
    where: list[int | None],
) -> None:
    """Conflict ``already_enrolled`` naming the items already in the cohort."""
    present = await queries.already_enrolled(
        uow.conn, cohort.id, [known[i][0] for i in indexes if i in known]
    )
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


async def _names_that_differ(
    uow: UnitOfWork,
    cohort: Cohort,
    items: list[EnrolmentItem],
    indexes: list[str],
    known: dict[str, tuple[uuid.UUID, str]],
    where: list[int | None],
) -> set[int]:
    """The items whose name differs from the registered one, to flag for the auditors.

    Only a caller that has enrolled the person is told the name differs (ValidationFailed
    ``name_mismatch``); for anyone else the answer is the one a right name or an unknown
    number gets, and the enrolment keeps the name as given."""
    differing = [
        i
        for i, (item, index) in enumerate(zip(items, indexes, strict=True))
        if index in known and known[index][1] != item.name
    ]
    ours = await queries.enrolled_by_institution(
        uow.conn,
        cohort.institution_id,  # type: ignore[attr-defined]
        [known[indexes[i]][0] for i in differing],
    )
    mismatched = [
        FieldError(
            rules.item_field(where[i], "name"),
            "name_mismatch",
            "the name differs from the name registered for this ID number",
        )
        for i in differing
        if known[indexes[i]][0] in ours
    ]
    if mismatched:
        raise ValidationFailed("some enrolments are not valid; nothing was enrolled", errors=mismatched)
    return set(differing)


async def _insert(
    uow: UnitOfWork,
    vault: Vault,
    cohort: Cohort,
    items: list[EnrolmentItem],
    indexes: list[str],
    flagged: set[int],
) -> list[EnrolmentView]:
    people = [Person(item.id, item.name, item.phone, item.household_division, item.groups) for item in items]
    trainee_ids = await upsert_people(uow.conn, vault, people)
    ordered = [trainee_ids[index] for index in indexes]
    await queries.insert_enrolments(
        uow.conn,
        cohort.id,
        [
            NewEnrolment(
                trainee_id=t,
                groups=item.groups,
                household_division=item.household_division,
                household_as_written=item.household_as_written,
                name_as_given=item.name,
                phone=phone_values(vault, item.phone),
                review_flags=(NAME_DIFFERS,) if i in flagged else (),
            )
            for i, (t, item) in enumerate(zip(ordered, items, strict=True))
        ],
    )
    views = await queries.enrolment_views(uow.conn, cohort.id, ordered)
    by_trainee = {view.trainee_id: view for view in views}
    return [by_trainee[t] for t in ordered]


def shown_to(principal: Principal, view: EnrolmentView) -> EnrolmentView:
    """The registered name and the review flags are for the bureau (auditors, admins) only."""
    return view if principal.role in (Role.AUDITOR, Role.ADMIN) else view.for_institution()


async def list_enrolments(
    principal: Principal, cohort_id: uuid.UUID, *, limit: int, offset: int, outcome: str | None = None
) -> Page[EnrolmentView]:
    check_bounds(limit, offset)
    if outcome is not None and outcome not in set(EnrolmentOutcome):
        raise ValidationFailed("the filters are not valid", errors=rules.outcome_errors(outcome))
    if not await visible_cohorts(principal).filter(id=cohort_id).exists():
        raise NotFound("no such cohort")
    page = await queries.enrolment_page(cohort_id, outcome=outcome, limit=limit, offset=offset)
    return page.map(lambda view: shown_to(principal, view))


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
        view = await queries.enrolment_view(uow.conn, enrolment.id)
    return shown_to(principal, view)
