"""Key rotation: re-encrypt the personal data under the current data key, and recompute the
blind indexes under the current index key (docs/operations.md, section 5).

:func:`rotate_keys` walks the trainees in id order (keyset pagination), ``batch_size`` rows
at a time, each batch in its own transaction: the rows are locked, every ciphertext is
decrypted with whichever configured key wrote it (the current one or one of
``REGISTRY_DATA_KEY_PREVIOUS``) and, when it was not written under the current key,
encrypted again under it; with ``reindex`` the ID-number and phone blind indexes are
recomputed from the decrypted values. The changed rows of a batch are written by one
``UPDATE ... FROM unnest(...)``, never a statement per row. Then the enrolments' phones (given
at enrolment, with their own blind index) and the import batches' sealed refused-row cells get the same treatment.

A run can stop anywhere (each committed batch is done) and be started again: a row already
under the current key, with indexes already current, is left as it is, so a second run
finds nothing to do. ``check=True`` counts what a run would change and changes nothing.
One audit event records each run that changes data (counts only, never a value).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from registry.core.crypto import Vault
from registry.core.errors import ConfigurationError, Conflict, PermissionDenied, ValidationFailed
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.people.queries import ID_CONTEXT, PHONE_CONTEXT, id_index, phone_index
from registry.training.roster.refused import REFUSED_ROWS_CONTEXT

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
SEALED_BATCH_SIZE = 20
"""Import batches re-encrypted per statement (each sealed blob can be megabytes)."""
_HEAD = 6
"""Bytes of a ciphertext that name its key: version (2) and key id (4)."""


@dataclass(frozen=True)
class RotationScope:
    """Limit a run to these rows (tests; a partial rerun). None: every row of that table,
    except that enrolments default to the scoped trainees' enrolments when trainees are scoped."""

    trainee_ids: Collection[uuid.UUID] | None = None
    import_batch_ids: Collection[uuid.UUID] | None = None
    enrolment_ids: Collection[uuid.UUID] | None = None


@dataclass
class RotationReport:
    check: bool
    """Counted only; nothing was changed."""
    reindex: bool
    trainees: int = 0
    """Trainee rows looked at."""
    trainees_reencrypted: int = 0
    """Rows with a ciphertext (ID number or phone) not under the current data key: re-encrypted,
    or, with ``check``, still to re-encrypt."""
    trainees_reindexed: int = 0
    """With ``reindex``: rows whose blind indexes differed from the current index key's."""
    enrolments: int = 0
    """Enrolments with a phone given at enrolment, looked at."""
    enrolments_reencrypted: int = 0
    enrolments_reindexed: int = 0
    sealed_batches: int = 0
    """Import batches holding sealed refused-row cells."""
    sealed_reencrypted: int = 0
    """Of those, the ones not under the current data key (re-encrypted, or still to be)."""
    audit_event: bool = field(default=False)

    @property
    def nothing_to_do(self) -> bool:
        return not (
            self.trainees_reencrypted
            or self.trainees_reindexed
            or self.enrolments_reencrypted
            or self.enrolments_reindexed
            or self.sealed_reencrypted
        )

    @property
    def message(self) -> str:
        looked = (
            f"{self.trainees:,} trainees, {self.enrolments:,} enrolments with a phone and "
            f"{self.sealed_batches:,} import batches with refused rows looked at"
        )
        if self.nothing_to_do:
            what = "under the current data key" + (
                " and indexed with the current index key" if self.reindex else ""
            )
            return f"nothing to do: every row is {what} ({looked})"
        if self.check:
            lines = [
                f"{self.trainees_reencrypted:,} trainees and {self.sealed_reencrypted:,} import batches are "
                "still under an old data key",
                f"{self.enrolments_reencrypted:,} enrolments' phones are still under an old data key",
            ]
            if self.reindex:
                lines.append(f"{self.trainees_reindexed:,} trainees have blind indexes of another index key")
                lines.append(
                    f"{self.enrolments_reindexed:,} enrolments' phones have another index key's index"
                )
            lines.append(f"({looked}; nothing changed: run `registry rotate-keys` without --check)")
            return "\n".join(lines)
        lines = [
            f"re-encrypted {self.trainees_reencrypted:,} trainees and {self.sealed_reencrypted:,} import batches "
            "under the current data key",
            f"re-encrypted {self.enrolments_reencrypted:,} enrolments' phones under the current data key",
        ]
        if self.reindex:
            lines.append(f"re-indexed {self.trainees_reindexed:,} trainees with the current index key")
            lines.append(
                f"re-indexed {self.enrolments_reindexed:,} enrolments' phones with the current index key"
            )
        lines.append(f"({looked})")
        return "\n".join(lines)

    def counts(self) -> dict[str, Any]:
        return {
            "reindex": self.reindex,
            "trainees": self.trainees,
            "trainees_reencrypted": self.trainees_reencrypted,
            "trainees_reindexed": self.trainees_reindexed,
            "enrolments": self.enrolments,
            "enrolments_reencrypted": self.enrolments_reencrypted,
            "enrolments_reindexed": self.enrolments_reindexed,
            "sealed_batches": self.sealed_batches,
            "sealed_reencrypted": self.sealed_reencrypted,
        }


