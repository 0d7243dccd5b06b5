"""``GET /api/v1/reports/quarterly.xlsx?year=&quarter=``: the quarterly report (季度报送)
as a workbook (docs/reports.md).

Auditors and admins; a county auditor gets its own county only; institutions and assessors:
404. ``year`` out of range or ``quarter`` not 1-4 (or either missing): 422 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Response, get
from litestar.params import Parameter

from api.downloads import XLSX, download
from registry.core.errors import FieldError, ValidationFailed
from registry.core.principal import Principal
from registry.progress.rules import MAX_YEAR, MIN_YEAR
from registry.reports import quarterly

T = TypeVar("T")


def _required(name: str, value: T | None) -> T:
    """Checked here, not by Litestar, so that a missing parameter is named in the 422."""
    if value is None:
        raise ValidationFailed(
            f"{name} is required", errors=[FieldError(name, "required", f"{name} is required")]
        )
    return value


@get(
    "/reports/quarterly.xlsx",
    summary="The quarterly report to the province: training, high-skill talents, startup training, "
    "subsidy funds, each against the plan's targets (year to date through the quarter's last day)",
    tags=["progress"],
    media_type=XLSX,
)
async def quarterly_xlsx(
    principal: Principal,
    year: Annotated[int | None, Parameter(description=f"the year, {MIN_YEAR}..{MAX_YEAR} (required)")] = None,
    quarter: Annotated[int | None, Parameter(description="the quarter, 1..4 (required)")] = None,
) -> Response[bytes]:
    report = await quarterly.quarterly_report(
        principal, _required("year", year), _required("quarter", quarter)
    )
    return download(report.filename, report.data)


HANDLERS: list[Any] = [quarterly_xlsx]
