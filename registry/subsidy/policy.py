"""A subsidy policy document: its typed schema, parsing and validation (pure: no database).

A policy is data (DESIGN.md section 5): a YAML document in ``registry/catalogue/policies/``
with every amount, threshold and rule of one published standard. Code holds no amounts.

Conventions of the document:

- **money is integer fen** in the document itself (``amount_fen: 120000`` is 1,200 yuan), as
  everywhere else in the system; a float, a string, a boolean or a negative number is refused;
- every value carries its ``source`` (the published document it comes from), or is marked
  ``assumed: true`` (not found in a published document: the bureau's to set), optionally with
  a ``note``;
- every rule the calculator and the claims engine apply is listed with its stable ``code``,
  its ``severity`` (``block``: never payable; ``review``: payable after an auditor approves it)
  and its source; the severity the calculator flags with is the document's;
- ``effective_from`` and ``effective_to`` are inclusive calendar dates (Asia/Shanghai);
  ``effective_to: null`` is open-ended. The policy in force on a date is the one whose period
  holds it; two policies' periods never overlap (the loader refuses it).

:func:`parse_policy` reads a document (YAML text) and returns a :class:`Policy` or raises
:class:`~registry.core.errors.ValidationFailed` whose errors name the key path
(``$.training.skill_level[0].amount_fen``) and, from YAML text, the line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal

import msgspec
import yaml

from registry.core.errors import FieldError, ValidationFailed
from registry.enums import CohortKind, StartupCourse, TrainingMode

Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="an amount in fen (0.01 yuan)")]
Percent = Annotated[int, msgspec.Meta(ge=0, le=1000)]
Hours = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Months = Annotated[int, msgspec.Meta(ge=0, le=120)]
Level = Annotated[int, msgspec.Meta(ge=1, le=5)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Severity = Literal["block", "review"]

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED_CODES = frozenset({"simulate", "simulations"})
"""Never a policy's code: ``/policies/simulate`` and ``/policies/simulations/{id}`` are the
what-if's routes, beside ``/policies/{code}``."""

CALCULATOR_RULES = (
    "AGE_RANGE",
    "ATTENDANCE",
    "NO_CERTIFICATE",
    "CERT_WINDOW",
    "CERT_NOT_VALID",
    "SAME_LEVEL_REPEAT",
    "LOWER_LEVEL",
    "ANNUAL_CAP",
    "STARTUP_REPEAT",
    "INSTITUTION_NOT_APPROVED",
    "CLAIM_WINDOW",
    "HOURS_MINIMUM",
    "NOT_COMPLETED",
)
"""The rules :mod:`registry.subsidy.rules` applies to plain facts."""

CLAIMS_RULES = ("ID_INVALID", "OVERLAP", "SHARED_PHONE")
"""The rules that need the database (the ID number itself, other enrolments, other
trainees' phones): applied by the claims engine, listed in the document for their severity."""

KNOWN_RULES = CALCULATOR_RULES + CLAIMS_RULES


