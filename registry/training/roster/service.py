"""Roster files: bulk enrolment of a cohort from the CSV or XLSX an institution keeps.

One file, one use case, one transaction (:func:`import_roster`):

1. bounds first: the file's size (``file_too_large``) and its rows (``too_many_rows``);
2. the cohort must be visible to the caller (else 404, before anything is said about the
   file); a file whose SHA-256 was already imported into this cohort changes nothing and
   the earlier report comes back with ``unchanged=True``;
3. the rows are parsed by :mod:`registry.training.roster.rules` (row-level errors with row number
   and column), then checked against the database: a person registered under the same ID
   number with another name is refused (column 姓名); a person already enrolled in the
   cohort is skipped and reported (``already_enrolled``), so a corrected file can be sent
   again after a partial import; a row's 学时 and 结果 must fit the cohort, by the same
   rules as recording attendance on an enrolment (:func:`registry.training.rules.attendance_errors`,
   :func:`registry.training.rules.record_refusal`): at most 1.5 x the planned hours, one
   decimal place, and no attendance, 合格 or 不合格 before the cohort has started;
4. ``all_or_nothing`` (the default) writes nothing when a row is refused;
   ``valid_rows`` imports the valid rows, and the refused rows can be downloaded as an
   XLSX with an error column (:func:`refused_rows_xlsx`);
5. the cohort's capacity counts the enrolments it has plus the new ones (``capacity_exceeded``);
6. writes are set-based: people through :func:`registry.people.service.upsert_people` in
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
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tortoise.backends.base.client import BaseDBAsyncClient

from registry.core.crypto import Vault
from registry.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import Principal
from registry.core.tabular import file_kind, iter_table
from registry.core.tenancy import visible_cohorts
from registry.core.uow import UnitOfWork, unit_of_work
from registry.enums import CohortStatus, EnrolmentOutcome, ImportStatus, Role
from registry.models.training import Cohort, ImportBatch
from registry.people.service import Person, id_index, upsert_people
from registry.reference.queries import division_lookup
from registry.training import rules as cohort_rules
from registry.training.queries import NewEnrolment, insert_enrolments
from registry.training.roster import rules as roster
from registry.training.roster.rules import RosterParse, RosterRow, parse_roster
from registry.training.service import check_capacity, cohort_for_enrolment

Mode = Literal["all_or_nothing", "valid_rows"]
MODES: tuple[str, ...] = ("all_or_nothing", "valid_rows")

MAX_BYTES = 20 * 1024 * 1024
"""Largest roster file accepted (the API's request body limit is the same)."""
MAX_ROWS = 200_000
"""Most data rows in one file (blank, title and footer rows are not counted)."""
PEOPLE_CHUNK = 5000
"""People written per ``upsert_people`` statement."""
LOOKUP_CHUNK = 20_000
"""ID-number blind indexes looked up per query."""

REFUSED_ROWS_CONTEXT = "roster_refused_rows"
ALREADY_ENROLLED = "already_enrolled"
IDENTITY_MISMATCH = "identity_mismatch"
DUPLICATE_IN_FILE = "duplicate_in_file"
ERROR_COLUMN = "错误 (error)"


@dataclass
class ImportReport:
    batch_id: uuid.UUID | None
    cohort_id: uuid.UUID
    file_name: str
    sha256: str
    mode: str
    status: str
    """``imported``, ``partial`` (valid_rows with refused rows) or ``refused`` (nothing written)."""
    rows_read: int
    accepted: int
    """Rows enrolled by this import."""
    refused: int
    """Rows refused (each has at least one entry in ``errors``)."""
    already_enrolled: int
    duplicate_in_file: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    """Every refused row's errors: ``row``, ``column``, ``field``, ``code``, ``message``."""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """The rows skipped because the person is already enrolled in the cohort."""
    notes: list[str] = field(default_factory=list)
    unchanged: bool = False
    """The same file (SHA-256) was imported into this cohort before; nothing changed."""
    refused_rows_file: bool = False
    """The refused rows can be downloaded as XLSX (:func:`refused_rows_xlsx`)."""
    created_at: dt.datetime | None = None

    @property
    def message(self) -> str:
        if self.unchanged:
            when = f" on {self.created_at:%Y-%m-%d %H:%M} UTC" if self.created_at else ""
            return f"this file was already imported into this cohort{when}; nothing changed"
        if self.status == ImportStatus.REFUSED.value:
            if self.mode == "all_or_nothing" and self.refused:
                return (
                    f"nothing imported: {self.refused} of {self.rows_read} rows are refused; fix them and "
                    "send the file again, or import the valid rows with mode=valid_rows"
                )
            return f"nothing imported: all {self.refused} rows are refused"
        text = f"{self.accepted} of {self.rows_read} rows imported"
        if self.already_enrolled:
            text += f", {self.already_enrolled} already enrolled (skipped)"
        if self.refused:
            text += f", {self.refused} refused"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": str(self.batch_id) if self.batch_id else None,
            "cohort_id": str(self.cohort_id),
            "file_name": self.file_name,
            "sha256": self.sha256,
            "mode": self.mode,
            "status": self.status,
            "message": self.message,
            "unchanged": self.unchanged,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "refused": self.refused,
            "already_enrolled": self.already_enrolled,
            "duplicate_in_file": self.duplicate_in_file,
            "errors": self.errors,
            "skipped": self.skipped,
            "notes": self.notes,
            "refused_rows_file": self.refused_rows_file,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


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


def _cells_of(data: bytes, file_name: str, wanted: set[int]) -> dict[int, list[Any]]:
    """A second pass over the file for the cells of a few rows (only when rows are refused
    after parsing, in ``valid_rows`` mode)."""
    found: dict[int, list[Any]] = {}
    if not wanted:
        return found
    for row_number, cells in iter_table(data, file_name):
        if row_number in wanted:
            found[row_number] = cells
            if len(found) == len(wanted):
                break
    return found


# --- the use case ----------------------------------------------------------------------


async def _visible_cohort(principal: Principal, cohort_id: uuid.UUID) -> Cohort:
    cohort = await visible_cohorts(principal).get_or_none(id=cohort_id)
    if cohort is None:
        raise NotFound("no such cohort")
    return cohort


async def _earlier_import(
    cohort_id: uuid.UUID, sha256: str, conn: BaseDBAsyncClient | None = None
) -> ImportBatch | None:
    query = ImportBatch.filter(
        cohort_id=cohort_id, sha256=sha256, status__in=[ImportStatus.IMPORTED, ImportStatus.PARTIAL]
    ).order_by("-created_at")
    if conn is not None:
        query = query.using_db(conn)
    return await query.first()


async def _registered(
    conn: BaseDBAsyncClient, cohort_id: uuid.UUID, indexes: Sequence[str]
) -> dict[str, tuple[uuid.UUID, str, bool]]:
    """``{id_index: (trainee id, registered name, already enrolled in the cohort)}`` for the
    people already registered, in one query per ``LOOKUP_CHUNK``."""
    found: dict[str, tuple[uuid.UUID, str, bool]] = {}
    for start in range(0, len(indexes), LOOKUP_CHUNK):
        _, rows = await conn.execute_query(
            "SELECT t.id, t.id_index, t.name, e.id IS NOT NULL AS enrolled FROM trainee t "
            "LEFT JOIN enrolment e ON e.trainee_id = t.id AND e.cohort_id = $2 "
            "WHERE t.id_index = ANY($1::text[])",
            [list(indexes[start : start + LOOKUP_CHUNK]), cohort_id],
        )
        found.update({r["id_index"]: (r["id"], r["name"], bool(r["enrolled"])) for r in rows})
    return found


def _json_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _seal_cells(vault: Vault, header: list[Any], rows: dict[int, list[Any]]) -> bytes:
    payload = json.dumps(
        {
            "header": [_json_cell(c) for c in header],
            "rows": [[number, [_json_cell(c) for c in cells]] for number, cells in sorted(rows.items())],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return vault.encrypt(payload, context=REFUSED_ROWS_CONTEXT)


def record_errors(
    row: RosterRow, status: CohortStatus, planned_hours: int, headers: dict[str, str]
) -> list[FieldError]:
    """A row's 学时 and 结果 against the cohort, by the rules that recording attendance on an
    enrolment applies (:mod:`registry.training.rules`), with the row and the column named.
    ``status`` is the cohort's effective status (after :func:`cohort_for_enrolment`)."""
    hours_column, outcome_column = headers.get(roster.ATTENDED_HOURS), headers.get(roster.OUTCOME)
    found: list[FieldError] = []
    if row.attended_hours is not None:
        found += [
            replace(e, field=roster.ATTENDED_HOURS, row=row.row_number, column=hours_column)
            for e in cohort_rules.attendance_errors(row.attended_hours, planned_hours)
        ]
    hours = row.attended_hours if row.attended_hours is not None else Decimal(0)
    outcome = (row.outcome or EnrolmentOutcome.IN_PROGRESS).value
    refusal = cohort_rules.record_refusal(status, attended_hours=hours, outcome=outcome)
    if refusal is None:
        return found
    # Name the cell(s) the refusal is about: each one checked on its own by the same rule.
    blamed: list[tuple[str, str | None]] = []
    if (
        cohort_rules.record_refusal(status, attended_hours=hours, outcome=EnrolmentOutcome.IN_PROGRESS)
        is not None
    ):
        blamed.append((roster.ATTENDED_HOURS, hours_column))
    if cohort_rules.record_refusal(status, attended_hours=Decimal(0), outcome=outcome) is not None:
        blamed.append((roster.OUTCOME, outcome_column))
    blamed = blamed or [(roster.OUTCOME, outcome_column)]
    found += [
        FieldError(field=key, code=refusal.code, message=refusal.message, row=row.row_number, column=column)
        for key, column in blamed
    ]
    return found


def _sort_key(error: dict[str, Any]) -> tuple[int, str]:
    return (int(error.get("row") or 0), str(error.get("column") or ""))


def _report_of(batch: ImportBatch, *, unchanged: bool, notes: list[str] | None = None) -> ImportReport:
    stored: list[dict[str, Any]] = list(batch.errors or [])
    errors = [e for e in stored if e.get("code") != ALREADY_ENROLLED]
    skipped = [e for e in stored if e.get("code") == ALREADY_ENROLLED]
    return ImportReport(
        batch_id=batch.id,
        cohort_id=batch.cohort_id,  # type: ignore[attr-defined]
        file_name=batch.file_name,
        sha256=batch.sha256,
        mode=batch.mode,
        status=str(batch.status),
        rows_read=batch.rows_read,
        accepted=batch.accepted,
        refused=batch.refused,
        already_enrolled=batch.already_enrolled,
        duplicate_in_file=sum(1 for e in errors if e.get("code") == DUPLICATE_IN_FILE),
        errors=errors,
        skipped=skipped,
        notes=notes or [],
        unchanged=unchanged,
        refused_rows_file=batch.refused_cells is not None,
        created_at=batch.created_at,
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
    if mode not in MODES:
        raise ValidationFailed(f"mode must be one of {', '.join(MODES)}", code="bad_mode")
    file_name = (file_name or "roster").strip()[:255] or "roster"
    file_kind(file_name)
    data = read_bounded(source, max_bytes)
    digest = hashlib.sha256(data).hexdigest()

    # Tenancy first: a cohort the caller may not see is 404, whatever the file holds.
    await _visible_cohort(principal, cohort_id)
    if principal.role not in (Role.INSTITUTION, Role.ADMIN):
        raise PermissionDenied("only the cohort's institution enrols people from a roster")
    earlier = await _earlier_import(cohort_id, digest)
    if earlier is not None:
        return _report_of(earlier, unchanged=True)

    divisions = await division_lookup()
    parsed = parse_file(
        data, file_name, divisions, max_rows=max_rows, keep_refused_cells=mode == "valid_rows", today=today
    )
    if parsed.rows_read == 0:
        raise ValidationFailed("the roster has a header row but no rows of people", code="empty_roster")

    async with unit_of_work(principal) as uow:
        conn = uow.conn
        # Plans cached on a pooled connection while a table was small (a fresh registry) would
        # keep scanning it whole; plan this transaction's statements for the values they get.
        await conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
        cohort = await cohort_for_enrolment(uow, principal, cohort_id)
        earlier = await _earlier_import(cohort_id, digest, conn)  # again, under the cohort's lock
        if earlier is not None:
            return _report_of(earlier, unchanged=True)

        rows = parsed.rows
        indexes = [id_index(vault, row.id.number) for row in rows]
        known = await _registered(conn, cohort.id, indexes)

        errors: list[FieldError] = list(parsed.errors)
        skipped: list[FieldError] = []
        late_refused: set[int] = set()
        to_import: list[RosterRow] = []
        name_column = parsed.headers.get(roster.NAME)
        id_column = parsed.headers.get(roster.ID_NUMBER)
        status_now = CohortStatus(cohort.status)
        for row, index in zip(rows, indexes, strict=True):
            row_errors = record_errors(row, status_now, cohort.planned_hours, parsed.headers)
            registered = known.get(index)
            if registered is not None and registered[1] != row.name:
                row_errors.append(
                    FieldError(
                        field=roster.NAME,
                        code=IDENTITY_MISMATCH,
                        message="this ID number is registered under another name: check the name and "
                        "the ID number against the person's identity card",
                        row=row.row_number,
                        column=name_column,
                    )
                )
            if row_errors:
                errors.extend(row_errors)
                late_refused.add(row.row_number)
                continue
            if registered is not None and registered[2]:
                skipped.append(
                    FieldError(
                        field=roster.ID_NUMBER,
                        code=ALREADY_ENROLLED,
                        message="already enrolled in this cohort; skipped",
                        row=row.row_number,
                        column=id_column,
                    )
                )
                continue
            to_import.append(row)

        error_dicts = sorted((e.as_dict() for e in errors), key=_sort_key)
        skipped_dicts = [e.as_dict() for e in skipped]
        refused = len({e.row for e in errors if e.row is not None})
        duplicates = sum(1 for e in errors if e.code == DUPLICATE_IN_FILE)

        if refused and mode == "all_or_nothing":
            status = ImportStatus.REFUSED
            to_import = []
        elif refused and not to_import:
            status = ImportStatus.REFUSED
        elif refused:
            status = ImportStatus.PARTIAL
        else:
            status = ImportStatus.IMPORTED

        if status is not ImportStatus.REFUSED:
            await check_capacity(conn, cohort, len(to_import))

        stored = error_dicts + skipped_dicts
        sealed: bytes | None = None
        if refused and mode == "valid_rows":
            cells = dict(parsed.refused_cells)
            wanted = set(late_refused)
            if parsed.header_row is not None:
                wanted.add(parsed.header_row)
            cells.update(_cells_of(data, file_name, wanted))
            header = cells.pop(parsed.header_row, []) if parsed.header_row is not None else []
            sealed = _seal_cells(vault, header, cells)

        batch = await ImportBatch.create(
            using_db=conn,
            cohort_id=cohort.id,
            actor=principal.actor,
            file_name=file_name,
            sha256=digest,
            mode=mode,
            rows_read=parsed.rows_read,
            accepted=len(to_import),
            refused=refused,
            already_enrolled=len(skipped),
            errors=stored,
            refused_cells=sealed,
            status=status,
        )

        accepted = 0
        if to_import:
            accepted = await _write(uow, vault, cohort.id, batch.id, to_import)
            if accepted != len(to_import):  # only if another path enrolled someone meanwhile
                batch.accepted = accepted
                await batch.save(using_db=conn, update_fields=["accepted"])

        report = ImportReport(
            batch_id=batch.id,
            cohort_id=cohort.id,
            file_name=file_name,
            sha256=digest,
            mode=mode,
            status=status.value,
            rows_read=parsed.rows_read,
            accepted=accepted,
            refused=refused,
            already_enrolled=len(skipped),
            duplicate_in_file=duplicates,
            errors=error_dicts,
            skipped=skipped_dicts,
            notes=parsed.notes,
            refused_rows_file=bool(refused and mode == "valid_rows"),
            created_at=batch.created_at,
        )
        await uow.audit(
            "roster.import",
            "import_batch",
            batch.id,
            after={
                "cohort_id": str(cohort.id),
                "file_name": file_name,
                "sha256": digest,
                "mode": mode,
                "status": status.value,
                "rows_read": report.rows_read,
                "accepted": report.accepted,
                "refused": report.refused,
                "already_enrolled": report.already_enrolled,
            },
        )
    return report


async def _write(
    uow: UnitOfWork, vault: Vault, cohort_id: uuid.UUID, batch_id: uuid.UUID, rows: list[RosterRow]
) -> int:
    """People in chunks of ``PEOPLE_CHUNK`` (one statement each), then the enrolments."""
    trainee_ids: dict[str, uuid.UUID] = {}
    for start in range(0, len(rows), PEOPLE_CHUNK):
        people = [
            Person(
                id=row.id,
                name=row.name,
                phone=row.phone,
                household_division=row.household_division,
                groups=tuple(group.value for group in row.groups),
            )
            for row in rows[start : start + PEOPLE_CHUNK]
        ]
        trainee_ids.update(await upsert_people(uow.conn, vault, people))
    enrolments = [
        NewEnrolment(
            trainee_id=trainee_ids[id_index(vault, row.id.number)],
            attended_hours=row.attended_hours,
            outcome=row.outcome.value if row.outcome else None,
            groups=tuple(group.value for group in row.groups),
        )
        for row in rows
    ]
    return await insert_enrolments(uow.conn, cohort_id, enrolments, import_batch_id=batch_id)


# --- the refused rows, as XLSX ---------------------------------------------------------


async def import_report(principal: Principal, cohort_id: uuid.UUID, batch_id: uuid.UUID) -> ImportReport:
    """The report of an earlier import of a cohort the caller may see."""
    await _visible_cohort(principal, cohort_id)
    batch = await ImportBatch.get_or_none(id=batch_id, cohort_id=cohort_id)
    if batch is None:
        raise NotFound("no such import")
    return _report_of(batch, unchanged=False)


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
    payload = json.loads(vault.decrypt(batch.refused_cells, context=REFUSED_ROWS_CONTEXT))
    by_row: dict[int, list[str]] = {}
    for error in batch.errors or []:
        if error.get("row") is None or error.get("code") == ALREADY_ENROLLED:
            continue
        where = f"{error['column']}: " if error.get("column") else ""
        by_row.setdefault(int(error["row"]), []).append(where + str(error["message"]))
    content = build_refused_xlsx(payload["header"], [(int(n), c) for n, c in payload["rows"]], by_row)
    if principal.institution_id != cohort.institution_id:  # type: ignore[attr-defined]
        async with unit_of_work(principal) as uow:
            await uow.audit(
                "roster.refused_rows.download",
                "import_batch",
                batch.id,
                after={
                    "cohort_id": str(cohort_id),
                    "rows": len(payload["rows"]),
                    "role": principal.role.value,
                },
            )
    return content


def build_refused_xlsx(
    header: list[Any], rows: list[tuple[int, list[Any]]], messages: dict[int, list[str]]
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("refused")
    width = max([len(header), *(len(cells) for _, cells in rows)], default=0)

    def cell(value: Any) -> WriteOnlyCell:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        out = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            out.data_type = "s"  # text, never a formula; keeps ID numbers as text
        return out

    sheet.append(
        [
            cell("原行号 (row)"),
            *(cell(h) for h in header),
            *([None] * (width - len(header))),
            cell(ERROR_COLUMN),
        ]
    )
    for number, cells in rows:
        padded = list(cells) + [None] * (width - len(cells))
        sheet.append([cell(number), *(cell(c) for c in padded), cell("; ".join(messages.get(number, [])))])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
