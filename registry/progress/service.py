"""The progress area's use cases: the nightly rollup, and the reads of the progress API.

- :func:`rollup`: one transaction under ``pg_advisory_xact_lock`` (a second run waits for
  the first to commit, then does its own work: runs never interleave): the as-of day's
  rows of the year are deleted and written again from the source tables in set-based SQL
  (:mod:`registry.progress.queries`); the previous year's final day (December 31) is
  written too when it is missing, so that the monthly shape of the year before is there.
  Running it twice gives the same rows; other days' rows stay (the trends).
- :func:`progress`, :func:`breakdown`, :func:`trend`: auditors and admins; a county
  auditor sees its own division only (another division, or any other role: not found).
  Pace and forecast are the pure rules of :mod:`registry.progress.rules`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.clock import business_today
from registry.core.errors import FieldError, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.core.tenancy import bureau_scope
from registry.core.uow import unit_of_work
from registry.enums import Role
from registry.progress import queries, rules
from registry.progress.queries import Period
from registry.progress.rules import METRICS, MONTH, TOTAL, Earlier, Pace, Shape

READERS = frozenset({Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class RollupReport:
    as_of: dt.date
    year: int
    rows: int
    deleted: int
    """Rows of the same day written by an earlier run, replaced."""
    previous_year_rows: int
    """Rows of the previous year's December 31 written because they were missing (else 0)."""
    waited_s: float
    """How long the run waited for another rollup's lock."""
    seconds: float


def check_year(year: int, field: str = "year") -> int:
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        raise ValidationFailed(
            f"{field} {year} is out of range",
            errors=[
                FieldError(field, "out_of_range", f"{field} is between {rules.MIN_YEAR} and {rules.MAX_YEAR}")
            ],
        )
    return year


def check_metric(metric: str, field: str = "metric") -> str:
    if metric not in METRICS:
        raise ValidationFailed(
            f"unknown metric {metric!r}",
            errors=[FieldError(field, "unknown_metric", f"one of {', '.join(METRICS)}")],
        )
    return metric


def check_by(metric: str, by: str, field: str = "by") -> str:
    if by not in rules.BREAKDOWNS:
        raise ValidationFailed(
            f"unknown breakdown {by!r}",
            errors=[FieldError(field, "unknown_breakdown", f"one of {', '.join(rules.BREAKDOWNS)}")],
        )
    if by not in METRICS[metric].dimensions:
        raise ValidationFailed(
            f"{metric} is not broken down by {by}",
            errors=[
                FieldError(
                    field,
                    "not_a_dimension",
                    f"{metric} is broken down by {', '.join(d for d in METRICS[metric].dimensions if d != TOTAL)}",
                )
            ],
        )
    return by


async def _roll(conn: BaseDBAsyncClient, period: Period, computed_at: dt.datetime) -> tuple[int, int]:
    deleted = await queries.delete_day(conn, period)
    await queries.collect_facts(conn, period)
    return await queries.insert_rollup(conn, period, computed_at), deleted


async def rollup(principal: Principal, as_of: dt.date | None = None) -> RollupReport:
    """Recompute the year to date of ``as_of`` (default: today, Asia/Shanghai)."""
    as_of = as_of or business_today()
    check_year(as_of.year, "as_of")
    started = time.perf_counter()
    async with unit_of_work(principal) as uow:
        await queries.lock_rollup(uow.conn)
        locked = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        previous_rows = 0
        previous_end = dt.date(as_of.year - 1, 12, 31)
        if previous_end.year >= rules.MIN_YEAR and not await queries.has_day(
            uow.conn, previous_end.year, previous_end
        ):
            previous_rows, _ = await _roll(uow.conn, Period.of(previous_end), now)
        rows, deleted = await _roll(uow.conn, Period.of(as_of), now)
        report = RollupReport(
            as_of=as_of,
            year=as_of.year,
            rows=rows,
            deleted=deleted,
            previous_year_rows=previous_rows,
            waited_s=locked - started,
            seconds=time.perf_counter() - started,
        )
        await uow.audit(
            "progress.rollup",
            "progress_snapshot",
            as_of.isoformat(),
            after={
                "year": as_of.year,
                "rows": rows,
                "replaced": deleted,
                "previous_year_rows": previous_rows,
            },
        )
    return report


# ---------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    division_code: str | None
    """None: the city."""
    name: str

    @property
    def key(self) -> str:
        return self.division_code or ""


