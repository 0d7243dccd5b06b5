"""Cohorts and enrolments: pure validation and workflow rules.

No queries here: the service looks the catalogue up (is the occupation a level-4 entry,
is the division a Luoyang division) and passes the answers in as plain values.

Workflow (DESIGN.md section 6)::

    draft --open--> open --(start date reached)--> running --close--> closed
      \\              \\                              \\
       `----cancel----`-------------cancel-----------`--> cancelled

``running`` is derived: an ``open`` cohort whose start date is on or before today (the
Asia/Shanghai calendar date) *is* running (:func:`effective_status`). A closed or
cancelled cohort is frozen: nothing about it, its roster or its attendance changes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from registry.core.errors import FieldError
from registry.enums import (
    CertificateKind,
    CohortKind,
    CohortStatus,
    Delivery,
    EnrolmentOutcome,
    InstitutionKind,
    InstitutionStatus,
    PriorityGroup,
    StartupCourse,
    TrainingMode,
)
from registry.people.rules import idnumber, personal
from registry.people.rules.idnumber import IdNumber, IdNumberError
from registry.people.rules.personal import PersonalDataError
from registry.reference.rules import division_index, resolve_division

MAX_REFERENCE = 64
MAX_NAME = 200
MIN_PLANNED_HOURS, MAX_PLANNED_HOURS = 1, 2000
MIN_CAPACITY, MAX_CAPACITY = 1, 500
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_LEVEL, MAX_LEVEL = 1, 5
MAX_ATTENDANCE_FACTOR = Decimal("1.5")
"""Attended hours may exceed the planned hours (make-up sessions), up to this factor."""
MAX_ENROLMENTS_PER_REQUEST = MAX_CAPACITY

VOCATIONAL_CERTIFICATES = (
    CertificateKind.SKILL_LEVEL,
    CertificateKind.SPECIAL_ABILITY,
    CertificateKind.SPECIAL_OPERATION,
    CertificateKind.COMPLETION,
)
OCCUPATION_CODE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
OCCUPATION_LEVEL = 4
"""Level 4 (细类) of the classification is an occupation; levels 1-3 are groups."""

FINAL_OUTCOMES = frozenset({EnrolmentOutcome.COMPLETED, EnrolmentOutcome.WITHDRAWN, EnrolmentOutcome.FAILED})


# --- cohort fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFacts:
    """What an institution says about a cohort (create and update take the same shape)."""

    reference: str
    kind: str
    division_code: str
    planned_hours: int
    start_date: date
    end_date: date
    capacity: int
    name: str = ""
    occupation_code: str | None = None
    certificate_kind: str | None = None
    certificate_level: int | None = None
    startup_course: str | None = None
    training_mode: str = TrainingMode.GENERAL.value
    delivery: str = Delivery.IN_PERSON.value


FACT_FIELDS = tuple(CohortFacts.__dataclass_fields__)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    return cleaned or None


def normalise(facts: CohortFacts) -> CohortFacts:
    """Trimmed text, upper-case startup course, and for a startup cohort the certificate
    kind ``startup`` when none was given (its target certificate is 创业培训合格证书)."""
    certificate_kind = facts.certificate_kind
    if facts.kind == CohortKind.STARTUP and certificate_kind is None:
        certificate_kind = CertificateKind.STARTUP.value
    return CohortFacts(
        reference=_clean(facts.reference) or "",
        kind=facts.kind,
        division_code=(facts.division_code or "").strip(),
        planned_hours=facts.planned_hours,
        start_date=facts.start_date,
        end_date=facts.end_date,
        capacity=facts.capacity,
        name=_clean(facts.name) or "",
        occupation_code=_clean(facts.occupation_code),
        certificate_kind=certificate_kind,
        certificate_level=facts.certificate_level,
        startup_course=s.upper() if (s := _clean(facts.startup_course)) else None,
        training_mode=facts.training_mode,
        delivery=facts.delivery,
    )


def one_year_after(day: date) -> date:
    """The same calendar date a year later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)


