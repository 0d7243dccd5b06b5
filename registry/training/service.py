"""Cohorts: register, change, open, close, cancel; the workflow is in :mod:`registry.training.rules`.

``running`` is derived from the calendar: an ``open`` cohort whose start date (Asia/Shanghai)
has come is running. Reads report the effective status; every write that locks a cohort
first stores the promotion (``cohort.start`` audit event, actor ``system:calendar``), and
:func:`start_due_cohorts` does it for all of them at once (the nightly job, queued through the
outbox by :func:`queue_start_due`).

Who: an institution acts on its own cohorts; an administrator (or a system principal) may
act for any institution; auditors read within their scope and may not change anything
(403 on what they can see); what a caller cannot see is not found (404).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, RawSQL
from tortoise.queryset import QuerySet

from registry.audit.service import record_event
from registry.core import outbox
from registry.core.clock import business_today
from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, check_bounds, page_of
from registry.core.principal import Principal
from registry.core.tenancy import visible_cohorts
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import (
    CertificateKind,
    CohortKind,
    CohortStatus,
    EnrolmentOutcome,
    Role,
    StartupCourse,
)
from registry.models.institution import Institution
from registry.models.reference import Division, Occupation
from registry.models.training import Cohort, Enrolment
from registry.training import queries, rules
from registry.training.rules import Action, CohortFacts

CALENDAR_ACTOR = "system:calendar"

CohortInput = CohortFacts
"""What create and update take: see :class:`registry.training.rules.CohortFacts`."""


@dataclass(frozen=True)
class CohortView:
    cohort: Cohort
    status: CohortStatus
    """The effective status (``running`` from the start date on)."""
    enrolled: int


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def facts_of(cohort: Cohort) -> CohortFacts:
    return CohortFacts(
        reference=cohort.reference,
        kind=_value(cohort.kind),
        division_code=cohort.division_id,  # type: ignore[attr-defined]
        planned_hours=cohort.planned_hours,
        start_date=cohort.start_date,
        end_date=cohort.end_date,
        capacity=cohort.capacity,
        name=cohort.name,
        occupation_code=cohort.occupation_id,  # type: ignore[attr-defined]
        certificate_kind=_value(cohort.certificate_kind),
        certificate_level=cohort.certificate_level,
        startup_course=_value(cohort.startup_course),
        training_mode=_value(cohort.training_mode),
        delivery=_value(cohort.delivery),
    )


def snapshot(cohort: Cohort) -> dict[str, Any]:
    """The audit trail's picture of a cohort (dates as ISO text)."""
    out = {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in dataclasses.asdict(facts_of(cohort)).items()
    }
    out["institution"] = str(cohort.institution_id)  # type: ignore[attr-defined]
    out["status"] = _value(cohort.status)
    return out


def _model_values(facts: CohortFacts) -> dict[str, Any]:
    """CohortFacts as model attributes."""
    return {
        "reference": facts.reference,
        "name": facts.name,
        "kind": CohortKind(facts.kind),
        "occupation_id": facts.occupation_code,
        "certificate_kind": CertificateKind(facts.certificate_kind) if facts.certificate_kind else None,
        "certificate_level": facts.certificate_level,
        "startup_course": StartupCourse(facts.startup_course) if facts.startup_course else None,
        "training_mode": facts.training_mode,
        "delivery": facts.delivery,
        "division_id": facts.division_code,
        "planned_hours": facts.planned_hours,
        "start_date": facts.start_date,
        "end_date": facts.end_date,
        "capacity": facts.capacity,
    }


async def valid_facts(facts: CohortFacts, uow: UnitOfWork | None = None) -> CohortFacts:
    """Normalise and validate against the rules and the catalogue, or ValidationFailed."""
    facts = rules.normalise(facts)
    level: int | None = None
    division_known = False
    conn = uow.conn if uow is not None else None
    if facts.occupation_code is not None and rules.OCCUPATION_CODE.fullmatch(facts.occupation_code):
        occupation = await Occupation.filter(code=facts.occupation_code).using_db(conn).first()
        level = occupation.level if occupation is not None else None
    if facts.division_code:
        division_known = await Division.filter(code=facts.division_code).using_db(conn).exists()
    errors = rules.cohort_errors(facts, occupation_level=level, division_known=division_known)
    if errors:
        raise ValidationFailed("the cohort is not valid", errors=errors)
    return facts


