"""Roster files: bulk enrolment of a cohort from a CSV or XLSX upload, with a row-level report.

The upload is idempotent by content: the same file into the same cohort answers the
earlier report with ``unchanged: true`` (so no ``Idempotency-Key`` is needed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from api.problems import PROBLEM_JSON
from registry.core.crypto import Vault
from registry.core.principal import Principal
from registry.training.roster import service
from registry.training.roster.report import ImportReport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class RosterUpload:
    file: UploadFile


def _vault(request: Request[Any, Any, Any]) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def _answer(request: Request[Any, Any, Any], report: ImportReport) -> Response[Any]:
    body = report.as_dict()
    if report.status != "refused":
        return Response(content=body, status_code=200)
    # Nothing was written: a problem document whose errors name every refused row, with the report.
    return Response(
        content={
            "type": "/problems/roster_refused",
            "title": "Roster refused",
            "status": 422,
            "detail": report.message,
            "code": "roster_refused",
            "instance": request.url.path,
            "errors": report.errors,
            "report": body,
        },
        status_code=422,
        media_type=PROBLEM_JSON,
    )


class RosterController(Controller):
    path = "/cohorts/{cohort_id:uuid}/roster"
    tags = ["cohorts"]

    @post(
        "/",
        summary="Enrol a cohort from a roster file (CSV or XLSX, multipart field `file`)",
        description=(
            "mode=all_or_nothing (default) writes nothing when a row is refused (422 with every refused "
            "row's row, column and reason); mode=valid_rows imports the valid rows and offers the refused "
            "ones at refused.xlsx. The same file again answers the earlier report with unchanged=true."
        ),
        status_code=200,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        cohort_id: uuid.UUID,
        data: Annotated[RosterUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        mode: Literal["all_or_nothing", "valid_rows"] = "all_or_nothing",
    ) -> Response[Any]:
        content = await data.file.read()
        report = await service.import_roster(
            principal, _vault(request), cohort_id, content, data.file.filename or "roster", mode=mode
        )
        return _answer(request, report)

    @get("/{batch_id:uuid}", summary="The report of an earlier roster import")
    async def report(self, principal: Principal, cohort_id: uuid.UUID, batch_id: uuid.UUID) -> dict[str, Any]:
        return (await service.import_report(principal, cohort_id, batch_id)).as_dict()

    @get(
        "/{batch_id:uuid}/refused.xlsx",
        summary="The refused rows of a valid_rows import, with an error column",
        media_type=XLSX,
    )
    async def refused(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        cohort_id: uuid.UUID,
        batch_id: Annotated[uuid.UUID, Parameter(description="the import's batch_id")],
    ) -> Response[bytes]:
        content = await service.refused_rows_xlsx(principal, _vault(request), cohort_id, batch_id)
        return Response(
            content=content,
            media_type=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="refused-{batch_id}.xlsx"',
                "Cache-Control": "no-store",
            },
        )