def cohort_errors(
    facts: CohortFacts, *, occupation_level: int | None, division_known: bool
) -> list[FieldError]:
    """Every problem with a (normalised) cohort. ``occupation_level`` is the catalogue
    level of ``facts.occupation_code`` (None when the code is not in the catalogue);
    ``division_known`` whether ``facts.division_code`` is a Luoyang division."""
    errors: list[FieldError] = []
    err = errors.append

    if not facts.reference:
        err(FieldError("reference", "required", "the institution's own reference for the cohort is required"))
    elif len(facts.reference) > MAX_REFERENCE:
        err(FieldError("reference", "too_long", f"a reference has at most {MAX_REFERENCE} characters"))
    elif any(unicodedata.category(c)[0] == "C" for c in facts.reference):
        err(FieldError("reference", "invalid_characters", "the reference contains control characters"))
    if len(facts.name) > MAX_NAME:
        err(FieldError("name", "too_long", f"a name has at most {MAX_NAME} characters"))

    if facts.kind == CohortKind.VOCATIONAL:
        _vocational_errors(facts, occupation_level, errors)
    elif facts.kind == CohortKind.STARTUP:
        _startup_errors(facts, errors)
    else:
        err(FieldError("kind", "invalid_choice", f"kind is one of: {_choices(CohortKind)}"))

    if facts.training_mode not in set(TrainingMode):
        err(
            FieldError(
                "training_mode", "invalid_choice", f"training_mode is one of: {_choices(TrainingMode)}"
            )
        )
    if facts.delivery not in set(Delivery):
        err(FieldError("delivery", "invalid_choice", f"delivery is one of: {_choices(Delivery)}"))

    if not facts.division_code:
        err(FieldError("division_code", "required", "the division where the cohort is held is required"))
    elif not division_known:
        err(FieldError("division_code", "unknown_division", "not the code of a Luoyang district or county"))

    if not MIN_PLANNED_HOURS <= facts.planned_hours <= MAX_PLANNED_HOURS:
        err(
            FieldError(
                "planned_hours",
                "out_of_range",
                f"planned hours are between {MIN_PLANNED_HOURS} and {MAX_PLANNED_HOURS}",
            )
        )
    if not MIN_CAPACITY <= facts.capacity <= MAX_CAPACITY:
        err(FieldError("capacity", "out_of_range", f"capacity is between {MIN_CAPACITY} and {MAX_CAPACITY}"))

    dates_ok = True
    for name, day in (("start_date", facts.start_date), ("end_date", facts.end_date)):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            dates_ok = False
            err(FieldError(name, "out_of_range", f"the year is between {MIN_YEAR} and {MAX_YEAR}"))
    if dates_ok:
        if facts.end_date < facts.start_date:
            err(FieldError("end_date", "before_start", "the end date is before the start date"))
        elif facts.end_date > one_year_after(facts.start_date):
            err(FieldError("end_date", "too_long", "a cohort lasts at most one year"))
    return errors