@dataclass(frozen=True)
class MetricProgress:
    metric: str
    unit: str
    label: str
    pace: Pace | None
    """None when no rollup has run for the year."""
    value: int
    target: int | None
    target_source: str


@dataclass(frozen=True)
class CumulativeProgress:
    metric: str
    from_year: int
    to_year: int
    value: int
    """The years' totals added up (each year's last snapshot), up to the year asked."""
    target: int
    source: str
    note: str


@dataclass(frozen=True)
class ProgressView:
    year: int
    scope: Scope
    as_of: dt.date | None
    metrics: list[MetricProgress]
    cumulative: list[CumulativeProgress]
    shape_year: int | None
    """The previous year whose monthly shape the expected values follow, when there is one."""


@dataclass(frozen=True)
class BreakdownItem:
    key: str
    label: str
    value: int


@dataclass(frozen=True)
class BreakdownView:
    year: int
    metric: str
    by: str
    scope: Scope
    as_of: dt.date | None
    total: int
    items: list[BreakdownItem]


@dataclass(frozen=True)
class TrendPoint:
    as_of: dt.date
    value: int
    expected: int | None


@dataclass(frozen=True)
class TrendView:
    year: int
    metric: str
    scope: Scope
    target: int | None
    method: str
    """How the expected values were computed: previous_year_shape or straight_line."""
    points: list[TrendPoint]


async def _scope(conn: BaseDBAsyncClient, principal: Principal, division: str | None) -> Scope:
    """The city or one division, as the caller may see it: anyone but an auditor or an
    admin, and a county auditor asking for another division, is told it is not found."""
    scope = bureau_scope(principal)
    if scope is None:
        raise NotFound("not found")
    if scope.division_code:
        if division is not None and division != scope.division_code:
            raise NotFound(f"division {division} not found")
        division = scope.division_code
    names = await queries.division_names(conn)
    if division is None:
        return Scope(None, "洛阳市")
    if division not in names:
        raise NotFound(f"division {division} not found")
    return Scope(division, names[division])


async def reader_scope(conn: BaseDBAsyncClient, principal: Principal, division: str | None = None) -> Scope:
    """The scope a reader of the figures may see (the quarterly report's too): see :func:`_scope`."""
    return await _scope(conn, principal, division)


async def _shapes(
    conn: BaseDBAsyncClient, year: int, scope: Scope, metrics: Sequence[str]
) -> dict[str, Shape]:
    """Each metric's monthly values of the previous year (its December 31 snapshot)."""
    previous = dt.date(year - 1, 12, 31)
    if not await queries.has_day(conn, year - 1, previous):
        return {}
    months = await queries.values(
        conn, year=year - 1, as_of=previous, scope=scope.key, dimension=MONTH, metrics=metrics
    )
    return {
        metric: Shape(year - 1, tuple(months.get((metric, f"{m:02d}"), 0) for m in range(1, 13)))
        for metric in metrics
    }


def _target_map(rows: list[dict[str, object]], scope: Scope) -> dict[str, tuple[int, str]]:
    return {
        str(r["metric"]): (int(str(r["value"])), str(r["source"]))
        for r in rows
        if r["cumulative_from"] is None and r["division_id"] == scope.division_code
    }


async def progress(principal: Principal, year: int, division: str | None = None) -> ProgressView:
    """Every metric of the year in the city or a division: value, target, pace, forecast."""
    check_year(year)
    conn = connections.get("default")
    scope = await _scope(conn, principal, division)
    as_of = await queries.latest_as_of(conn, year)
    names = list(METRICS)
    target_rows = await queries.targets_of(conn, year=year, division=scope.division_code)
    targets = _target_map(target_rows, scope)
    totals: dict[tuple[str, str], int] = {}
    shapes: dict[str, Shape] = {}
    earlier_values: dict[tuple[str, str], int] = {}
    earlier_day: dt.date | None = None
    if as_of is not None:
        totals = await queries.values(
            conn, year=year, as_of=as_of, scope=scope.key, dimension=TOTAL, metrics=names
        )
        shapes = await _shapes(conn, year, scope, names)
        earlier_day = await queries.latest_as_of(
            conn, year, on_or_before=as_of - dt.timedelta(days=rules.RECENT_WINDOW_DAYS)
        )
        if earlier_day is not None:
            earlier_values = await queries.values(
                conn, year=year, as_of=earlier_day, scope=scope.key, dimension=TOTAL, metrics=names
            )
    metrics: list[MetricProgress] = []
    for name in names:
        metric = METRICS[name]
        value = totals.get((name, ""), 0)
        target, source = targets.get(name, (None, ""))
        pace = None
        if as_of is not None:
            earlier = (
                Earlier(earlier_day, earlier_values.get((name, ""), 0)) if earlier_day is not None else None
            )
            pace = rules.assess(name, value, target, as_of, year, shapes.get(name), earlier)
        metrics.append(MetricProgress(name, metric.unit, metric.label, pace, value, target, source))
    cumulative = await _cumulative(conn, year, scope, target_rows)
    return ProgressView(
        year=year,
        scope=scope,
        as_of=as_of,
        metrics=metrics,
        cumulative=cumulative,
        shape_year=year - 1 if shapes else None,
    )


