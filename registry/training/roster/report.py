"""What a roster import reports: counts, every refused row's errors, the skipped rows."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from registry.enums import ImportStatus
from registry.models.training import ImportBatch
from registry.training.roster.rules import ALREADY_ENROLLED, DUPLICATE_IN_FILE


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


def sort_key(error: dict[str, Any]) -> tuple[int, str]:
    return (int(error.get("row") or 0), str(error.get("column") or ""))


def report_of(batch: ImportBatch, *, unchanged: bool, notes: list[str] | None = None) -> ImportReport:
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