def _vocational_errors(facts: CohortFacts, occupation_level: int | None, errors: list[FieldError]) -> None:
    err = errors.append
    code = facts.occupation_code
    if code is None:
        err(FieldError("occupation_code", "required", "a vocational cohort trains for one occupation"))
    elif not OCCUPATION_CODE.fullmatch(code):
        err(
            FieldError(
                "occupation_code", "invalid_format", "an occupation code looks like 6-30-05-00 (X-XX-XX-XX)"
            )
        )
    elif occupation_level is None:
        err(
            FieldError(
                "occupation_code",
                "unknown_occupation",
                "not in the national occupational classification (2022 edition)",
            )
        )
    elif occupation_level != OCCUPATION_LEVEL:
        err(
            FieldError(
                "occupation_code",
                "not_an_occupation",
                "this code is a group of the classification; give an occupation (细类)",
            )
        )

    kind = facts.certificate_kind
    if kind is None:
        err(
            FieldError(
                "certificate_kind", "required", "a vocational cohort names its target certificate kind"
            )
        )
    elif kind not in VOCATIONAL_CERTIFICATES:
        err(
            FieldError(
                "certificate_kind",
                "invalid_choice",
                "certificate_kind is one of: " + ", ".join(k.value for k in VOCATIONAL_CERTIFICATES),
            )
        )
    level = facts.certificate_level
    if kind == CertificateKind.SKILL_LEVEL:
        if level is None:
            err(
                FieldError(
                    "certificate_level", "required", "a skill-level cohort names the target level (1-5)"
                )
            )
        elif not MIN_LEVEL <= level <= MAX_LEVEL:
            err(
                FieldError(
                    "certificate_level",
                    "out_of_range",
                    "skill levels are 5 初级工, 4 中级工, 3 高级工, 2 技师, 1 高级技师",
                )
            )
    elif level is not None:
        err(FieldError("certificate_level", "not_allowed", "only skill_level certificates have a level"))
    if facts.startup_course is not None:
        err(FieldError("startup_course", "not_allowed", "only a startup cohort has a startup course"))


def _startup_errors(facts: CohortFacts, errors: list[FieldError]) -> None:
    err = errors.append
    if facts.startup_course is None:
        err(
            FieldError("startup_course", "required", f"a startup cohort is one of: {_choices(StartupCourse)}")
        )
    elif facts.startup_course not in set(StartupCourse):
        err(
            FieldError(
                "startup_course", "invalid_choice", f"startup_course is one of: {_choices(StartupCourse)}"
            )
        )
    if facts.occupation_code is not None:
        err(FieldError("occupation_code", "not_allowed", "a startup cohort has no occupation"))
    if facts.certificate_kind not in (None, CertificateKind.STARTUP):
        err(
            FieldError("certificate_kind", "not_allowed", "a startup cohort leads to the startup certificate")
        )
    if facts.certificate_level is not None:
        err(FieldError("certificate_level", "not_allowed", "a startup cohort has no skill level"))


# --- workflow --------------------------------------------------------------------------------


class Action(StrEnum):
    EDIT = "edit"
    OPEN = "open"
    CLOSE = "close"
    CANCEL = "cancel"
    ENROL = "enrol"
    RECORD = "record"
    """Record attendance or an outcome of an enrolment."""


@dataclass(frozen=True)
class Refusal:
    """Why a state change is refused: a stable code and a message for people."""

    code: str
    message: str


ALLOWED: dict[Action, frozenset[CohortStatus]] = {
    Action.EDIT: frozenset({CohortStatus.DRAFT, CohortStatus.OPEN}),
    Action.OPEN: frozenset({CohortStatus.DRAFT}),
    Action.CLOSE: frozenset({CohortStatus.RUNNING}),
    Action.CANCEL: frozenset({CohortStatus.DRAFT, CohortStatus.OPEN, CohortStatus.RUNNING}),
    Action.ENROL: frozenset({CohortStatus.OPEN, CohortStatus.RUNNING}),
    Action.RECORD: frozenset({CohortStatus.OPEN, CohortStatus.RUNNING}),
}

TARGET: dict[Action, CohortStatus] = {
    Action.OPEN: CohortStatus.OPEN,
    Action.CLOSE: CohortStatus.CLOSED,
    Action.CANCEL: CohortStatus.CANCELLED,
}


def effective_status(status: CohortStatus | str, start_date: date, today: date) -> CohortStatus:
    """``open`` becomes ``running`` on the start date (Asia/Shanghai calendar date)."""
    current = CohortStatus(status)
    if current is CohortStatus.OPEN and start_date <= today:
        return CohortStatus.RUNNING
    return current