async def _cumulative(
    conn: BaseDBAsyncClient, year: int, scope: Scope, target_rows: list[dict[str, object]]
) -> list[CumulativeProgress]:
    rows = [
        r for r in target_rows if r["cumulative_from"] is not None and r["division_id"] == scope.division_code
    ]
    out: list[CumulativeProgress] = []
    for r in rows:
        start, end, metric = int(str(r["cumulative_from"])), int(str(r["year"])), str(r["metric"])
        years = list(range(start, min(end, year) + 1))
        totals = await queries.year_totals(conn, years=years, metrics=[metric], scope=scope.key)
        counted = [y for y in years if (y, metric) in totals]
        value = sum(totals[(y, metric)] for y in counted)
        missing = [y for y in years if y not in counted]
        note = (
            f"the totals of {', '.join(map(str, counted)) or 'no year'} (each year's last snapshot) added up"
        )
        if missing:
            note += f"; no snapshot of {', '.join(map(str, missing))}"
        out.append(
            CumulativeProgress(metric, start, end, value, int(str(r["value"])), str(r["source"]), note)
        )
    return out


async def breakdown(
    principal: Principal, year: int, metric: str, by: str, division: str | None = None
) -> BreakdownView:
    """The metric's last snapshot of the year by one dimension, in the city or a division
    (a county auditor's ``by=division`` is its own division's row)."""
    check_year(year)
    check_metric(metric)
    check_by(metric, by)
    conn = connections.get("default")
    scope = await _scope(conn, principal, division)
    as_of = await queries.latest_as_of(conn, year)
    if as_of is None:
        return BreakdownView(year, metric, by, scope, None, 0, [])
    if by == rules.DIVISION:
        found = await queries.values(conn, year=year, as_of=as_of, scope="", dimension=by, metrics=[metric])
        if scope.division_code is not None:
            found = {k: v for k, v in found.items() if k[1] == scope.division_code}
    else:
        found = await queries.values(
            conn, year=year, as_of=as_of, scope=scope.key, dimension=by, metrics=[metric]
        )
    total = (
        await queries.values(conn, year=year, as_of=as_of, scope=scope.key, dimension=TOTAL, metrics=[metric])
    ).get((metric, ""), 0)
    labels = await queries.key_labels(conn, by, [key for _, key in found])
    items = [BreakdownItem(key, labels.get(key, key), value) for (_, key), value in found.items()]
    if by == MONTH:
        items.sort(key=lambda i: i.key)
    else:
        items.sort(key=lambda i: (-i.value, i.key))
    return BreakdownView(year, metric, by, scope, as_of, total, items)


async def trend(principal: Principal, year: int, metric: str, division: str | None = None) -> TrendView:
    """The metric's total on every as-of day of the year, with the value expected that day."""
    check_year(year)
    check_metric(metric)
    conn = connections.get("default")
    scope = await _scope(conn, principal, division)
    points = await queries.trend(conn, year=year, metric=metric, scope=scope.key)
    targets = _target_map(await queries.targets_of(conn, year=year, division=scope.division_code), scope)
    target = targets.get(metric, (None, ""))[0]
    shape = (await _shapes(conn, year, scope, [metric])).get(metric)
    method = rules.elapsed_share(dt.date(year, 1, 1), year, shape).method
    return TrendView(
        year=year,
        metric=metric,
        scope=scope,
        target=target,
        method=method,
        points=[
            TrendPoint(
                day,
                value,
                rules.expected_value(target, rules.elapsed_share(day, year, shape))
                if target is not None
                else None,
            )
            for day, value in points
        ],
    )
