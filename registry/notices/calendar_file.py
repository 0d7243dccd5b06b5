"""The bureau's calendar file and the package seed, parsed and validated (pure: no database).

A year of the working-day calendar comes from the State Council's annual holiday notice
(国务院办公厅关于XXXX年部分节假日安排的通知). The bureau writes it as one of two files
(docs/calendar.md has an example of each):

- **CSV**, UTF-8, a header row ``date,kind,source`` and optionally ``name`` (any order), one
  day a row::

      date,kind,source,name
      2027-01-01,holiday,国办发明电〔2026〕X号,元旦

- **YAML**: ``year``, ``source`` and ``days``, a list of ``{date, kind, name}``::

      year: 2027
      source: 国办发明电〔2026〕X号
      days:
        - {date: 2027-01-01, kind: holiday, name: 元旦}

``kind`` is ``holiday`` (a day off, whatever its weekday: list every day of a holiday block)
or ``makeup_workday`` (a weekend day worked). Every date is in the file's year (the YAML's
``year``; for a CSV the year most of its dates are in, or the one the loader is given): a
notice that names a day of December before, as some New Year notices do, belongs to that
year's file. A day listed twice, an unknown kind, a date outside the year, a make-up day
that is not a Saturday or Sunday, a row without its source: each is reported with its line
(``row``) and column or key (``field``), all at once, and nothing is loaded.

:func:`package_calendar` gives the same shape from the ``chinese-calendar`` package (the
seed, 2004-2026 in version 1.11).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import yaml

from registry.core.errors import FieldError, ValidationFailed
from registry.enums import CalendarDayKind

MAX_DAYS = 366
"""A year has at most this many days; a longer file is refused before it is judged."""
MAX_TEXT = 255
"""The longest source or name a day may have (characters)."""
MIN_YEAR, MAX_YEAR = 1949, 9998
CSV_COLUMNS = ("date", "kind", "source", "name")
CSV_REQUIRED = ("date", "kind", "source")
YAML_KEYS = ("year", "source", "days")
YAML_DAY_KEYS = ("date", "kind", "name")
KINDS = tuple(kind.value for kind in CalendarDayKind)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class CalendarEntry:
    date: dt.date
    kind: CalendarDayKind
    name: str
    source: str
    line: int | None = None
    """Where the file has it (None for the package seed)."""


@dataclass(frozen=True)
class CalendarFile:
    """One year of the calendar, validated."""

    year: int
    source: str
    """The year's source: the file's (YAML), or its rows' distinct sources joined by "; "."""
    entries: tuple[CalendarEntry, ...]

    @property
    def holidays(self) -> int:
        return sum(1 for e in self.entries if e.kind is CalendarDayKind.HOLIDAY)

    @property
    def makeup_workdays(self) -> int:
        return sum(1 for e in self.entries if e.kind is CalendarDayKind.MAKEUP_WORKDAY)

    @property
    def sha256(self) -> str:
        """The hash of the year's content (year, source, each day's date, kind, name and
        source, by date): the layout and order of the file do not change it."""
        canonical = json.dumps(
            {
                "year": self.year,
                "source": self.source,
                "days": [
                    [e.date.isoformat(), e.kind.value, e.name, e.source]
                    for e in sorted(self.entries, key=lambda e: e.date)
                ],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Judging the rows (both formats)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """A row as the file gives it (text), with where each value is."""

    line: int | None
    date: str
    kind: str
    name: str
    source: str
    where: dict[str, str]
    """The field name to report for each value (``date`` or ``days[3].date``)."""
    column: dict[str, str | None]
    """The CSV column (None for YAML)."""


def _error(row: _Row, key: str, code: str, message: str) -> FieldError:
    return FieldError(row.where[key], code, message, row=row.line, column=row.column[key])


def _parse_date(text: str) -> dt.date | None:
    text = text.strip()
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _judge(
    rows: list[_Row], year: int | None, errors: list[FieldError]
) -> tuple[int | None, list[CalendarEntry]]:
    """Every problem of the rows into ``errors``; the year and the entries."""
    dates: list[dt.date | None] = []
    for row in rows:
        day = _parse_date(row.date)
        if day is None:
            errors.append(
                _error(row, "date", "invalid_date", f"{row.date.strip()!r} is not a date: YYYY-MM-DD")
            )
        dates.append(day)
    if year is None:
        years = Counter(day.year for day in dates if day is not None)
        if years:
            year = min(years, key=lambda y: (-years[y], y))
    entries: list[CalendarEntry] = []
    seen: dict[dt.date, int | None] = {}
    for row, day in zip(rows, dates, strict=True):
        kind = row.kind.strip()
        ok = True
        if kind not in KINDS:
            ok = False
            errors.append(
                _error(row, "kind", "unknown_kind", f"{kind!r} is not a kind: holiday or makeup_workday")
            )
        source = row.source.strip()
        if not source:
            ok = False
            errors.append(_error(row, "source", "missing_source", "the day needs its source (the notice)"))
        elif len(source) > MAX_TEXT:
            ok = False
            errors.append(
                _error(row, "source", "too_long", f"the source is longer than {MAX_TEXT} characters")
            )
        name = row.name.strip()
        if len(name) > 100:
            ok = False
            errors.append(_error(row, "name", "too_long", "the name is longer than 100 characters"))
        if day is None:
            continue
        if year is not None and day.year != year:
            ok = False
            errors.append(
                _error(row, "date", "outside_year", f"{day.isoformat()} is not in {year}, the file's year")
            )
        if day in seen:
            ok = False
            first = seen[day]
            also = f" (already on line {first})" if first is not None else ""
            errors.append(_error(row, "date", "duplicate_date", f"{day.isoformat()} is listed twice{also}"))
        else:
            seen[day] = row.line
        if kind == CalendarDayKind.MAKEUP_WORKDAY.value and day.weekday() < 5:
            ok = False
            errors.append(
                _error(
                    row,
                    "kind",
                    "makeup_not_weekend",
                    f"{day.isoformat()} is a {WEEKDAYS[day.weekday()]}: a make-up working day is a "
                    "Saturday or Sunday worked",
                )
            )
        if ok:
            entries.append(CalendarEntry(day, CalendarDayKind(kind), name, source, row.line))
    return year, entries


def _refused(errors: list[FieldError], name: str) -> ValidationFailed:
    errors = sorted(errors, key=lambda e: (e.row or 0, e.field))
    first = errors[0]
    where = f" (line {first.row})" if first.row is not None else ""
    return ValidationFailed(
        f"{name}: {len(errors)} problem(s), nothing loaded; first: {first.field}{where}: {first.message}",
        code="invalid_calendar",
        errors=errors,
    )


def _check_year(value: int, errors: list[FieldError], field: str = "year", line: int | None = None) -> bool:
    if not MIN_YEAR <= value <= MAX_YEAR:
        errors.append(
            FieldError(field, "invalid_year", f"{value} is not a year ({MIN_YEAR}-{MAX_YEAR})", row=line)
        )
        return False
    return True


def _finish(
    year: int | None, source: str, entries: list[CalendarEntry], errors: list[FieldError], name: str
) -> CalendarFile:
    if year is None and not errors:
        errors.append(
            FieldError("year", "missing_year", "the file has no dates to tell its year from: give the year")
        )
    if errors:
        raise _refused(errors, name)
    assert year is not None
    return CalendarFile(year=year, source=source, entries=tuple(sorted(entries, key=lambda e: e.date)))


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def parse_calendar_csv(text: str, name: str = "calendar.csv", year: int | None = None) -> CalendarFile:
    """A CSV calendar file (header ``date,kind,source[,name]``); :class:`ValidationFailed`
    names every problem's line (``row``, the header is line 1) and column."""
    errors: list[FieldError] = []
    if year is not None and not _check_year(year, errors):
        raise _refused(errors, name)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    for cells in reader:
        if any(cell.strip() for cell in cells):
            header = [cell.strip().lower() for cell in cells]
            break
    if header is None:
        raise _refused([FieldError("header", "missing_header", "the file is empty: no header row")], name)
    header_line = reader.line_num
    for index, label in enumerate(header):
        if label not in CSV_COLUMNS:
            errors.append(
                FieldError(
                    label or f"column {index + 1}",
                    "unknown_column",
                    f"{label!r} is not a column: date, kind, source, name",
                    row=header_line,
                    column=label,
                )
            )
        elif header.index(label) != index:
            errors.append(
                FieldError(label, "duplicate_column", f"{label} twice", row=header_line, column=label)
            )
    for required in CSV_REQUIRED:
        if required not in header:
            errors.append(
                FieldError(
                    required, "missing_column", f"the header has no {required} column", row=header_line
                )
            )
    if errors:
        raise _refused(errors, name)
    position = {label: header.index(label) for label in CSV_COLUMNS if label in header}
    rows: list[_Row] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        if len(rows) >= MAX_DAYS:
            raise _refused(
                [FieldError("rows", "too_many_rows", f"more than {MAX_DAYS} days", row=line)], name
            )
        if len(cells) > len(header):
            errors.append(
                FieldError(
                    "row", "extra_cells", f"{len(cells)} cells, the header has {len(header)}", row=line
                )
            )

        def cell(label: str, cells: list[str] = cells) -> str:
            index = position.get(label)
            return cells[index] if index is not None and index < len(cells) else ""

        rows.append(
            _Row(
                line=line,
                date=cell("date"),
                kind=cell("kind"),
                name=cell("name"),
                source=cell("source"),
                where={label: label for label in CSV_COLUMNS},
                column={label: label for label in CSV_COLUMNS},
            )
        )
    found_year, entries = _judge(rows, year, errors)
    sources = list(dict.fromkeys(e.source for e in entries))
    if not rows and not errors:
        errors.append(
            FieldError(
                "source",
                "missing_source",
                "a CSV without days cannot name its source: write a year without holidays as YAML",
            )
        )
    return _finish(found_year, "; ".join(sources), entries, errors, name)


# ---------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None


def _mapping(
    node: yaml.MappingNode, keys: tuple[str, ...], prefix: str, errors: list[FieldError]
) -> dict[str, tuple[yaml.Node, int]]:
    """The mapping's values by key (with each key's line); unknown and repeated keys reported."""
    out: dict[str, tuple[yaml.Node, int]] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node) or ""
        line = _line(key_node)
        if key not in keys:
            errors.append(
                FieldError(
                    f"{prefix}{key}", "unknown_key", f"{key!r} is not a key: {', '.join(keys)}", row=line
                )
            )
        elif key in out:
            errors.append(FieldError(f"{prefix}{key}", "duplicate_key", f"{key} twice", row=line))
        else:
            out[key] = (value_node, line)
    return out


def parse_calendar_yaml(text: str, name: str = "calendar.yaml", year: int | None = None) -> CalendarFile:
    """A YAML calendar file (``year``, ``source``, ``days: [{date, kind, name}]``);
    :class:`ValidationFailed` names every problem's key (``days[3].kind``) and line."""
    errors: list[FieldError] = []
    try:
        root = yaml.compose(text.removeprefix("\ufeff"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else None
        raise _refused([FieldError("$", "invalid_yaml", str(exc).splitlines()[0], row=line)], name) from exc
    if not isinstance(root, yaml.MappingNode):
        raise _refused([FieldError("$", "invalid", "a calendar file is a mapping: year, source, days")], name)
    top = _mapping(root, YAML_KEYS, "", errors)
    file_year: int | None = None
    if "year" not in top:
        errors.append(FieldError("year", "missing_key", "the file needs its year", row=_line(root)))
    else:
        node, line = top["year"]
        value = _scalar(node)
        if value is None or not value.strip().isdigit():
            errors.append(FieldError("year", "invalid_year", f"{value!r} is not a year", row=line))
        elif _check_year(int(value), errors, line=line):
            file_year = int(value)
            if year is not None and year != file_year:
                errors.append(
                    FieldError("year", "year_mismatch", f"the file is for {file_year}, not {year}", row=line)
                )
    source = ""
    if "source" not in top:
        errors.append(
            FieldError("source", "missing_source", "the file needs its source (the notice)", row=_line(root))
        )
    else:
        node, line = top["source"]
        source = (_scalar(node) or "").strip()
        if not source:
            errors.append(
                FieldError("source", "missing_source", "the file needs its source (the notice)", row=line)
            )
        elif len(source) > MAX_TEXT:
            errors.append(FieldError("source", "too_long", f"longer than {MAX_TEXT} characters", row=line))
    rows: list[_Row] = []
    if "days" in top:
        node, line = top["days"]
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            pass  # `days:` with nothing: a year without holidays
        elif not isinstance(node, yaml.SequenceNode):
            errors.append(FieldError("days", "invalid", "days is a list of {date, kind, name}", row=line))
        else:
            if len(node.value) > MAX_DAYS:
                raise _refused(
                    [FieldError("days", "too_many_rows", f"more than {MAX_DAYS} days", row=line)], name
                )
            for index, item in enumerate(node.value):
                prefix = f"days[{index}]."
                if not isinstance(item, yaml.MappingNode):
                    errors.append(
                        FieldError(
                            f"days[{index}]", "invalid", "a day is {date, kind, name}", row=_line(item)
                        )
                    )
                    continue
                values = _mapping(item, YAML_DAY_KEYS, prefix, errors)
                for required in ("date", "kind"):
                    if required not in values:
                        errors.append(
                            FieldError(
                                f"{prefix}{required}",
                                "missing_key",
                                f"the day needs its {required}",
                                row=_line(item),
                            )
                        )
                texts = {key: _scalar(values[key][0]) if key in values else "" for key in YAML_DAY_KEYS}
                for key, value in texts.items():
                    if value is None:
                        errors.append(
                            FieldError(
                                f"{prefix}{key}", "invalid", f"{key} is a single value", row=values[key][1]
                            )
                        )
                if "date" not in values or "kind" not in values or None in texts.values():
                    continue
                rows.append(
                    _Row(
                        line=_line(item),
                        date=texts["date"] or "",
                        kind=texts["kind"] or "",
                        name=texts["name"] or "",
                        source=source or "-",  # a missing file source is reported once, above
                        where={key: f"{prefix}{key}" for key in (*YAML_DAY_KEYS, "source")},
                        column=dict.fromkeys((*YAML_DAY_KEYS, "source")),
                    )
                )
    judged_year, entries = _judge(rows, file_year, errors)
    if file_year is None:
        judged_year = None  # never guessed: the YAML names its year
    return _finish(judged_year, source, entries, errors, name)


def parse_calendar_file(text: str, name: str, year: int | None = None) -> CalendarFile:
    """A calendar file by its name's extension: ``.csv``, or ``.yaml`` / ``.yml``."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return parse_calendar_csv(text, name, year)
    if lower.endswith((".yaml", ".yml")):
        return parse_calendar_yaml(text, name, year)
    raise _refused(
        [FieldError("file", "unknown_format", f"{name}: a calendar file is .csv or .yaml (.yml)")], name
    )


# ---------------------------------------------------------------------------
# The package seed
# ---------------------------------------------------------------------------


def package_source() -> str:
    """The seed's source note: the package, its version, and where its data comes from."""
    return f"chinese-calendar {metadata.version('chinese-calendar')} (国务院办公厅 notices)"


def package_calendar(module: Any = None) -> dict[int, CalendarFile]:
    """Every year the ``chinese-calendar`` package knows (2004-2026 in 1.11), by year: its
    holidays and make-up working days. A year is known when the package has any day of it."""
    if module is None:
        import chinese_calendar

        module = chinese_calendar
    source = package_source()
    by_year: dict[int, list[CalendarEntry]] = {}
    for day, label in module.holidays.items():
        by_year.setdefault(day.year, []).append(
            CalendarEntry(day, CalendarDayKind.HOLIDAY, str(label), source)
        )
    for day, label in module.workdays.items():
        by_year.setdefault(day.year, []).append(
            CalendarEntry(day, CalendarDayKind.MAKEUP_WORKDAY, str(label), source)
        )
    if by_year:
        for missing in range(min(by_year), max(by_year) + 1):
            by_year.setdefault(missing, [])
    return {
        year: CalendarFile(year, source, tuple(sorted(entries, key=lambda e: e.date)))
        for year, entries in sorted(by_year.items())
    }