def _acting_institution(principal: Principal, institution_id: uuid.UUID | None) -> uuid.UUID:
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        if institution_id is not None and institution_id != principal.institution_id:
            raise ValidationFailed(
                "an institution registers cohorts for itself",
                errors=[
                    FieldError("institution_id", "not_allowed", "leave it out: it is your own institution")
                ],
            )
        return principal.institution_id
    if principal.role is Role.ADMIN:
        if institution_id is None:
            raise ValidationFailed(
                "name the institution the cohort belongs to",
                errors=[FieldError("institution_id", "required", "an administrator names the institution")],
            )
        return institution_id
    raise PermissionDenied("only a training institution registers its cohorts")


async def _lock_reference(uow: UnitOfWork, institution_id: uuid.UUID, reference: str) -> None:
    """Serialise creates (and renames) of one reference of one institution."""
    await uow.conn.execute_query(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [f"cohort-ref:{institution_id}:{reference}"]
    )


async def _enrolled(uow: UnitOfWork | None, cohort_id: uuid.UUID) -> int:
    conn = uow.conn if uow is not None else None
    return await Enrolment.filter(cohort_id=cohort_id).using_db(conn).count()


def _view(cohort: Cohort, enrolled: int, today: dt.date | None = None) -> CohortView:
    status = rules.effective_status(cohort.status, cohort.start_date, today or business_today())
    return CohortView(cohort=cohort, status=status, enrolled=enrolled)


async def create_cohort(
    principal: Principal, data: CohortInput, *, institution_id: uuid.UUID | None = None
) -> tuple[CohortView, bool]:
    """A new draft cohort; ``(view, True)``. The same reference again with the same values
    finds the existing cohort, ``(view, False)``; with other values, Conflict
    ``duplicate_reference`` naming the fields that differ."""
    owner = _acting_institution(principal, institution_id)
    facts = await valid_facts(data)
    async with unit_of_work(principal) as uow:
        if (
            principal.role is Role.ADMIN
            and not await Institution.filter(id=owner).using_db(uow.conn).exists()
        ):
            raise ValidationFailed(
                "no such institution", errors=[FieldError("institution_id", "unknown", "no such institution")]
            )
        await _lock_reference(uow, owner, facts.reference)
        existing = (
            await Cohort.filter(institution_id=owner, reference=facts.reference).using_db(uow.conn).first()
        )
        if existing is not None:
            differ = [
                name
                for name in rules.FACT_FIELDS
                if getattr(facts_of(existing), name) != getattr(facts, name)
            ]
            if differ:
                raise Conflict(
                    "the institution already has a cohort with this reference, with other details",
                    code="duplicate_reference",
                    errors=[
                        FieldError(name, "differs", "differs from the registered cohort") for name in differ
                    ],
                )
            return _view(existing, await _enrolled(uow, existing.id)), False
        cohort = await Cohort.create(
            id=uuid.uuid4(),
            institution_id=owner,
            status=CohortStatus.DRAFT,
            using_db=uow.conn,
            **_model_values(facts),
        )
        await uow.audit("cohort.create", "cohort", cohort.id, after=snapshot(cohort))
    return _view(cohort, 0), True


def _filtered(
    query: QuerySet[Cohort],
    *,
    status: str | None,
    kind: str | None,
    year: int | None,
    division_code: str | None,
    today: dt.date,
) -> QuerySet[Cohort]:
    if status is not None:
        if status == CohortStatus.RUNNING:
            query = query.filter(
                Q(status=CohortStatus.RUNNING) | Q(status=CohortStatus.OPEN, start_date__lte=today)
            )
        elif status == CohortStatus.OPEN:
            query = query.filter(status=CohortStatus.OPEN, start_date__gt=today)
        else:
            query = query.filter(status=CohortStatus(status))
    if kind is not None:
        query = query.filter(kind=CohortKind(kind))
    if year is not None:
        query = query.filter(start_date__gte=dt.date(year, 1, 1), start_date__lte=dt.date(year, 12, 31))
    if division_code is not None:
        query = query.filter(division_id=division_code)
    return query