def _decrypt(vault: Vault, blob: bytes, context: str, what: str) -> str:
    try:
        return vault.decrypt(blob, context=context)
    except (ValueError, InvalidTag) as exc:
        # Never the value, never the row's personal data: which table, and what to do.
        raise ConfigurationError(
            f"a {what} cannot be decrypted with the configured data keys: put every key that "
            "wrote data in REGISTRY_DATA_KEY_PREVIOUS (comma-separated) and run again"
        ) from exc


def _scope_clause(ids: Collection[uuid.UUID] | None, args: list[Any]) -> str:
    if ids is None:
        return ""
    args.append(list(ids))
    return f" AND id = ANY(${len(args)}::uuid[])"


async def rotate_keys(
    principal: Principal,
    vault: Vault,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reindex: bool,
    check: bool = False,
    scope: RotationScope | None = None,
) -> RotationReport:
    """Re-encrypt every trainee's ciphertexts and every sealed import under ``vault``'s current
    data key, and with ``reindex`` recompute the blind indexes under its index key.

    ``check``: count what would change, change nothing. ``scope``: only these rows.
    PermissionDenied unless an administrator (or the operator's CLI) asks;
    ConfigurationError when a ciphertext was written under a key that is not configured
    (the batches before it are done; run again with the key configured)."""
    if not principal.is_admin:
        raise PermissionDenied("only an administrator rotates the keys")
    if not 1 <= batch_size <= 50_000:
        raise ValidationFailed("batch_size is between 1 and 50,000", code="bad_batch_size")
    scope = scope or RotationScope()
    report = RotationReport(check=check, reindex=reindex)

    last: uuid.UUID | None = None
    while True:
        last = await _trainee_batch(principal, vault, report, last, batch_size, scope.trainee_ids)
        if last is None:
            break
    last = None
    while True:
        last = await _enrolment_batch(principal, vault, report, last, batch_size, scope)
        if last is None:
            break
    last = None
    while True:
        last = await _sealed_batch(principal, vault, report, last, scope.import_batch_ids)
        if last is None:
            break

    if not check:
        async with unit_of_work(principal) as uow:
            await uow.audit("keys.rotate", "vault", "data_key", after=report.counts())
        report.audit_event = True
    log.info("rotate-keys: %s", report.message.replace("\n", "; "))
    return report


def _must_decrypt(report: RotationReport) -> bool:
    """Whether the values must be decrypted: to write them, or to compare their indexes."""
    return report.reindex or not report.check