def transition_refusal(status: CohortStatus, action: Action) -> Refusal | None:
    """None when ``action`` is allowed on a cohort in (effective) ``status``.

    Codes: ``cohort_closed`` and ``cohort_cancelled`` (frozen, whatever the action),
    ``cohort_not_draft`` (open twice), ``cohort_running`` (edit after the start date),
    ``cohort_not_running`` (close before the start date or before opening),
    ``cohort_not_open`` (enrol or record attendance on a draft)."""
    if status in ALLOWED[action]:
        return None
    if status is CohortStatus.CLOSED:
        return Refusal("cohort_closed", "the cohort is closed: it, its roster and its attendance are frozen")
    if status is CohortStatus.CANCELLED:
        return Refusal("cohort_cancelled", "the cohort is cancelled: nothing about it changes any more")
    if action is Action.OPEN:
        return Refusal("cohort_not_draft", f"only a draft cohort can be opened; this one is {status.value}")
    if action is Action.EDIT:
        return Refusal("cohort_running", "the cohort has started: its details can no longer be changed")
    if action is Action.CLOSE:
        return Refusal(
            "cohort_not_running",
            "only a running cohort (open, on or after its start date) can be closed; "
            f"this one is {status.value}",
        )
    return Refusal("cohort_not_open", "open the cohort before enrolling trainees or recording attendance")


def opening_refusal(
    *,
    institution_status: str,
    institution_kinds: Collection[str],
    approved_years: Collection[int],
    start_year: int,
) -> Refusal | None:
    """Only an active training institution on the approved list for the cohort's start
    year may open (or, once open, move the dates of) a cohort."""
    if institution_status != InstitutionStatus.ACTIVE:
        return Refusal(
            "institution_not_active", f"the institution is {institution_status}; it cannot open cohorts"
        )
    if InstitutionKind.TRAINING not in institution_kinds:
        return Refusal("institution_not_training", "only a training institution opens cohorts")
    if start_year not in approved_years:
        return Refusal(
            "institution_not_approved",
            f"the institution is not on the approved list of subsidised providers for {start_year}",
        )
    return None


def capacity_refusal(capacity: int, enrolled: int, adding: int) -> Refusal | None:
    if enrolled + adding > capacity:
        free = max(capacity - enrolled, 0)
        return Refusal(
            "capacity_exceeded",
            f"the cohort has room for {capacity}; {enrolled} are enrolled, so {free} more fit, not {adding}",
        )
    return None


def closing_refusal(*, enrolled: int, in_progress: int) -> Refusal | None:
    if enrolled == 0:
        return Refusal("cohort_empty", "a cohort without enrolments is cancelled, not closed")
    if in_progress:
        return Refusal(
            "outcomes_missing",
            f"{in_progress} of {enrolled} enrolments are still in_progress: record every outcome "
            "(completed, withdrawn or failed) before closing",
        )
    return None


# --- enrolments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentRequest:
    """One person as a client sends it (raw text)."""

    id_number: str
    name: str
    phone: str | None = None
    household_division: str | None = None
    groups: Sequence[str] = ()


@dataclass(frozen=True)
class EnrolmentItem:
    """One person, validated."""

    id: IdNumber
    name: str
    phone: str | None = None
    household_division: str | None = None
    """Today's code of the household division (偃师市 -> 410307)."""
    groups: tuple[str, ...] = field(default_factory=tuple)
    household_as_written: str | None = None
    """The household division as the client wrote it."""


MAX_HOUSEHOLD_AS_WRITTEN = 50
NAME_DIFFERS = "name_differs"
"""Review flag (auditors only): the name given at enrolment is not the registered one, and
the institution had not enrolled the person before."""


def item_field(index: int | None, name: str) -> str:
    """``items[3].id_number`` for a list request, ``id_number`` for a single object."""
    return name if index is None else f"items[{index}].{name}"