async def list_cohorts(
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    kind: str | None = None,
    year: int | None = None,
    division_code: str | None = None,
) -> Page[CohortView]:
    """The cohorts the caller may see, newest start first. ``status`` is the effective status;
    ``year`` the year of the start date."""
    check_bounds(limit, offset)
    errors = []
    if status is not None and status not in set(CohortStatus):
        errors.append(FieldError("status", "invalid_choice", "not a cohort status"))
    if kind is not None and kind not in set(CohortKind):
        errors.append(FieldError("kind", "invalid_choice", "kind is vocational or startup"))
    if year is not None and not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        errors.append(
            FieldError("year", "out_of_range", f"a year between {rules.MIN_YEAR} and {rules.MAX_YEAR}")
        )
    if errors:
        raise ValidationFailed("the filters are not valid", errors=errors)
    today = business_today()
    query = _filtered(
        visible_cohorts(principal),
        status=status,
        kind=kind,
        year=year,
        division_code=division_code,
        today=today,
    )
    page = await page_of(
        query.order_by("-start_date", "reference", "id"), limit, offset, annotate={"enrolled": _ENROLLED}
    )
    return page.map(lambda c: _view(c, int(c.enrolled), today))


_ENROLLED = RawSQL('(SELECT count(*) FROM "enrolment" e WHERE e."cohort_id" = "cohort"."id")')
"""A cohort's enrolments, as a column of the cohort's own query (one round trip, not two)."""


async def get_cohort(principal: Principal, cohort_id: uuid.UUID) -> dict[str, Any]:
    """The cohort as it is read (:data:`registry.training.queries.COHORT_READ_COLUMNS`), its
    status the effective one; NotFound when the caller cannot see it."""
    row = await queries.visible_cohort(connections.get("default"), principal, cohort_id)
    if row is None:
        raise NotFound("no such cohort")
    row["status"] = rules.effective_status(row["status"], row["start_date"], business_today())
    return row


async def lock_cohort(uow: UnitOfWork, principal: Principal, cohort_id: uuid.UUID, action: Action) -> Cohort:
    """Load and lock a cohort the principal may change, for ``action``.

    NotFound when the caller cannot see it; PermissionDenied when it can only read it;
    Conflict (a :func:`registry.training.rules.transition_refusal` code) when the action is
    not allowed in its state. An open cohort past its start date is stored as running first."""
    cohort = (
        await visible_cohorts(principal)
        .using_db(uow.conn)
        .select_for_update(no_key=True)
        .get_or_none(id=cohort_id)
    )
    if cohort is None:
        raise NotFound("no such cohort")
    if principal.role not in (Role.INSTITUTION, Role.ADMIN):
        raise PermissionDenied("only the cohort's institution changes it")
    await _promote(uow, cohort, business_today())
    refusal = rules.transition_refusal(CohortStatus(cohort.status), action)
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code)
    return cohort


async def cohort_for_enrolment(uow: UnitOfWork, principal: Principal, cohort_id: uuid.UUID) -> Cohort:
    """The cohort, locked (``FOR NO KEY UPDATE``) until the end of ``uow``, when the principal
    may enrol into it and it accepts enrolments (open or running).

    NotFound (not visible), PermissionDenied (visible but read-only, e.g. an auditor),
    Conflict ``cohort_not_open`` (draft) / ``cohort_closed`` / ``cohort_cancelled``."""
    return await lock_cohort(uow, principal, cohort_id, Action.ENROL)


async def check_capacity(conn: BaseDBAsyncClient, cohort: Cohort, adding: int) -> int:
    """Conflict ``capacity_exceeded`` unless ``adding`` more enrolments fit; returns how many
    are enrolled now. Call it with the cohort locked (:func:`cohort_for_enrolment`)."""
    enrolled = await Enrolment.filter(cohort_id=cohort.id).using_db(conn).count()
    refusal = rules.capacity_refusal(cohort.capacity, enrolled, adding)
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code)
    return enrolled