async def _trainee_batch(
    principal: Principal,
    vault: Vault,
    report: RotationReport,
    after: uuid.UUID | None,
    limit: int,
    only: Collection[uuid.UUID] | None,
) -> uuid.UUID | None:
    """One batch of trainees after ``after`` in id order, in one transaction; returns the
    last id seen (None when there were no more rows)."""
    args: list[Any] = [after, limit]
    scoped = _scope_clause(only, args)
    # Changing id_index (a unique key) needs the key lock; otherwise leave enrolments free
    # to reference these rows while the batch runs.
    lock = "" if report.check else (" FOR UPDATE" if report.reindex else " FOR NO KEY UPDATE")
    # With check and without reindex only the key id of each ciphertext is needed.
    columns = (
        "id, id_index, id_cipher, phone_index, phone_cipher"
        if _must_decrypt(report)
        else f"id, substring(id_cipher from 1 for {_HEAD}) AS id_cipher, "
        f"substring(phone_cipher from 1 for {_HEAD}) AS phone_cipher"
    )
    sql = f"SELECT {columns} FROM trainee WHERE ($1::uuid IS NULL OR id > $1){scoped} ORDER BY id LIMIT $2{lock}"
    async with unit_of_work(principal) as uow:
        _, rows = await uow.conn.execute_query(sql, args)
        if not rows:
            return None
        changed: dict[str, list[Any]] = {
            name: [] for name in ("id", "id_cipher", "id_index", "phone_cipher", "phone_index")
        }
        for row in rows:
            id_blob, phone_blob = bytes(row["id_cipher"]), row["phone_cipher"]
            stale = vault.needs_reencryption(id_blob) or (
                phone_blob is not None and vault.needs_reencryption(bytes(phone_blob))
            )
            if not _must_decrypt(report):
                report.trainees_reencrypted += stale
                continue
            if not stale and not report.reindex:
                continue
            number = _decrypt(vault, id_blob, ID_CONTEXT, "trainee's ID number")
            phone = (
                _decrypt(vault, bytes(phone_blob), PHONE_CONTEXT, "trainee's phone") if phone_blob else None
            )
            new_id_index = id_index(vault, number) if report.reindex else row["id_index"]
            new_phone_index = (
                phone_index(vault, phone) if report.reindex and phone is not None else row["phone_index"]
            )
            moved = new_id_index != row["id_index"] or new_phone_index != row["phone_index"]
            report.trainees_reencrypted += stale
            report.trainees_reindexed += moved
            if not (stale or moved):
                continue
            changed["id"].append(row["id"])
            changed["id_cipher"].append(
                vault.encrypt(number, context=ID_CONTEXT) if vault.needs_reencryption(id_blob) else None
            )
            changed["id_index"].append(new_id_index if moved else None)
            changed["phone_cipher"].append(
                vault.encrypt(phone, context=PHONE_CONTEXT)
                if phone is not None and vault.needs_reencryption(bytes(phone_blob))
                else None
            )
            changed["phone_index"].append(new_phone_index if moved else None)
        report.trainees += len(rows)
        if changed["id"] and not report.check:
            await _update_trainees(uow.conn, changed)
        last: uuid.UUID = rows[-1]["id"]
    log.debug("rotate-keys: trainees up to %s, %d changed", last, len(changed["id"]))
    return last


async def _enrolment_batch(
    principal: Principal,
    vault: Vault,
    report: RotationReport,
    after: uuid.UUID | None,
    limit: int,
    scope: RotationScope,
) -> uuid.UUID | None:
    """One batch of enrolments with a phone given at enrolment, after ``after`` in id order,
    in one transaction: the phone re-encrypted (and with ``reindex`` re-indexed)."""
    args: list[Any] = [after, limit]
    scoped = _scope_clause(scope.enrolment_ids, args)
    if scope.enrolment_ids is None and scope.trainee_ids is not None:
        args.append(list(scope.trainee_ids))
        scoped = f" AND trainee_id = ANY(${len(args)}::uuid[])"
    lock = "" if report.check else " FOR NO KEY UPDATE"
    cipher = (
        "phone_cipher"
        if _must_decrypt(report)
        else f"substring(phone_cipher from 1 for {_HEAD}) AS phone_cipher"
    )
    sql = (
        f"SELECT id, phone_index, {cipher} FROM enrolment WHERE ($1::uuid IS NULL OR id > $1) "
        f"AND phone_cipher IS NOT NULL{scoped} ORDER BY id LIMIT $2{lock}"
    )
    async with unit_of_work(principal) as uow:
        _, rows = await uow.conn.execute_query(sql, args)
        if not rows:
            return None
        ids: list[uuid.UUID] = []
        ciphers: list[bytes | None] = []
        indexes: list[str | None] = []
        for row in rows:
            blob = bytes(row["phone_cipher"])
            stale = vault.needs_reencryption(blob)
            if not _must_decrypt(report):
                report.enrolments_reencrypted += stale
                continue
            if not stale and not report.reindex:
                continue
            phone = _decrypt(vault, blob, PHONE_CONTEXT, "phone given at enrolment")
            new_index = phone_index(vault, phone) if report.reindex else row["phone_index"]
            moved = new_index != row["phone_index"]
            report.enrolments_reencrypted += stale
            report.enrolments_reindexed += moved
            if stale or moved:
                ids.append(row["id"])
                ciphers.append(vault.encrypt(phone, context=PHONE_CONTEXT) if stale else None)
                indexes.append(new_index if moved else None)
        report.enrolments += len(rows)
        if ids and not report.check:
            await uow.conn.execute_query(
                "UPDATE enrolment AS e SET phone_cipher = COALESCE(u.phone_cipher, e.phone_cipher), "
                "phone_index = COALESCE(u.phone_index, e.phone_index) "
                "FROM unnest($1::uuid[], $2::bytea[], $3::text[]) AS u(id, phone_cipher, phone_index) "
                "WHERE e.id = u.id",
                [ids, ciphers, indexes],
            )
        last: uuid.UUID = rows[-1]["id"]
    return last


