"""Roster files: bulk enrolment of a cohort from the CSV or XLSX an institution keeps.

One file, one use case, one transaction (:func:`import_roster`):

1. bounds first: the file's size (``file_too_large``) and its rows (``too_many_rows``);
2. the cohort must be visible to the caller (else 404, before anything is said about the
   file); a file whose SHA-256 was already imported into this cohort changes nothing and
   the earlier report comes back with ``unchanged=True``;
3. the rows are parsed by :mod:`registry.training.roster.rules` (row-level errors with row number
   and column), then checked against the database: a person the cohort's institution has
   enrolled before, registered under the same ID number with another name, is refused
   (column 姓名; anyone else's person is enrolled under the name as given, flagged
   ``name_differs`` for the auditors, so the answer says nothing about them); a person already enrolled in the
   cohort is skipped and reported (``already_enrolled``), so a corrected file can be sent
   again after a partial import; a row's 学时 and 结果 must fit the cohort, by the same
   rules as recording attendance on an enrolment (:func:`registry.training.rules.attendance_errors`,
   :func:`registry.training.rules.record_refusal`): at most 1.5 x the planned hours, one
   decimal place, and no attendance, 合格 or 不合格 before the cohort has started;
4. ``all_or_nothing`` (the default) writes nothing when a row is refused;
   ``valid_rows`` imports the valid rows, and the refused rows can be downloaded as an
   XLSX with an error column (:func:`refused_rows_xlsx`, :mod:`registry.training.roster.refused`);
5. the cohort's capacity counts the enrolments it has plus the new ones (``capacity_exceeded``);
6. writes are set-based: people through :func:`registry.people.queries.upsert_people` in
   chunks, enrolments through :mod:`registry.training.queries` (unnest or COPY), one
   ``import_batch`` row and one audit event (counts, file name, SHA-256; never an ID number).

The refused rows' original cells (they hold ID numbers and names) are kept only for a
``valid_rows`` import with refused rows, encrypted with the vault (AES-256-GCM, context
``REFUSED_ROWS_CONTEXT``) in the batch's ``refused_cells`` column (``registry rotate-keys``
re-encrypts them with the rest); nothing else of a row is stored beyond what the trainee
and enrolment tables hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.offload import run_off_loop
from registry.core.principal import Principal
from registry.core.tabular import file_kind, iter_table
from registry.core.tenancy import visible_cohorts
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import CohortStatus, ImportStatus, Role
from registry.models.training import Cohort, ImportBatch
from registry.people.queries import id_index
from registry.training.roster import queries, refused
from registry.training.roster.report import ImportReport, report_of
from registry.training.roster.rules import (
    ALREADY_ENROLLED,
    DUPLICATE_IN_FILE,
    Judgement,
    Registered,
    RosterParse,
    import_status,
    judge_rows,
    parse_roster,
)
from registry.training.rules import capacity_refusal
from registry.training.service import cohort_for_enrolment

Mode = Literal["all_or_nothing", "valid_rows"]
MODES: tuple[str, ...] = ("all_or_nothing", "valid_rows")

MAX_BYTES = 20 * 1024 * 1024
"""Largest roster file accepted (the API's request body limit is the same)."""
MAX_ROWS = 200_000
"""Most data rows in one file (blank, title and footer rows are not counted)."""


# --- reading and parsing (no database) -----------------------------------------------------


def read_bounded(source: bytes | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, or ``file_too_large`` (a path is measured before it is read)."""
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > max_bytes:
        raise ValidationFailed(
            f"the file has {size:,} bytes; the limit is {max_bytes:,} ({max_bytes // (1024 * 1024)} MB): "
            "split it into smaller files",
            code="file_too_large",
        )
    data = source.read_bytes() if isinstance(source, Path) else source
    if not data.strip():
        raise ValidationFailed("the file is empty", code="empty_file")
    return data


def parse_file(
    data: bytes,
    file_name: str,
    divisions: dict[str, str],
    *,
    max_rows: int = MAX_ROWS,
    keep_refused_cells: bool = False,
    today: dt.date | None = None,
) -> RosterParse:
    """Read the file as a table and parse it (:func:`registry.training.roster.rules.parse_roster`)."""
    return parse_roster(
        iter_table(data, file_name),
        divisions=divisions,
        max_rows=max_rows,
        today=today,
        keep_refused_cells=keep_refused_cells,
    )


# --- the use case ----------------------------------------------------------------------


async def _visible_cohort(principal: Principal, cohort_id: uuid.UUID) -> Cohort:
    cohort = await visible_cohorts(principal).get_or_none(id=cohort_id)
    if cohort is None:
        raise NotFound("no such cohort")
    return cohort


async def _unchanged(batch_id: uuid.UUID, conn: BaseDBAsyncClient | None = None) -> ImportReport:
    query = ImportBatch.filter(id=batch_id)
    return report_of(await (query.using_db(conn) if conn is not None else query).get(), unchanged=True)


def _checked_upload(
    source: bytes | Path, file_name: str, mode: str, max_bytes: int
) -> tuple[bytes, str, str]:
    """The file's bytes, its cleaned name and its SHA-256, or a file-level refusal."""
    if mode not in MODES:
        raise ValidationFailed(f"mode must be one of {', '.join(MODES)}", code="bad_mode")
    file_name = (file_name or "roster").strip()[:255] or "roster"
    file_kind(file_name)
    data = read_bounded(source, max_bytes)
    return data, file_name, hashlib.sha256(data).hexdigest()


def _judge(cohort: Cohort, parsed: RosterParse, indexes: list[str], found: queries.Lookup) -> Judgement:
    """The parsed rows against the cohort and the people the registry already knows."""
    known = found.known
    return judge_rows(
        parsed,
        [
            Registered(name=k[1], enrolled=k[2], ours=k[3]) if (k := known.get(i)) is not None else None
            for i in indexes
        ],
        status=CohortStatus(cohort.status),
        planned_hours=cohort.planned_hours,
    )


async def _sealed_refused_rows(
    vault: Vault, data: bytes, file_name: str, parsed: RosterParse, judgement: Judgement
) -> bytes:
    """The refused rows' original cells (and the header), encrypted for the XLSX download:
    the parser kept the cells it refused; the rows refused later are read again."""
    cells = dict(parsed.refused_cells)
    wanted = set(judgement.refused_after_parsing)
    if parsed.header_row is not None:
        wanted.add(parsed.header_row)
    cells.update(await run_off_loop(len(data), refused.cells_of, data, file_name, wanted))
    header = cells.pop(parsed.header_row, []) if parsed.header_row is not None else []
    return refused.seal_cells(vault, header, cells)


@dataclass(frozen=True)
class _Upload:
    """A roster file read, bounded and parsed, before the transaction."""

    data: bytes
    file_name: str
    digest: str
    mode: str
    parsed: RosterParse
    index_of: dict[str, str]
    """ID number -> blind index, computed once per person."""
    indexes: list[str]
    """The parsed rows' blind indexes, in order."""


async def _prepare(
    principal: Principal,
    vault: Vault,
    cohort_id: uuid.UUID,
    source: bytes | Path,
    file_name: str,
    *,
    mode: str,
    max_rows: int,
    max_bytes: int,
    today: dt.date | None,
) -> _Upload | ImportReport:
    """The upload read and parsed; or the earlier report when this file was imported before."""
    data, file_name, digest = _checked_upload(source, file_name, mode, max_bytes)
    # Tenancy first: a cohort the caller may not see is 404, whatever the file holds.
    if not await visible_cohorts(principal).filter(id=cohort_id).exists():
        raise NotFound("no such cohort")
    if principal.role not in (Role.INSTITUTION, Role.ADMIN):
        raise PermissionDenied("only the cohort's institution enrols people from a roster")
    earlier_id, divisions = await queries.upload_context(cohort_id, digest)
    if earlier_id is not None:
        return await _unchanged(earlier_id)
    # Parsing is CPU work: off the event loop (a thread, or a memory-capped process for a
    # large file), so that one upload never holds up other users' requests.
    parsed = await run_off_loop(
        len(data),
        parse_file,
        data,
        file_name,
        divisions,
        max_rows=max_rows,
        keep_refused_cells=mode == "valid_rows",
        today=today,
    )
    if parsed.rows_read == 0:
        raise ValidationFailed("the roster has a header row but no rows of people", code="empty_roster")
    index_of = {row.id.number: id_index(vault, row.id.number) for row in parsed.rows}
    return _Upload(
        data=data,
        file_name=file_name,
        digest=digest,
        mode=mode,
        parsed=parsed,
        index_of=index_of,
        indexes=[index_of[row.id.number] for row in parsed.rows],
    )


async def _record(
    uow: UnitOfWork, vault: Vault, cohort: Cohort, upload: _Upload, judgement: Judgement, status: ImportStatus
) -> ImportReport:
    """The batch row, the people and enrolments of the accepted rows, and the report."""
    to_import = judgement.to_import if status is not ImportStatus.REFUSED else []
    keep_refused = bool(judgement.refused and upload.mode == "valid_rows")
    error_dicts = [e.as_dict() for e in judgement.errors]
    skipped_dicts = [e.as_dict() for e in judgement.skipped]
    sealed = (
        await _sealed_refused_rows(vault, upload.data, upload.file_name, upload.parsed, judgement)
        if keep_refused
        else None
    )
    batch_id, created_at = await queries.insert_batch(
        uow.conn,
        queries.NewBatch(
            cohort_id=cohort.id,
            actor=uow.principal.actor,
            file_name=upload.file_name,
            sha256=upload.digest,
            mode=upload.mode,
            rows_read=upload.parsed.rows_read,
            accepted=len(to_import),
            refused=judgement.refused,
            already_enrolled=len(judgement.skipped),
            errors=error_dicts + skipped_dicts,
            refused_cells=sealed,
            status=status,
        ),
    )
    accepted = (
        await queries.write_rows(uow.conn, vault, cohort.id, batch_id, to_import, upload.index_of)
        if to_import
        else 0
    )
    if accepted != len(to_import):  # only if another path enrolled someone meanwhile
        await queries.set_accepted(uow.conn, batch_id, accepted)
    return ImportReport(
        batch_id=batch_id,
        cohort_id=cohort.id,
        file_name=upload.file_name,
        sha256=upload.digest,
        mode=upload.mode,
        status=status.value,
        rows_read=upload.parsed.rows_read,
        accepted=accepted,
        refused=judgement.refused,
        already_enrolled=len(judgement.skipped),
        duplicate_in_file=sum(1 for e in judgement.errors if e.code == DUPLICATE_IN_FILE),
        errors=error_dicts,
        skipped=skipped_dicts,
        notes=upload.parsed.notes,
        refused_rows_file=keep_refused,
        created_at=created_at,
    )


async def import_roster(
    principal: Principal,
    vault: Vault,
    cohort_id: uuid.UUID,
    source: bytes | Path,
    file_name: str,
    *,
    mode: Mode | str = "all_or_nothing",
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
    today: dt.date | None = None,
) -> ImportReport:
    """Import a roster file into a cohort (see the module's documentation).

    Raises ``NotFound`` (cohort not visible), ``ValidationFailed`` for a file-level problem
    (``file_too_large``, ``too_many_rows``, ``no_header``, ``unsupported_file_type``,
    ``bad_csv``, ``bad_xlsx``, ``empty_roster``...), ``Conflict`` (``capacity_exceeded``, a cohort
    that does not take enrolments). Row-level problems are in the report, whose ``status``
    is ``refused`` when nothing was written."""
    upload = await _prepare(
        principal,
        vault,
        cohort_id,
        source,
        file_name,
        mode=mode,
        max_rows=max_rows,
        max_bytes=max_bytes,
        today=today,
    )
    if isinstance(upload, ImportReport):
        return upload
    async with unit_of_work(principal) as uow:
        # Plans cached on a pooled connection while a table was small (a fresh registry) would
        # keep scanning it whole: plan the reads for the values they get. queries.lookup sets
        # the mode back to auto for the writes, whose per-row foreign-key checks keep their
        # cached plans (re-planning ~150 of them a file doubled the enrolment insert).
        await uow.conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
        cohort = await cohort_for_enrolment(uow, principal, cohort_id)
        # One statement under the lock: the earlier import again (a concurrent upload of the
        # same file may have committed), the capacity count and the people look-up.
        found = await queries.lookup(uow.conn, cohort.id, upload.digest, upload.indexes)
        if found.earlier_id is not None:
            return await _unchanged(found.earlier_id, uow.conn)
        judgement = _judge(cohort, upload.parsed, upload.indexes, found)
        status = import_status(judgement.refused, len(judgement.to_import), upload.mode)
        if status is not ImportStatus.REFUSED and judgement.to_import:
            refusal = capacity_refusal(cohort.capacity, found.enrolled, len(judgement.to_import))
            if refusal is not None:
                raise Conflict(refusal.message, code=refusal.code)
        report = await _record(uow, vault, cohort, upload, judgement, status)
        await uow.audit(
            "roster.import",
            "import_batch",
            report.batch_id,
            after={
                "cohort_id": str(cohort.id),
                "file_name": report.file_name,
                "sha256": report.sha256,
                "mode": report.mode,
                "status": report.status,
                "rows_read": report.rows_read,
                "accepted": report.accepted,
                "refused": report.refused,
                "already_enrolled": report.already_enrolled,
            },
        )
    return report


# --- reports and the refused rows, as XLSX ---------------------------------------------


async def import_report(principal: Principal, cohort_id: uuid.UUID, batch_id: uuid.UUID) -> ImportReport:
    """The report of an earlier import of a cohort the caller may see."""
    await _visible_cohort(principal, cohort_id)
    batch = await ImportBatch.get_or_none(id=batch_id, cohort_id=cohort_id)
    if batch is None:
        raise NotFound("no such import")
    return report_of(batch, unchanged=False)


async def refused_rows_xlsx(
    principal: Principal, vault: Vault, cohort_id: uuid.UUID, batch_id: uuid.UUID
) -> bytes:
    """The refused rows of a ``valid_rows`` import as XLSX: the file's header and the
    rows' original cells, plus an error column (column: message; ...).

    The rows hold full ID numbers: a download by anyone but the uploading institution (an
    administrator, an auditor) is a ``roster.refused_rows.download`` audit event on the
    batch, with the count of rows and the reader's role (never the rows)."""
    cohort = await _visible_cohort(principal, cohort_id)
    batch = await ImportBatch.get_or_none(id=batch_id, cohort_id=cohort_id)
    if batch is None:
        raise NotFound("no such import")
    if batch.refused_cells is None:
        raise NotFound(
            "this import has no refused rows to download (only a valid_rows import with refused rows has)"
        )
    header, rows = refused.open_cells(vault, batch.refused_cells)
    content = refused.build_refused_xlsx(
        header, rows, refused.messages_by_row(list(batch.errors or []), ALREADY_ENROLLED)
    )
    if principal.institution_id != cohort.institution_id:  # type: ignore[attr-defined]
        async with unit_of_work(principal) as uow:
            await uow.audit(
                "roster.refused_rows.download",
                "import_batch",
                batch.id,
                after={"cohort_id": str(cohort_id), "rows": len(rows), "role": principal.role.value},
            )
    return content
