"""The quarterly report (季度报送) the bureau sends to the province (docs/reports.md).

:func:`quarterly_report` gives one workbook for a year and quarter: the year to date
through the quarter's last day, in the caller's scope (the city; a county auditor: its
county only; anyone but an auditor or an admin: not found).

Every figure is counted by the nightly rollup's own SQL (:mod:`registry.progress.queries`),
run for ``as_of`` = the quarter's last day inside the report's transaction, then read back
from ``progress_snapshot`` and the rollup's ``progress_facts``, and the transaction is rolled
back: one piece of code for each counting rule, and the report leaves no rows behind (a
snapshot dated the end of a quarter still running would pass for the latest rollup of the
progress API). The one breakdown the rollup has no dimension for, the high-skill talents
by certificate level, is counted over the rollup's facts (:mod:`registry.reports.queries`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from registry.core.clock import BUSINESS_TZ
from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.core.uow import CONNECTION
from registry.enums import PriorityGroup, StartupCourse
from registry.progress import queries as rollup_sql
from registry.progress.queries import Period
from registry.progress.rules import ANY_PRIORITY, METRICS
from registry.progress.service import Scope, check_year, reader_scope
from registry.reports import queries
from registry.reports.workbook import RATE, TEXT, YUAN, Column, Sheet, rate, workbook

CITY_CODE, CITY_NAME, TOTAL_LABEL = "410300", "洛阳市", "全市合计"

GROUP_LABELS: dict[str, str] = {
    PriorityGroup.GRADUATE: "高校毕业生",
    PriorityGroup.MIGRANT_WORKER: "农民工",
    PriorityGroup.HARDSHIP: "就业困难人员",
    PriorityGroup.RURAL_LABOUR: "农村劳动力",
    PriorityGroup.DISABLED: "残疾人",
    PriorityGroup.UNEMPLOYED_YOUTH: "登记失业青年",
    PriorityGroup.POVERTY_ALLEVIATED: "脱贫人口",
}
"""The priority groups with a column of their own (veterans have theirs, with a target)."""

LEVEL_LABELS: dict[int, str] = {1: "一级/高级技师", 2: "二级/技师", 3: "三级/高级工"}

COURSE_LABELS: dict[str, str] = {
    StartupCourse.GYB: "产生你的企业想法(GYB)",
    StartupCourse.SYB: "创办你的企业(SYB)",
    StartupCourse.IYB: "改善你的企业(IYB)",
    StartupCourse.EYB: "扩大你的企业(EYB)",
}

MONEY = (
    ("subsidy_claimed_fen", "申领补贴(元)"),
    ("subsidy_approved_fen", "审核通过(元)"),
    ("subsidy_granted_fen", "已核定(元)"),
    ("subsidy_paid_fen", "已拨付(元)"),
    ("subsidy_reversed_fen", "已追回(元)"),
)
MONEY_TARGET = "subsidy_paid_fen"
"""The money figure a target (when the bureau loads one) is judged against."""

SHEET_TITLES = ("说明", "职业技能培训", "高技能人才", "创业培训", "补贴资金")


def check_quarter(quarter: int, field: str = "quarter") -> int:
    if not 1 <= quarter <= 4:
        raise ValidationFailed(
            f"{field} {quarter} is out of range",
            errors=[FieldError(field, "out_of_range", f"{field} is 1, 2, 3 or 4")],
        )
    return quarter


def quarter_end(year: int, quarter: int) -> dt.date:
    month = quarter * 3
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return following - dt.timedelta(days=1)


@dataclass(frozen=True)
class Figures:
    """What the rollup of the quarter's last day counted, and the year's targets."""

    snapshot: dict[queries.Key, int]
    levels: dict[tuple[str, int], int]
    targets: dict[tuple[str, str], int]

    def value(self, metric: str, scope: str = "", dimension: str = "total", key: str = "") -> int:
        return self.snapshot.get((metric, scope, dimension, key), 0)

    def target(self, metric: str, scope: str = "") -> int | None:
        return self.targets.get((metric, scope))


@dataclass(frozen=True)
class QuarterlyReport:
    year: int
    quarter: int
    as_of: dt.date
    scope: Scope
    filename: str
    data: bytes


class _Discard(Exception):
    """Raised to roll the report's transaction back once the figures are read."""