async def _update_trainees(conn: BaseDBAsyncClient, changed: dict[str, list[Any]]) -> None:
    """One statement for the batch; a NULL in ``u`` means "unchanged"."""
    try:
        await conn.execute_query(
            "UPDATE trainee AS t SET "
            "id_cipher = COALESCE(u.id_cipher, t.id_cipher), "
            "id_index = COALESCE(u.id_index, t.id_index), "
            "phone_cipher = COALESCE(u.phone_cipher, t.phone_cipher), "
            "phone_index = COALESCE(u.phone_index, t.phone_index) "
            "FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::bytea[], $5::text[]) "
            "AS u(id, id_cipher, id_index, phone_cipher, phone_index) "
            "WHERE t.id = u.id",
            [changed[name] for name in ("id", "id_cipher", "id_index", "phone_cipher", "phone_index")],
        )
    except IntegrityError as exc:
        # The same person registered again under the new index key before this row was
        # re-indexed (writes went on during a re-index): two rows, one ID number.
        raise Conflict(
            "a person is registered twice: once under the new index key while the re-index ran, "
            "once in a row not yet re-indexed; stop the API and the worker during a re-index, and "
            "merge the two trainee rows before running it again",
            code="duplicate_person",
        ) from exc


async def _sealed_batch(
    principal: Principal,
    vault: Vault,
    report: RotationReport,
    after: uuid.UUID | None,
    only: Collection[uuid.UUID] | None,
) -> uuid.UUID | None:
    """Up to ``SEALED_BATCH_SIZE`` import batches with sealed cells after ``after``: only the
    key id of each blob is read first, the blobs themselves only when they move."""
    args: list[Any] = [after, SEALED_BATCH_SIZE]
    scoped = _scope_clause(only, args)
    async with unit_of_work(principal) as uow:
        _, rows = await uow.conn.execute_query(
            f"SELECT id, substring(refused_cells from 1 for {_HEAD}) AS head FROM import_batch "
            f"WHERE ($1::uuid IS NULL OR id > $1) AND refused_cells IS NOT NULL{scoped} ORDER BY id LIMIT $2"
            + ("" if report.check else " FOR NO KEY UPDATE"),
            args,
        )
        if not rows:
            return None
        report.sealed_batches += len(rows)
        stale = [row["id"] for row in rows if vault.needs_reencryption(bytes(row["head"]))]
        report.sealed_reencrypted += len(stale)
        if stale and not report.check:
            _, blobs = await uow.conn.execute_query(
                "SELECT id, refused_cells FROM import_batch WHERE id = ANY($1::uuid[])", [stale]
            )
            ids, sealed = [], []
            for blob in blobs:
                plain = _decrypt(
                    vault, bytes(blob["refused_cells"]), REFUSED_ROWS_CONTEXT, "roster import's refused rows"
                )
                ids.append(blob["id"])
                sealed.append(vault.encrypt(plain, context=REFUSED_ROWS_CONTEXT))
            await uow.conn.execute_query(
                "UPDATE import_batch AS b SET refused_cells = u.cells "
                "FROM unnest($1::uuid[], $2::bytea[]) AS u(id, cells) WHERE b.id = u.id",
                [ids, sealed],
            )
        last: uuid.UUID = rows[-1]["id"]
    return last