async def _promote(uow: UnitOfWork, cohort: Cohort, today: dt.date) -> None:
    if rules.effective_status(cohort.status, cohort.start_date, today) is CohortStatus.RUNNING and (
        cohort.status != CohortStatus.RUNNING
    ):
        cohort.status = CohortStatus.RUNNING
        await cohort.save(using_db=uow.conn, update_fields=["status", "updated_at"])
        await record_event(
            uow.conn,
            actor=CALENDAR_ACTOR,
            action="cohort.start",
            entity_type="cohort",
            entity_id=str(cohort.id),
            before={"status": CohortStatus.OPEN.value},
            after={"status": CohortStatus.RUNNING.value},
        )


async def update_cohort(principal: Principal, cohort_id: uuid.UUID, changes: Mapping[str, Any]) -> CohortView:
    """Change a draft or open cohort. ``changes`` holds only the fields to change (names of
    :class:`CohortFacts`; None clears an optional field)."""
    unknown = sorted(set(changes) - set(rules.FACT_FIELDS))
    if unknown:
        raise ValidationFailed(
            "unknown fields",
            errors=[FieldError(name, "unknown_field", "not a cohort field") for name in unknown],
        )
    async with unit_of_work(principal) as uow:
        cohort = await lock_cohort(uow, principal, cohort_id, Action.EDIT)
        current = facts_of(cohort)
        facts = await valid_facts(dataclasses.replace(current, **changes), uow)
        changed = [name for name in rules.FACT_FIELDS if getattr(current, name) != getattr(facts, name)]
        enrolled = await _enrolled(uow, cohort.id)
        if not changed:
            return _view(cohort, enrolled)
        if facts.capacity < enrolled:
            raise Conflict(
                f"{enrolled} trainees are enrolled; the capacity cannot be less",
                code="capacity_below_enrolled",
                errors=[FieldError("capacity", "below_enrolled", f"at least {enrolled}")],
            )
        if facts.reference != current.reference:
            owner: uuid.UUID = cohort.institution_id  # type: ignore[attr-defined]
            await _lock_reference(uow, owner, facts.reference)
            taken = (
                await Cohort.filter(institution_id=owner, reference=facts.reference)
                .using_db(uow.conn)
                .exists()
            )
            if taken:
                raise Conflict(
                    "the institution already has a cohort with this reference",
                    code="duplicate_reference",
                    errors=[FieldError("reference", "duplicate", "already used for another cohort")],
                )
        if cohort.status == CohortStatus.OPEN and facts.start_date.year != current.start_date.year:
            await _check_opening(uow, cohort, facts.start_date.year)
        before = {name: value for name, value in snapshot(cohort).items() if name in changed}
        values = _model_values(facts)
        update_fields = []
        for name in changed:
            attr = {"occupation_code": "occupation_id", "division_code": "division_id"}.get(name, name)
            setattr(cohort, attr, values[attr])
            update_fields.append(attr)
        await cohort.save(using_db=uow.conn, update_fields=[*update_fields, "updated_at"])
        after = {name: value for name, value in snapshot(cohort).items() if name in changed}
        await uow.audit("cohort.update", "cohort", cohort.id, before=before, after=after)
    return _view(cohort, enrolled)


async def _check_opening(uow: UnitOfWork, cohort: Cohort, start_year: int) -> None:
    inst = await Institution.filter(id=cohort.institution_id).using_db(uow.conn).get()  # type: ignore[attr-defined]
    refusal = rules.opening_refusal(
        institution_status=_value(inst.status),
        institution_kinds=list(inst.kinds),
        approved_years=list(inst.approved_years),
        start_year=start_year,
    )
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code)


async def _transition(
    uow: UnitOfWork, cohort: Cohort, action: Action, extra: dict[str, Any] | None = None
) -> None:
    before = CohortStatus(cohort.status).value
    cohort.status = rules.TARGET[action]
    fields = ["status", "updated_at"]
    if action is Action.CLOSE:
        cohort.closed_at = dt.datetime.now(dt.UTC)
        fields.append("closed_at")
    await cohort.save(using_db=uow.conn, update_fields=fields)
    await uow.audit(
        f"cohort.{action.value}",
        "cohort",
        cohort.id,
        before={"status": before},
        after={"status": cohort.status.value, **(extra or {})},
    )


