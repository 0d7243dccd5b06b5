"""Loading targets: the shipped city-wide targets (``registry/catalogue/targets.yaml``, by
``registry load-reference``) and the bureau's split by county (``registry load-targets FILE``).

- :func:`load_catalogue_targets`: upserts the catalogue's rows (idempotent: a second run
  changes nothing); a row the bureau loaded from a file is never overwritten.
- :func:`load_targets_file`: a CSV or XLSX of year (or ``--year``), division, metric,
  value. Every bad row is reported at once (row and column named: an unknown metric or
  division, a negative value, a repeated row...) and then nothing is loaded. Versioned by
  year: for every year the file names, it replaces the annual targets loaded from files
  for that year (a row it no longer names is removed); the catalogue's city-wide rows stay
  unless the file names the city (``全市``) for that metric.
- :func:`list_targets`: the year's targets for ``GET /targets``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tortoise import connections

from registry import catalogue
from registry.core.errors import ConfigurationError, FieldError, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.core.tabular import iter_table
from registry.core.tenancy import bureau_scope
from registry.core.uow import unit_of_work
from registry.progress import queries, rules
from registry.progress.queries import TargetValue

TARGETS_FILE = catalogue.CATALOGUE_DIR / "targets.yaml"


@dataclass(frozen=True)
class CatalogueTargetsReport:
    targets: int
    inserted: int
    updated: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    @property
    def summary(self) -> str:
        if not self.changed:
            return f"{self.targets} targets: nothing changed"
        return f"{self.targets} targets ({self.inserted} new, {self.updated} updated)"


@dataclass(frozen=True)
class TargetsFileReport:
    file_name: str
    sha256: str
    years: list[int]
    rows: int
    added: int
    """Targets (year, division, metric) the files had not given before."""
    changed: int
    """Targets given before with another value."""
    removed: int
    """Targets of the years given before and no longer in the file."""
    unchanged: bool


def read_catalogue_targets(path: Path = TARGETS_FILE) -> list[TargetValue]:
    """The shipped targets, one row per year; a malformed entry is a configuration error."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: list[TargetValue] = []
    seen: set[tuple[int, str, int | None]] = set()
    for index, entry in enumerate(document.get("targets") or []):
        where = f"{path.name}: targets[{index}]"
        metric, value, source = (
            entry.get("metric"),
            entry.get("value"),
            str(entry.get("source") or "").strip(),
        )
        start = entry.get("cumulative_from")
        if metric not in rules.METRICS:
            raise ConfigurationError(f"{where}: unknown metric {metric!r}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"{where}: the value is a whole number >= 0")
        if not source:
            raise ConfigurationError(f"{where}: every target quotes its source (or says assumed)")
        for year in entry.get("years") or []:
            if not isinstance(year, int) or not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
                raise ConfigurationError(f"{where}: year {year!r} out of range")
            if start is not None and not (isinstance(start, int) and start < year):
                raise ConfigurationError(f"{where}: cumulative_from is a year before {year}")
            key = (year, str(metric), start)
            if key in seen:
                raise ConfigurationError(f"{where}: {metric} {year} is given twice")
            seen.add(key)
            out.append(TargetValue(year, str(metric), None, start, value, source))
    return out


async def load_catalogue_targets(principal: Principal) -> CatalogueTargetsReport:
    rows = await asyncio.to_thread(read_catalogue_targets)
    async with unit_of_work(principal) as uow:
        await queries.lock_targets(uow.conn)
        inserted, updated = await queries.upsert_targets(
            uow.conn, rows, origin="catalogue", actor=principal.actor, over_files=False
        )
        report = CatalogueTargetsReport(len(rows), inserted, updated)
        if report.changed:
            await uow.audit(
                "targets.load_catalogue",
                "target",
                TARGETS_FILE.name,
                after={"targets": len(rows), "inserted": inserted, "updated": updated},
            )
    return report


def _read_file(source: Path | bytes, file_name: str) -> tuple[list[tuple[int, list[Any]]], str]:
    data = source.read_bytes() if isinstance(source, Path) else source
    return list(iter_table(data, file_name)), hashlib.sha256(data).hexdigest()


async def load_targets_file(
    principal: Principal,
    source: Path | bytes,
    file_name: str,
    *,
    year: int | None = None,
    source_note: str = "",
) -> TargetsFileReport:
    """Load the bureau's targets file (see the module's docstring): all or nothing."""
    if year is not None and not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        raise ValidationFailed(
            f"year {year} is out of range",
            errors=[
                FieldError("year", "year_out_of_range", f"the year is {rules.MIN_YEAR}..{rules.MAX_YEAR}")
            ],
        )
    table, sha256 = await asyncio.to_thread(_read_file, source, file_name)
    async with unit_of_work(principal) as uow:
        await queries.lock_targets(uow.conn)
        parsed = rules.parse_target_rows(
            table, divisions=await queries.division_lookup(uow.conn), default_year=year
        )
        if parsed.header is None:
            raise ValidationFailed(
                f"{file_name}: no header row names the division, metric and value columns",
                code="missing_columns",
                errors=[
                    FieldError(
                        "file",
                        "missing_columns",
                        "a header row: division (县区), metric (指标), value (目标); year (年度)",
                    )
                ],
            )
        if parsed.errors:
            raise ValidationFailed(
                f"{file_name}: {len(parsed.errors)} problem(s) in the file; nothing was loaded",
                errors=sorted(parsed.errors, key=lambda e: (e.row or 0, e.field)),
            )
        if not parsed.rows:
            raise ValidationFailed(
                f"{file_name}: the file holds no targets",
                code="empty_file",
                errors=[FieldError("file", "empty_file", "the file holds no targets")],
            )
        years = sorted({r.year for r in parsed.rows})
        before = {(y, d, m): v for y, d, m, v in await queries.file_targets(uow.conn, years)}
        after = {(r.year, r.division_code, r.metric): r.value for r in parsed.rows}
        added = len(after.keys() - before.keys())
        removed = len(before.keys() - after.keys())
        changed = sum(1 for k in after.keys() & before.keys() if after[k] != before[k])
        if before == after:
            return TargetsFileReport(file_name, sha256, years, len(after), 0, 0, 0, unchanged=True)
        note = source_note.strip() or f"{file_name} (sha256 {sha256[:12]})"
        await queries.delete_file_targets(uow.conn, years)
        await queries.upsert_targets(
            uow.conn,
            [TargetValue(r.year, r.metric, r.division_code, None, r.value, note) for r in parsed.rows],
            origin="file",
            actor=principal.actor,
            over_files=True,
        )
        # A city-wide row of the catalogue the file no longer overrides comes back.
        shipped = [t for t in await asyncio.to_thread(read_catalogue_targets) if t.year in years]
        await queries.upsert_targets(
            uow.conn, shipped, origin="catalogue", actor=principal.actor, over_files=False
        )
        report = TargetsFileReport(
            file_name, sha256, years, len(after), added, changed, removed, unchanged=False
        )
        await uow.audit(
            "targets.load_file",
            "target",
            ",".join(map(str, years)),
            after={
                "file_name": file_name,
                "file_sha256": sha256,
                "years": years,
                "rows": len(parsed.rows),
                "source": note,
            },
        )
    return report


@dataclass(frozen=True)
class TargetItem:
    year: int
    metric: str
    division_code: str | None
    division_name: str | None
    cumulative_from: int | None
    value: int
    source: str
    origin: str


async def list_targets(principal: Principal, year: int) -> list[TargetItem]:
    """The year's targets (and the cumulative ones running through it): auditors and
    admins; a county auditor sees the city's and its own division's."""
    from registry.progress.service import check_year

    check_year(year)
    scope = bureau_scope(principal)
    if scope is None:
        raise NotFound("not found")
    division = scope.division_code
    rows = await queries.targets_of(connections.get("default"), year=year, division=division)
    return [
        TargetItem(
            year=int(r["year"]),
            metric=str(r["metric"]),
            division_code=r["division_id"],
            division_name=r["division_name"],
            cumulative_from=r["cumulative_from"],
            value=int(r["value"]),
            source=str(r["source"]),
            origin=str(r["origin"]),
        )
        for r in rows
    ]
