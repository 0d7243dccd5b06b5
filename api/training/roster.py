"""Roster files: bulk enrolment of a cohort from a CSV or XLSX upload, with a row-level report.

The upload is idempotent by content: the same file into the same cohort answers the
earlier report with ``unchanged: true`` (so no ``Idempotency-Key`` is needed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from api.downloads import XLSX, download
from api.problems import problem
from registry.core.crypto import Vault
from registry.core.principal import Principal
from registry.enums import ImportStatus
from registry.training.roster import service
from registry.training.roster.report import ImportReport


@dataclass
class RosterUpload:
    file: UploadFile


def _vault(request: Request[Any, Any, Any]) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


class RowError(msgspec.Struct):
    field: str
    code: str
    message: str
    row: int | None = None
    """The row number in the file (1 = the first row, the header included)."""
    column: str | None = None
    """The column's header as the file writes it."""


class ImportReportRead(msgspec.Struct):
    batch_id: uuid.UUID | None
    cohort_id: uuid.UUID
    file_name: str
    sha256: str
    mode: str
    status: ImportStatus
    """``imported``, ``partial`` (valid_rows with refused rows) or ``refused`` (nothing written)."""
    message: str
    unchanged: bool
    """The same file was imported into this cohort before; nothing changed."""
    rows_read: int
    accepted: int
    refused: int
    already_enrolled: int
    duplicate_in_file: int
    errors: list[RowError]
    """Every refused row's errors."""
    skipped: list[RowError]
    """The rows skipped because the person is already enrolled in the cohort."""
    notes: list[str]
    refused_rows_file: bool
    """The refused rows can be downloaded at ``refused.xlsx``."""
    created_at: dt.datetime | None

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportRead:
        read: ImportReportRead = msgspec.convert(report.as_dict(), cls)
        return read


def _answer(request: Request[Any, Any, Any], report: ImportReport) -> Response[Any]:
    if report.status != ImportStatus.REFUSED:
        return Response(content=ImportReportRead.of(report), status_code=200)
    # Nothing was written: a problem document whose errors name every refused row, with the report.
    return problem(
        422,
        "roster_refused",
        "Roster refused",
        report.message,
        request,
        report.errors,
        extra={"report": msgspec.to_builtins(ImportReportRead.of(report))},
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
    ) -> Response[ImportReportRead]:
        content = await data.file.read()
        report = await service.import_roster(
            principal, _vault(request), cohort_id, content, data.file.filename or "roster", mode=mode
        )
        return _answer(request, report)

    @get("/{batch_id:uuid}", summary="The report of an earlier roster import")
    async def report(
        self, principal: Principal, cohort_id: uuid.UUID, batch_id: uuid.UUID
    ) -> ImportReportRead:
        return ImportReportRead.of(await service.import_report(principal, cohort_id, batch_id))

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
        return download(f"refused-{batch_id}.xlsx", content)