async def _count(conn: BaseDBAsyncClient, year: int, as_of: dt.date) -> Figures:
    period = Period.of(as_of)
    await rollup_sql.lock_rollup(conn)
    await rollup_sql.delete_day(conn, period)
    await rollup_sql.collect_facts(conn, period)
    await rollup_sql.insert_rollup(conn, period, dt.datetime.now(dt.UTC))
    return Figures(
        snapshot=await queries.snapshot_day(conn, year, as_of),
        levels=await queries.high_skill_levels(conn),
        targets=await queries.annual_targets(conn, year),
    )


async def figures(year: int, as_of: dt.date) -> Figures:
    """The rollup of ``as_of`` counted in a transaction that is then rolled back."""
    found: list[Figures] = []
    try:
        async with in_transaction(CONNECTION) as conn:
            found.append(await _count(conn, year, as_of))
            raise _Discard
    except _Discard:
        pass
    return found[0]


def _rows_of(scope: Scope, divisions: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(scope key, code, name) of the rows of a by-county sheet: every county and the city's
    total; a county auditor's own county only."""
    if scope.division_code is not None:
        return [(scope.division_code, scope.division_code, scope.name)]
    return [(code, code, name) for code, name in divisions] + [("", CITY_CODE, TOTAL_LABEL)]


def _with_target(f: Figures, metric: str, scope: str) -> list[Any]:
    value = f.value(metric, scope)
    target = f.target(metric, scope)
    return [value, target, rate(value, target)]


def training_sheet(f: Figures, rows: list[tuple[str, str, str]], heading: str) -> Sheet:
    columns = [
        Column("县区代码", TEXT),
        Column("县(市、区)", TEXT),
        Column("培训人数"),
        Column("目标任务(人)"),
        Column("完成率", RATE),
        Column("培训人次"),
        Column("重点产业培训人数"),
        *(Column(f"其中:{label}") for label in GROUP_LABELS.values()),
        Column("退役军人培训人数"),
        Column("退役军人目标任务(人)"),
        Column("退役军人完成率", RATE),
    ]
    data = [
        [
            code,
            name,
            *_with_target(f, "trainees_trained", key),
            f.value("training_person_times", key),
            f.value("trainees_trained", key, "sector", ANY_PRIORITY),
            *(f.value("trainees_trained", key, "group", group) for group in GROUP_LABELS),
            *_with_target(f, "veterans_trained", key),
        ]
        for key, code, name in rows
    ]
    return Sheet("职业技能培训", heading, columns, data)


def high_skill_sheet(f: Figures, rows: list[tuple[str, str, str]], heading: str) -> Sheet:
    columns = [
        Column("县区代码", TEXT),
        Column("县(市、区)", TEXT),
        Column("新增高技能人才(人)"),
        Column("目标任务(人)"),
        Column("完成率", RATE),
        *(Column(f"其中:{label}") for label in LEVEL_LABELS.values()),
    ]
    data = [
        [
            code,
            name,
            *_with_target(f, "high_skill_certified", key),
            *(f.levels.get((key, level), 0) for level in LEVEL_LABELS),
        ]
        for key, code, name in rows
    ]
    return Sheet("高技能人才", heading, columns, data)


def startup_sheet(f: Figures, scope: Scope, heading: str) -> Sheet:
    key = scope.key
    columns = [
        Column("课程代码", TEXT),
        Column("课程", TEXT),
        Column("创业培训人数"),
        Column("目标任务(人)"),
        Column("完成率", RATE),
        Column("创业培训期数"),
        Column("目标任务(期)"),
        Column("完成率(期数)", RATE),
    ]
    found = {
        k
        for (m, s, d, k) in f.snapshot
        if m in ("startup_trained", "startup_sessions") and s == key and d == "occupation"
    }
    courses = [*COURSE_LABELS, *sorted(found - set(COURSE_LABELS))]
    data: list[list[Any]] = [
        [
            course,
            COURSE_LABELS.get(course, course or "未注明课程"),
            f.value("startup_trained", key, "occupation", course),
            None,
            None,
            f.value("startup_sessions", key, "occupation", course),
            None,
            None,
        ]
        for course in courses
    ]
    data.append(
        [
            scope.division_code or CITY_CODE,
            f"{scope.name}合计" if scope.division_code else TOTAL_LABEL,
            *_with_target(f, "startup_trained", key),
            *_with_target(f, "startup_sessions", key),
        ]
    )
    return Sheet(
        "创业培训",
        heading,
        columns,
        data,
        notes=("一人参加多个课程的, 各课程分别计入, 合计只计一人。",),
    )


def money_sheet(f: Figures, rows: list[tuple[str, str, str]], heading: str) -> Sheet:
    columns = [
        Column("县区代码", TEXT),
        Column("县(市、区)", TEXT),
        *(Column(label, YUAN) for _, label in MONEY),
        Column("拨付目标(元)", YUAN),
        Column("拨付完成率", RATE),
    ]
    data = [
        [
            code,
            name,
            *(f.value(metric, key) for metric, _ in MONEY),
            f.target(MONEY_TARGET, key),
            rate(f.value(MONEY_TARGET, key), f.target(MONEY_TARGET, key)),
        ]
        for key, code, name in rows
    ]
    return Sheet(
        "补贴资金",
        heading,
        columns,
        data,
        notes=("全市合计含未关联申请的核定、追回记录; 计划未设资金目标时目标与完成率为空。",),
    )


def cover_sheet(year: int, quarter: int, as_of: dt.date, scope: Scope, made_at: dt.datetime) -> Sheet:
    rows: list[list[Any]] = [
        ["报表", "职业技能培训和技能人才季度报送"],
        ["年度", str(year)],
        ["季度", f"第{quarter}季度"],
        ["统计期间", f"{year}-01-01 至 {as_of.isoformat()} (年初至季末累计)"],
        ["范围", scope.name],
        ["生成时间", made_at.strftime("%Y-%m-%d %H:%M")],
        ["", ""],
        ["指标", "口径"],
        *([metric.label, metric.counted] for metric in METRICS.values()),
    ]
    return Sheet(
        "说明",
        f"{scope.name}{year}年第{quarter}季度职业技能培训和技能人才报送",
        [Column("项目", TEXT), Column("内容", TEXT)],
        rows,
        frozen_columns=1,
    )


def build_sheets(
    year: int, quarter: int, as_of: dt.date, scope: Scope, divisions: Sequence[tuple[str, str]], f: Figures,
    made_at: dt.datetime,
) -> list[Sheet]:  # fmt: skip
    """The report's sheets from the figures (pure)."""
    rows = _rows_of(scope, divisions)
    period = f"{scope.name}{year}年第{quarter}季度(截至{as_of.isoformat()})"
    return [
        cover_sheet(year, quarter, as_of, scope, made_at),
        training_sheet(f, rows, f"{period}职业技能培训情况"),
        high_skill_sheet(f, rows, f"{period}新增高技能人才情况"),
        startup_sheet(f, scope, f"{period}创业培训情况"),
        money_sheet(f, rows, f"{period}培训补贴资金情况"),
    ]


async def quarterly_report(principal: Principal, year: int, quarter: int) -> QuarterlyReport:
    """The workbook of the year to date through the quarter's last day, in the caller's scope."""
    check_year(year)
    check_quarter(quarter)
    conn = connections.get(CONNECTION)
    scope = await reader_scope(conn, principal)
    divisions = await queries.counties(conn)
    as_of = quarter_end(year, quarter)
    found = await figures(year, as_of)
    sheets = build_sheets(
        year, quarter, as_of, scope, divisions, found, dt.datetime.now(dt.UTC).astimezone(BUSINESS_TZ)
    )
    suffix = f"-{scope.division_code}" if scope.division_code else ""
    return QuarterlyReport(
        year, quarter, as_of, scope, f"quarterly-{year}-Q{quarter}{suffix}.xlsx", workbook(sheets)
    )