async def open_cohort(principal: Principal, cohort_id: uuid.UUID) -> CohortView:
    """Draft -> open: the institution is active, a training institution, and approved for
    the cohort's start year. A cohort opened on or after its start date is running at once."""
    async with unit_of_work(principal) as uow:
        cohort = await lock_cohort(uow, principal, cohort_id, Action.OPEN)
        await _check_opening(uow, cohort, cohort.start_date.year)
        await _transition(uow, cohort, Action.OPEN)
    return _view(cohort, 0)


async def close_cohort(principal: Principal, cohort_id: uuid.UUID) -> CohortView:
    """Running -> closed, once every enrolment has a final outcome. Closed is frozen."""
    async with unit_of_work(principal) as uow:
        cohort = await lock_cohort(uow, principal, cohort_id, Action.CLOSE)
        _, rows = await uow.conn.execute_query(
            "SELECT outcome, count(*) AS n FROM enrolment WHERE cohort_id = $1 GROUP BY outcome", [cohort.id]
        )
        by_outcome = {r["outcome"]: int(r["n"]) for r in rows}
        enrolled = sum(by_outcome.values())
        refusal = rules.closing_refusal(
            enrolled=enrolled, in_progress=by_outcome.get(EnrolmentOutcome.IN_PROGRESS.value, 0)
        )
        if refusal is not None:
            raise Conflict(refusal.message, code=refusal.code)
        await _transition(uow, cohort, Action.CLOSE, {"outcomes": dict(sorted(by_outcome.items()))})
    return _view(cohort, enrolled)


async def cancel_cohort(principal: Principal, cohort_id: uuid.UUID, reason: str = "") -> CohortView:
    """Draft, open or running -> cancelled (not from closed). Enrolments stay, frozen."""
    async with unit_of_work(principal) as uow:
        cohort = await lock_cohort(uow, principal, cohort_id, Action.CANCEL)
        await _transition(uow, cohort, Action.CANCEL, {"reason": reason.strip()} if reason.strip() else None)
        enrolled = await _enrolled(uow, cohort.id)
    return _view(cohort, enrolled)


START_DUE_RUN = "registry.cohorts.start_due_run"
"""The job that promotes the cohorts due on a day (queued by :func:`queue_start_due`)."""


async def queue_start_due(principal: Principal, today: dt.date | None = None) -> uuid.UUID:
    """Queue today's promotion of due cohorts through the outbox; returns the outbox id.

    The nightly beat task calls this and writes nothing else: beat's own message is
    fire-and-forget (sent once, dropped when it expires), while the outbox row is durable
    (the relay resends it after a broker outage or a crash), shows when the day's run was
    queued, sent and done, and makes the run happen once per row
    (:func:`start_due_cohorts` with its ``outbox_id``). Called inside another use case it
    joins that unit of work, and the job is sent after that one commits."""
    day = today or business_today()
    async with unit_of_work(principal) as uow:
        return await uow.enqueue(START_DUE_RUN, day=day)


async def start_due_cohorts(
    principal: Principal, today: dt.date | None = None, *, outbox_id: uuid.UUID | str | None = None
) -> int | None:
    """Store ``running`` for every open cohort whose start date has come by ``today`` (reads
    derive it anyway). Returns how many were promoted.

    With ``outbox_id`` (the :data:`START_DUE_RUN` job) the run happens once per outbox row:
    a second delivery of the same job changes nothing and returns None, even if more
    cohorts have fallen due since (the next night's row promotes those)."""
    day = today or business_today()
    async with unit_of_work(principal) as uow:
        if outbox_id is not None and not await outbox.record_done(uow.conn, outbox_id):
            return None
        rows = await uow.conn.execute_query_dict(
            "UPDATE cohort SET status = 'running', updated_at = now() "
            "WHERE status = 'open' AND start_date <= $1 RETURNING id",
            [day],
        )
        for row in rows:
            await record_event(
                uow.conn,
                actor=CALENDAR_ACTOR,
                action="cohort.start",
                entity_type="cohort",
                entity_id=str(row["id"]),
                before={"status": "open"},
                after={"status": "running"},
            )
    return len(rows)
