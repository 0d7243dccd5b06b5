"""The shipped catalogue files (registry/catalogue/): the 2022 classification, Luoyang's
divisions and the reference priority list, read into plain records (no database)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from registry import catalogue
from registry.core.errors import ConfigurationError
from registry.core.tabular import iter_table
from registry.enums import DivisionKind
from registry.reference.rules import PriorityRow, parse_priority_rows

EDITION = "2022"
REFERENCE_LIST_NAME = "洛阳市重点工种参考目录（2025，待人社局公布目录替换）"
REFERENCE_LIST_EFFECTIVE_FROM = dt.date(2025, 1, 1)
REFERENCE_LIST_CODE_PREFIX = "reference-"
"""The shipped selection's code is ``reference-<effective_from>`` (``reference-2025-01-01``)."""
REFERENCE_LIST_SOURCE_NOTE = (
    "Reference selection shipped with the registry (registry/catalogue/priority_trades_reference.csv): "
    "158 occupations of the 2022 classification chosen for the sectors the city plan names. "
    "Not published by the bureau: replace it with the bureau's published list (registry priority-list load) "
    "or have the bureau confirm it (registry priority-list confirm reference-2025-01-01 --document ...)."
)


@dataclass(frozen=True)
class OccupationRecord:
    code: str
    name: str
    level: int
    parent_code: str | None
    is_digital: bool
    is_green: bool
    definition: str


@dataclass(frozen=True)
class DivisionRecord:
    code: str
    name: str
    kind: DivisionKind
    is_administrative: bool


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_occupations(path: Path = catalogue.OCCUPATIONS_FILE) -> list[OccupationRecord]:
    """The classification, one record per code. Where a code appears at two levels (a 小类
    whose single occupation shares its code), the occupation (the deeper level) wins."""
    raw = _read_csv(path)
    by_code: dict[str, dict[str, str]] = {}
    for row in raw:
        code = row["code"].strip()
        kept = by_code.get(code)
        if kept is None or int(row["level"]) > int(kept["level"]):
            by_code[code] = row
    # The nearest enclosing group present in the file: 小类 X-XX-XX-00, 中类 X-XX-00-00, 大类 X-00-00-00.
    records: list[OccupationRecord] = []
    for code, row in by_code.items():
        level = int(row["level"])
        parent: str | None = None
        candidates = [
            f"{row['minor_code']}-00" if row["minor_code"] else "",
            f"{row['middle_code']}-00-00" if row["middle_code"] else "",
            f"{row['major_code']}-00-00-00" if row["major_code"] else "",
        ]
        for candidate in candidates:
            found = by_code.get(candidate)
            if candidate and candidate != code and found is not None and int(found["level"]) < level:
                parent = candidate
                break
        records.append(
            OccupationRecord(
                code=code,
                name=row["name"].strip(),
                level=level,
                parent_code=parent,
                is_digital=row["digital_S"].strip() == "1",
                is_green=row["green_L"].strip() == "1",
                definition=row["definition"].strip(),
            )
        )
    records.sort(key=lambda record: record.code)
    return records


def division_kind(code: str, name: str) -> DivisionKind:
    """71-79 in the county part of a code are development zones the statistics office numbers
    (410371, the high-tech zone); otherwise a 县 is a county and a 区 a district."""
    if code[4:6] >= "71":
        return DivisionKind.STATISTICS
    if name.endswith("县"):
        return DivisionKind.COUNTY
    if name.endswith("区"):
        return DivisionKind.DISTRICT
    raise ConfigurationError(f"division {code} {name}: cannot tell district from county")


def read_divisions(path: Path = catalogue.DIVISIONS_FILE) -> list[DivisionRecord]:
    records = []
    for row in _read_csv(path):
        code, name = row["code"].strip(), row["name"].strip()
        kind = division_kind(code, name)
        records.append(
            DivisionRecord(
                code=code, name=name, kind=kind, is_administrative=kind is not DivisionKind.STATISTICS
            )
        )
    return records


@dataclass(frozen=True)
class DivisionAliasRecord:
    alias: str
    code: str
    kind: str
    note: str


ALIAS_KINDS = ("historic", "short")


def read_division_aliases(
    path: Path = catalogue.DIVISION_ALIASES_FILE, divisions: list[DivisionRecord] | None = None
) -> list[DivisionAliasRecord]:
    """The aliases file; every alias names a division of the catalogue and is not itself a
    division's name or code (ConfigurationError otherwise)."""
    divisions = read_divisions() if divisions is None else divisions
    own = {d.code for d in divisions} | {d.name for d in divisions}
    codes = {d.code for d in divisions}
    records = []
    for row in _read_csv(path):
        record = DivisionAliasRecord(
            alias=row["alias"].strip(),
            code=row["code"].strip(),
            kind=row["kind"].strip(),
            note=row["note"].strip(),
        )
        if (
            record.code not in codes
            or record.alias in own
            or record.kind not in ALIAS_KINDS
            or not record.alias
        ):
            raise ConfigurationError(f"{path.name}: alias {record.alias!r} -> {record.code} is not valid")
        records.append(record)
    if len({r.alias for r in records}) != len(records):
        raise ConfigurationError(f"{path.name}: an alias is listed twice")
    return records


def read_reference_priority_list(path: Path = catalogue.PRIORITY_TRADES_REFERENCE_FILE) -> list[PriorityRow]:
    parsed = parse_priority_rows(iter_table(path, path.name))
    if parsed.header is None or parsed.errors:
        raise ConfigurationError(f"{path.name} is not a valid priority list", errors=parsed.errors)
    return parsed.entries
