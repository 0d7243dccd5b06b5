"""Targets and progress against them (docs/progress.md, "The API").

Auditors and admins; a county auditor sees its own division only (``division`` naming
another one: 404); institutions and assessors: 404. A year out of range, an unknown
``metric`` or ``by``: 422 naming the parameter. Values come from the last rollup of the
year (``as_of``); pace and forecast are computed on read by the pure rules. Each worker
keeps what it computed for a scope for ``REGISTRY_FIGURES_CACHE_SECONDS`` (:mod:`api.figures`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, get
from litestar.params import Parameter

from api.figures import kept
from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.progress import service, targets
from registry.progress.rules import BREAKDOWNS, MAX_YEAR, METRICS, MIN_YEAR

T = TypeVar("T")

_YEAR = Parameter(required=True, description=f"the year, {MIN_YEAR}..{MAX_YEAR} (required)")
_DIVISION = Parameter(
    max_length=6,
    description="a division's code (a county auditor: its own, the default); absent: the city",
)
_METRIC = Parameter(max_length=40, required=True, description=f"one of {', '.join(METRICS)}")


class ScopeRead(msgspec.Struct):
    division_code: str | None
    """None: the city (洛阳市)."""
    name: str


class TargetRead(msgspec.Struct):
    year: int
    metric: str
    division_code: str | None
    division_name: str | None
    cumulative_from: int | None
    """The first year of a cumulative target (``year`` is its last); None: the year alone."""
    value: int
    source: str
    origin: str
    """``catalogue`` (the plan, shipped) or ``file`` (registry load-targets)."""


class TargetsRead(msgspec.Struct):
    year: int
    targets: list[TargetRead]


class MetricRead(msgspec.Struct):
    metric: str
    unit: str
    """people, person_times, sessions or fen."""
    label: str
    value: int
    target: int | None
    target_source: str
    expected: int | None
    """The value expected by the as-of day: the target times ``share``."""
    gap: int | None
    """value - expected (negative: behind)."""
    status: str | None
    """on_track, behind or at_risk; None without a target (or before any rollup)."""
    forecast: int | None
    share: float | None
    """The part of the year's work expected done by the as-of day (0..1)."""
    method: str | None
    """How ``share`` was computed: previous_year_shape or straight_line."""
    forecast_method: str | None
    """recent_pace, year_to_date_pace, final or none."""
    expected_note: str
    forecast_note: str
    status_note: str


class CumulativeRead(msgspec.Struct):
    metric: str
    from_year: int
    to_year: int
    value: int
    target: int
    source: str
    note: str


class ProgressRead(msgspec.Struct):
    year: int
    as_of: dt.date | None
    """The day the last rollup of the year counted up to; None: no rollup yet."""
    scope: ScopeRead
    shape_year: int | None
    """The previous year whose monthly shape the expected values follow; None: a straight line."""
    metrics: list[MetricRead]
    cumulative: list[CumulativeRead]


class BreakdownItemRead(msgspec.Struct):
    key: str
    label: str
    value: int


class BreakdownRead(msgspec.Struct):
    year: int
    metric: str
    by: str
    as_of: dt.date | None
    scope: ScopeRead
    total: int
    """The metric's total in the scope (people are counted once: items may add up to more)."""
    items: list[BreakdownItemRead]


class TrendPointRead(msgspec.Struct):
    as_of: dt.date
    value: int
    expected: int | None


class TrendRead(msgspec.Struct):
    year: int
    metric: str
    scope: ScopeRead
    target: int | None
    method: str
    points: list[TrendPointRead]


def _required(name: str, value: T | None) -> T:
    """Checked here, not by Litestar, so that a missing parameter is named in the 422."""
    if value is None:
        raise ValidationFailed(
            f"{name} is required", errors=[FieldError(name, "required", f"{name} is required")]
        )
    return value


def _scope(scope: service.Scope) -> ScopeRead:
    return ScopeRead(scope.division_code, scope.name)


