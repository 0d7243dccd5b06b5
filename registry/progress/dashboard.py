"""What the bureau's dashboard draws of the progress (``GET /dashboard/data``): the five
targets of the plan as cards (value, target, expected today, status, forecast, and how they
were computed in Chinese: the notes' ``*_zh``), the cumulative monthly trend of people trained against the target, this year beside
last year, and the year's people trained by county, by priority-trade sector and by priority
group. Read from the rollup's snapshots through :mod:`registry.progress.service`, in the
caller's scope (a county auditor: its county). :func:`division_names` names divisions from the
``division`` table (the risk ranking shows names, not codes)."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

from tortoise import connections

from registry.core.clock import business_today
from registry.core.principal import Principal
from registry.progress import queries, service

HEADLINE = (
    "trainees_trained",
    "high_skill_certified",
    "startup_trained",
    "startup_sessions",
    "veterans_trained",
)
"""The five numbers the plan is judged by (DESIGN.md section 7)."""
TREND_METRIC = "trainees_trained"


async def dashboard_year(principal: Principal, requested: int | None) -> int:
    """The year asked for, else the latest year (up to this one) with people trained in the
    caller's scope (the demo's year on a demo system early in a year), else this year."""
    this_year = business_today().year
    if requested is not None:
        return service.check_year(requested)
    latest = await queries.latest_year_with_figures(
        connections.get("default"), principal.division_code or "", TREND_METRIC, this_year
    )
    return latest or this_year


async def division_names() -> dict[str, str]:
    """Every division's code -> its name (the ``division`` table)."""
    return await queries.division_names(connections.get("default"))


def _monthly(view: service.BreakdownView) -> list[int]:
    by_month = {int(item.key): item.value for item in view.items if item.key.isdigit()}
    return list(accumulate(by_month.get(month, 0) for month in range(1, 13)))


async def dashboard_figures(principal: Principal, year: int) -> dict[str, Any]:
    progress = await service.progress(principal, year)
    metrics = {m.metric: m for m in progress.metrics}
    cards = []
    for name in HEADLINE:
        m = metrics.get(name)
        if m is None:
            continue
        pace = m.pace
        cards.append(
            {
                "metric": name,
                "label": m.label,
                "value": m.value,
                "target": m.target,
                "expected": pace.expected if pace else None,
                "gap": pace.gap if pace else None,
                "status": pace.status if pace else None,
                "forecast": pace.forecast if pace else None,
                "note": "；".join(
                    n for n in ((pace.status_note_zh, pace.forecast_note_zh) if pace else ()) if n
                ),
            }
        )
    this_year = await service.breakdown(principal, year, TREND_METRIC, "month")
    last_year = await service.breakdown(principal, year - 1, TREND_METRIC, "month")
    trained = metrics.get(TREND_METRIC)
    county = await service.breakdown(principal, year, TREND_METRIC, "division")
    sectors = await service.breakdown(principal, year, TREND_METRIC, "sector")
    groups = await service.breakdown(principal, year, TREND_METRIC, "group")

    def items(view: service.BreakdownView) -> list[dict[str, Any]]:
        return [{"key": item.key, "label": item.label, "value": item.value} for item in view.items]

    return {
        "year": year,
        "as_of": progress.as_of.isoformat() if progress.as_of else None,
        "scope": {"name": progress.scope.name},
        "cards": cards,
        "trend": {
            "year": year,
            "metric": TREND_METRIC,
            "this_year": _monthly(this_year),
            "last_year": _monthly(last_year),
            "target": trained.target if trained else None,
            "note": (
                f"预期进度按 {progress.shape_year} 年各月完成情况分布计算"
                if progress.shape_year
                else "无上年数据，预期进度按全年均匀分布计算"
            ),
        },
        "by_county": items(county),
        "sectors": items(sectors),
        "groups": items(groups),
    }