def parse_enrolments(
    requests: Sequence[EnrolmentRequest], *, divisions: Mapping[str, str], today: date, as_list: bool
) -> tuple[list[EnrolmentItem], list[FieldError]]:
    """Validate every item; return the items and every error (with ``items[i].field``).
    ``divisions`` maps the division names, codes and aliases accepted for the household
    (:func:`registry.reference.queries.division_lookup`) to today's code. Messages never
    repeat an ID number."""
    division_keys = division_index(divisions)
    items: list[EnrolmentItem] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, request in enumerate(requests):
        where = index if as_list else None
        before = len(errors)
        parsed: IdNumber | None = None
        try:
            parsed = idnumber.validate(request.id_number, today=today)
        except IdNumberError as exc:
            errors.append(FieldError(item_field(where, "id_number"), exc.code, exc.message))
        if parsed is not None:
            first = seen.setdefault(parsed.number, index)
            if first != index:
                errors.append(
                    FieldError(
                        item_field(where, "id_number"),
                        "duplicate_in_request",
                        f"the same person is already items[{first}]",
                    )
                )
        name = ""
        try:
            name = personal.validate_name(request.name)
        except PersonalDataError as exc:
            errors.append(FieldError(item_field(where, "name"), exc.code, exc.message))
        phone: str | None = None
        if request.phone is not None and request.phone.strip():
            try:
                phone = personal.validate_phone(request.phone)
            except PersonalDataError as exc:
                errors.append(FieldError(item_field(where, "phone"), exc.code, exc.message))
        written = (request.household_division or "").strip() or None
        household = resolve_division(written, division_keys) if written is not None else None
        if written is not None and household is None:
            errors.append(
                FieldError(
                    item_field(where, "household_division"),
                    "unknown_division",
                    "not the name or 6-digit code of a Luoyang district or county",
                )
            )
        groups: list[str] = []
        for group in request.groups:
            if group not in set(PriorityGroup):
                errors.append(
                    FieldError(
                        item_field(where, "groups"),
                        "invalid_choice",
                        f"{group[:40]!r} is not one of: {_choices(PriorityGroup)}",
                    )
                )
            elif group not in groups:
                groups.append(group)
        if len(errors) == before and parsed is not None:
            items.append(
                EnrolmentItem(
                    parsed,
                    name,
                    phone,
                    household,
                    tuple(sorted(groups)),
                    written[:MAX_HOUSEHOLD_AS_WRITTEN] if written is not None else None,
                )
            )
    return items, errors


def max_attended_hours(planned_hours: int) -> Decimal:
    return Decimal(planned_hours) * MAX_ATTENDANCE_FACTOR


def attendance_errors(hours: Decimal, planned_hours: int) -> list[FieldError]:
    if not hours.is_finite():
        return [FieldError("attended_hours", "invalid", "attended hours are a number")]
    errors: list[FieldError] = []
    limit = max_attended_hours(planned_hours)
    if not Decimal(0) <= hours <= limit:
        # (and no quantize: 1E+30 has more digits than the context holds)
        return [
            FieldError(
                "attended_hours",
                "out_of_range",
                f"attended hours are between 0 and {limit.normalize():f} (1.5 x planned hours)",
            )
        ]
    if hours != hours.quantize(Decimal("0.1")):
        errors.append(FieldError("attended_hours", "too_precise", "record hours to one decimal place"))
    return errors


def outcome_errors(outcome: str) -> list[FieldError]:
    if outcome not in set(EnrolmentOutcome):
        return [FieldError("outcome", "invalid_choice", f"outcome is one of: {_choices(EnrolmentOutcome)}")]
    return []


def record_refusal(status: CohortStatus, *, attended_hours: Decimal, outcome: str) -> Refusal | None:
    """Before the start date nobody has attended, completed or failed: only a withdrawal."""
    if status is CohortStatus.OPEN and (
        attended_hours > 0 or outcome in (EnrolmentOutcome.COMPLETED, EnrolmentOutcome.FAILED)
    ):
        return Refusal(
            "cohort_not_started",
            "the cohort has not started: record attendance and results from its start date on",
        )
    return None