def _metric(item: service.MetricProgress) -> MetricRead:
    pace = item.pace
    if pace is None:
        return MetricRead(
            item.metric, item.unit, item.label, item.value, item.target, item.target_source,
            None, None, None, None, None, None, None,
            "no rollup has run for the year yet", "", "",
        )  # fmt: skip
    return MetricRead(
        metric=item.metric,
        unit=item.unit,
        label=item.label,
        value=pace.value,
        target=pace.target,
        target_source=item.target_source,
        expected=pace.expected,
        gap=pace.gap,
        status=pace.status,
        forecast=pace.forecast,
        share=round(pace.share.value, 6),
        method=pace.share.method,
        forecast_method=pace.forecast_method,
        expected_note=pace.expected_note,
        forecast_note=pace.forecast_note,
        status_note=pace.status_note,
    )


@get(
    "/targets", summary="The year's targets (the plan's and the bureau's split by county)", tags=["progress"]
)
async def list_targets(principal: Principal, year: Annotated[int | None, _YEAR] = None) -> TargetsRead:
    items = await targets.list_targets(principal, _required("year", year))
    return TargetsRead(
        year=_required("year", year),
        targets=[
            TargetRead(
                t.year,
                t.metric,
                t.division_code,
                t.division_name,
                t.cumulative_from,
                t.value,
                t.source,
                t.origin,
            )
            for t in items
        ],
    )


@get(
    "/progress",
    summary="Every metric of the year against its target: value, expected today, gap, status, forecast",
    tags=["progress"],
)
async def read_progress(
    request: Request[Any, Any, Any],
    principal: Principal,
    year: Annotated[int | None, _YEAR] = None,
    division: Annotated[str | None, _DIVISION] = None,
) -> ProgressRead:
    """Kept per scope for ``REGISTRY_FIGURES_CACHE_SECONDS`` (:mod:`api.figures`)."""
    year = _required("year", year)

    async def compute() -> ProgressRead:
        view = await service.progress(principal, year, division)
        return ProgressRead(
            year=view.year,
            as_of=view.as_of,
            scope=_scope(view.scope),
            shape_year=view.shape_year,
            metrics=[_metric(m) for m in view.metrics],
            cumulative=[
                CumulativeRead(c.metric, c.from_year, c.to_year, c.value, c.target, c.source, c.note)
                for c in view.cumulative
            ],
        )

    return await kept(request, principal, ("progress", year, division), compute)


@get("/progress/breakdown", summary="One metric of the year by a dimension", tags=["progress"])
async def read_breakdown(
    request: Request[Any, Any, Any],
    principal: Principal,
    year: Annotated[int | None, _YEAR] = None,
    metric: Annotated[str | None, _METRIC] = None,
    by: Annotated[
        str | None, Parameter(max_length=16, required=True, description=f"one of {', '.join(BREAKDOWNS)}")
    ] = None,
    division: Annotated[str | None, _DIVISION] = None,
) -> BreakdownRead:
    """Kept per scope for ``REGISTRY_FIGURES_CACHE_SECONDS`` (:mod:`api.figures`)."""
    year, metric, by = _required("year", year), _required("metric", metric), _required("by", by)

    async def compute() -> BreakdownRead:
        view = await service.breakdown(principal, year, metric, by, division)
        return BreakdownRead(
            year=view.year,
            metric=view.metric,
            by=view.by,
            as_of=view.as_of,
            scope=_scope(view.scope),
            total=view.total,
            items=[BreakdownItemRead(i.key, i.label, i.value) for i in view.items],
        )

    return await kept(request, principal, ("breakdown", year, metric, by, division), compute)


@get("/progress/trend", summary="One metric's value on every day the rollup ran this year", tags=["progress"])
async def read_trend(
    request: Request[Any, Any, Any],
    principal: Principal,
    year: Annotated[int | None, _YEAR] = None,
    metric: Annotated[str | None, _METRIC] = None,
    division: Annotated[str | None, _DIVISION] = None,
) -> TrendRead:
    """Kept per scope for ``REGISTRY_FIGURES_CACHE_SECONDS`` (:mod:`api.figures`)."""
    year, metric = _required("year", year), _required("metric", metric)

    async def compute() -> TrendRead:
        view = await service.trend(principal, year, metric, division)
        return TrendRead(
            year=view.year,
            metric=view.metric,
            scope=_scope(view.scope),
            target=view.target,
            method=view.method,
            points=[TrendPointRead(p.as_of, p.value, p.expected) for p in view.points],
        )

    return await kept(request, principal, ("trend", year, metric, division), compute)


HANDLERS: list[Any] = [list_targets, read_progress, read_breakdown, read_trend]