class Sourced(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A value of the document: where it comes from, or ``assumed: true``."""

    source: Text | None = None
    assumed: bool = False
    note: Text = ""


class LevelAmount(Sourced):
    level: Level
    amount_fen: Fen


class Amount(Sourced):
    amount_fen: Fen


class HoursAmount(Sourced):
    amount_fen: Fen
    min_hours: Hours
    """HOURS_MINIMUM: a cohort planned under this many hours earns nothing payable."""


class SpecialOperation(Sourced):
    first_fen: Fen
    renewal_fen: Fen


class Completion(Sourced):
    per_hour_fen: Fen
    """Per attended hour (at most the planned hours)."""
    cap_fen: Fen
    min_hours: Hours


class StartupAmount(Sourced):
    course: StartupCourse
    amount_fen: Fen


class PercentValue(Sourced):
    percent: Percent


class AgeRange(Sourced):
    min_age: Annotated[int, msgspec.Meta(ge=0, le=120)]
    max_age: Annotated[int, msgspec.Meta(ge=0, le=120)]
    """Inclusive: a person whose age on the cohort's start date is above it is outside."""


class CountValue(Sourced):
    count: Annotated[int, msgspec.Meta(ge=0, le=100)]


class MonthsValue(Sourced):
    months: Months


class TrainingAmounts(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    skill_level: list[LevelAmount]
    special_ability: HoursAmount
    special_operation: SpecialOperation
    completion: Completion
    startup: list[StartupAmount]


class AssessmentAmounts(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    skill_level: list[LevelAmount]
    special_ability: Amount
    direct_recognition: PercentValue
    """The share of the amount paid for a certificate by direct recognition (直接认定)."""


class Uplift(Sourced):
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,40}$")]
    title: Text
    percent: Percent
    applies_to: list[CohortKind]
    """The cohort kinds whose training line it raises (never the assessment line)."""
    priority_trade: bool | None = None
    """Matches when the occupation is (True) / is not (False) on the priority list in force on
    the cohort's start date; None: either."""
    training_modes: list[TrainingMode] | None = None
    """Matches only these training modes; None: any."""


class Limits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    age: AgeRange
    attendance: PercentValue
    """ATTENDANCE: attended hours below this share of the planned hours."""
    annual_cap: CountValue
    """ANNUAL_CAP: training grants a person may have in one calendar year."""
    certificate_window: MonthsValue
    """CERT_WINDOW: a certificate issued more than this many months after the cohort ended."""
    claim_window: MonthsValue
    """CLAIM_WINDOW: a claim filed more than this many months after the certificate date."""


class Rule(Sourced):
    code: str
    severity: Severity
    title: Text
    applies_in: Literal["calculator", "claims"]
    """``calculator``: judged from plain facts (registry.subsidy.rules); ``claims``: needs the
    database, judged by the claims engine."""


class Policy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Annotated[str, msgspec.Meta(max_length=63)]
    title: Text
    effective_from: dt.date
    effective_to: dt.date | None
    source_note: Text
    """The published documents the policy comes from, for people (stored beside it)."""
    training: TrainingAmounts
    assessment: AssessmentAmounts
    uplifts: list[Uplift]
    limits: Limits
    rules: list[Rule]
    decisions: list[Text] = []
    """The decided details (DESIGN.md section 5), as written for people."""

    def rule(self, code: str) -> Rule:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise KeyError(code)

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


# ---------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------


def _walk_sourced(value: Any, path: str) -> Iterator[tuple[str, Sourced]]:
    if isinstance(value, Sourced):
        yield path, value
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _walk_sourced(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_sourced(item, f"{path}[{index}]")


def _exactly_once(
    items: Sequence[Any], key: str, expected: Iterable[Any], path: str, what: str
) -> list[FieldError]:
    errors = []
    seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            errors.append(
                FieldError(f"{path}[{index}].{key}", "duplicate", f"{what} {value} is listed twice")
            )
        seen.setdefault(value, index)
    for value in expected:
        if value not in seen:
            errors.append(FieldError(path, "missing", f"{what} {value} has no entry"))
    return errors


def policy_errors(policy: Policy) -> list[FieldError]:
    """Everything wrong with a well-typed document, all at once (empty when it is valid)."""
    errors: list[FieldError] = []
    if not CODE_PATTERN.match(policy.code):
        errors.append(
            FieldError("$.code", "invalid", "a code is lower-case letters, digits and '-' (henan-2022)")
        )
    if policy.code in RESERVED_CODES:
        errors.append(FieldError("$.code", "reserved", f"{policy.code} is reserved (an API route's name)"))
    if policy.effective_to is not None and policy.effective_to < policy.effective_from:
        errors.append(FieldError("$.effective_to", "before_start", "effective_to is before effective_from"))
    if not policy.source_note.strip():
        errors.append(FieldError("$.source_note", "missing_source", "the policy needs its source note"))
    for path, value in _walk_sourced(policy, "$"):
        if not value.assumed and not (value.source or "").strip():
            errors.append(
                FieldError(path, "missing_source", "a value needs its `source`, or `assumed: true`")
            )
    levels = (5, 4, 3, 2, 1)
    errors += _exactly_once(policy.training.skill_level, "level", levels, "$.training.skill_level", "level")
    errors += _exactly_once(
        policy.assessment.skill_level, "level", levels, "$.assessment.skill_level", "level"
    )
    errors += _exactly_once(
        policy.training.startup, "course", list(StartupCourse), "$.training.startup", "course"
    )
    errors += _exactly_once(policy.rules, "code", KNOWN_RULES, "$.rules", "rule")
    for index, rule in enumerate(policy.rules):
        where = f"$.rules[{index}]"
        if rule.code not in KNOWN_RULES:
            errors.append(FieldError(f"{where}.code", "unknown_rule", f"no rule is called {rule.code}"))
        else:
            expected = "calculator" if rule.code in CALCULATOR_RULES else "claims"
            if rule.applies_in != expected:
                errors.append(
                    FieldError(f"{where}.applies_in", "invalid", f"{rule.code} applies in {expected}")
                )
    seen_uplifts: set[str] = set()
    for index, uplift in enumerate(policy.uplifts):
        if uplift.code in seen_uplifts:
            errors.append(FieldError(f"$.uplifts[{index}].code", "duplicate", f"{uplift.code} twice"))
        seen_uplifts.add(uplift.code)
        if not uplift.applies_to:
            errors.append(FieldError(f"$.uplifts[{index}].applies_to", "missing", "applies to nothing"))
    age = policy.limits.age
    if age.max_age < age.min_age:
        errors.append(FieldError("$.limits.age.max_age", "invalid", "max_age is below min_age"))
    return errors


def _node_at(root: yaml.Node | None, path: str) -> yaml.Node | None:
    """The YAML node a msgspec path (``$.a.b[2].c``) points at, as deep as it exists."""
    node = root
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path):
        key, index = part
        child: yaml.Node | None = None
        if key and isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if child is None:
                return node
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
        if child is None:
            return node
        node = child
    return node


def _line_of(root: yaml.Node | None, path: str, key: str | None = None) -> int | None:
    """The line of the key (or item) a path names, as deep as the document has it."""
    if key is None:
        last = re.search(r"\.([^.\[\]]+)$", path)
        if last is not None:
            path, key = path[: last.start()], last.group(1)
    node = _node_at(root, path)
    if node is None:
        return None
    if key is not None and isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if getattr(k, "value", None) == key:
                return int(k.start_mark.line) + 1
    return int(node.start_mark.line) + 1


def _refused(errors: list[FieldError], name: str) -> ValidationFailed:
    first = errors[0]
    where = f" (line {first.row})" if first.row is not None else ""
    return ValidationFailed(
        f"{name}: {len(errors)} problem(s), nothing loaded; first: {first.field}{where}: {first.message}",
        code="invalid_policy",
        errors=errors,
    )


def convert_policy(data: Any, name: str = "policy", root: yaml.Node | None = None) -> Policy:
    """A :class:`Policy` from plain values (a decoded YAML or JSON document)."""
    if not isinstance(data, dict):
        raise _refused([FieldError("$", "invalid", "a policy document is a mapping")], name)
    try:
        policy = msgspec.convert(data, Policy)
    except msgspec.ValidationError as exc:
        message, _, at = str(exc).partition(" - at `")
        path = at.rstrip("`") or "$"
        unknown = re.search(r"unknown field `([^`]+)`", message)
        missing = re.search(r"missing required field `([^`]+)`", message)
        if unknown:
            field, line, code = (
                f"{path}.{unknown.group(1)}",
                _line_of(root, path, unknown.group(1)),
                "unknown_key",
            )
        elif missing:
            field, line, code = f"{path}.{missing.group(1)}", _line_of(root, path), "missing_key"
        else:
            field, line, code = path, _line_of(root, path), "invalid"
        raise _refused([FieldError(field, code, message, row=line)], name) from exc
    errors = policy_errors(policy)
    if errors:
        if root is not None:
            errors = [
                FieldError(e.field, e.code, e.message, row=_line_of(root, e.field) if e.field else None)
                for e in errors
            ]
        raise _refused(errors, name)
    return policy


def parse_policy(text: str, name: str = "policy") -> Policy:
    """Parse and validate a YAML policy document; :class:`ValidationFailed` names every
    problem's key path and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else None
        raise _refused([FieldError("$", "invalid_yaml", str(exc).splitlines()[0], row=line)], name) from exc
    except ValueError as exc:
        # A value YAML itself cannot build (a date such as 2022-02-30).
        raise _refused([FieldError("$", "invalid_value", str(exc))], name) from exc
    return convert_policy(data, name, root)


def document_of(policy: Policy) -> dict[str, Any]:
    """The document as plain JSON values (what ``subsidy_policy.document`` stores)."""
    result: dict[str, Any] = msgspec.to_builtins(policy)
    return result


def content_sha256(policy: Policy) -> str:
    """The hash of the document's content (canonical JSON: sorted keys, no whitespace):
    comments and layout of the YAML do not change it, any value does."""
    canonical = json.dumps(document_of(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def overlaps(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    """Whether two inclusive periods (None = open-ended) share a day."""
    a_end = a_to or dt.date.max
    b_end = b_to or dt.date.max
    return a_from <= b_end and b_from <= a_end


def in_force(policies: Iterable[Policy], day: dt.date) -> Policy | None:
    """The policy whose period holds ``day`` (periods never overlap), or None."""
    return next((p for p in policies if p.covers(day)), None)
