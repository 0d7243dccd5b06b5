"""Parsing a cohort's roster (花名册) the way institutions really keep it.

Input is the output of :func:`registry.core.tabular.iter_table`: ``(row_number, cells)`` pairs.
Output is the valid rows and, for every refused row, its errors with the row number and
the column header as it is written in the file.

- Headers in Chinese or English, in any order; ``序号``/``No.`` and unknown columns ignored
  (unknown ones reported once in ``notes``).
- Title rows above the header (「2025年洛阳市职业技能培训花名册」) are skipped: the header is
  the first row that names at least the name and the ID-number columns, within the first
  ``HEADER_SEARCH_ROWS`` non-blank rows.
- Blank rows, rows that hold only a 序号 value (pre-numbered templates) and footer rows
  (合计, 填表人, 审核人...) are skipped.
- An ID-number cell that a spreadsheet stored as a number has lost digits: refused with a
  request to format the column as text.
- The same ID number twice in a file: judged among the otherwise valid rows
  (:func:`judge_rows`), so the first row that passes every check is the person's row and the
  later valid ones are refused, naming it; a refused copy never blocks a good one.

A row with any error is refused as a whole (it is not in ``rows``). Streaming: rows are
handled one at a time (:class:`RosterParser`), so the memory is the result only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from registry.core.clock import business_today
from registry.core.errors import FieldError, ValidationFailed
from registry.core.tabular import is_blank
from registry.enums import CohortStatus, EnrolmentOutcome, ImportStatus, PriorityGroup
from registry.people.rules import idnumber, personal
from registry.people.rules.idnumber import IdNumber, IdNumberError
from registry.people.rules.personal import PersonalDataError
from registry.reference.rules import division_index, resolve_division
from registry.training import rules as cohort_rules

HEADER_SEARCH_ROWS = 30
_CACHE_SIZE = 4096
MAX_HOURS = Decimal(10000)

NAME = "name"
ID_NUMBER = "id_number"
PHONE = "phone"
HOUSEHOLD_DIVISION = "household_division"
GROUPS = "groups"
ATTENDED_HOURS = "attended_hours"
OUTCOME = "outcome"
_IGNORED = "_ignored"

ALREADY_ENROLLED = "already_enrolled"
IDENTITY_MISMATCH = "identity_mismatch"
DUPLICATE_IN_FILE = "duplicate_in_file"

REQUIRED_COLUMNS = "姓名 (name) and 身份证号 (id_number)"

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    NAME: ("姓名", "name", "学员姓名", "人员姓名", "学员"),
    ID_NUMBER: (
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "身份证",
        "居民身份证号码",
        "身份证件号码",
        "id_number",
        "idnumber",
        "id_no",
        "id",
    ),
    PHONE: ("手机号", "手机", "手机号码", "联系电话", "电话", "联系方式", "phone", "mobile"),
    HOUSEHOLD_DIVISION: (
        "户籍县区",
        "户籍所在地",
        "户籍地",
        "户籍所在县区",
        "户籍县(区)",
        "household_division",
    ),
    GROUPS: ("重点群体", "人员类别", "人员类型", "群体类别", "groups", "priority_groups"),
    ATTENDED_HOURS: ("学时", "已参训学时", "参训学时", "实际学时", "attended_hours", "hours"),
    OUTCOME: ("结果", "培训结果", "outcome", "result"),
    _IGNORED: ("序号", "no.", "no", "#", "编号"),
}

_GROUP_LABELS: dict[str, PriorityGroup] = {
    "高校毕业生": PriorityGroup.GRADUATE,
    "毕业生": PriorityGroup.GRADUATE,
    "农民工": PriorityGroup.MIGRANT_WORKER,
    "退役军人": PriorityGroup.VETERAN,
    "就业困难人员": PriorityGroup.HARDSHIP,
    "农村劳动力": PriorityGroup.RURAL_LABOUR,
    "农村转移劳动力": PriorityGroup.RURAL_LABOUR,
    "残疾人": PriorityGroup.DISABLED,
    "登记失业青年": PriorityGroup.UNEMPLOYED_YOUTH,
    "16-24岁登记失业青年": PriorityGroup.UNEMPLOYED_YOUTH,
    "脱贫人口": PriorityGroup.POVERTY_ALLEVIATED,
    "脱贫劳动力": PriorityGroup.POVERTY_ALLEVIATED,
    **{group.value: group for group in PriorityGroup},
}
_NO_GROUP = frozenset({"无", "否", "-", "/", "none"})
_GROUP_SEPARATORS = re.compile(r"[、,，;；/／|\s]+")

_OUTCOME_LABELS: dict[str, EnrolmentOutcome] = {
    "合格": EnrolmentOutcome.COMPLETED,
    "结业": EnrolmentOutcome.COMPLETED,
    "已结业": EnrolmentOutcome.COMPLETED,
    "退学": EnrolmentOutcome.WITHDRAWN,
    "不合格": EnrolmentOutcome.FAILED,
    "在训": EnrolmentOutcome.IN_PROGRESS,
    **{outcome.value: outcome for outcome in EnrolmentOutcome},
}

_FOOTER_WORDS = (
    "合计",
    "总计",
    "小计",
    "共计",
    "填表人",
    "制表人",
    "填报人",
    "审核人",
    "负责人",
    "备注",
    "说明",
)
_HOURS_SUFFIX = re.compile(r"(学时|课时|小时|hours?|h)$")


@dataclass(frozen=True)
class RosterRow:
    row_number: int
    name: str
    id: IdNumber
    phone: str | None
    household_division: str | None
    groups: tuple[PriorityGroup, ...]
    attended_hours: Decimal | None
    outcome: EnrolmentOutcome | None
    household_as_written: str | None = None
    """The 户籍县区 cell as the file writes it (偃师市), beside today's code."""
    review_flags: tuple[str, ...] = ()
    """Set by :func:`judge_rows` (``name_differs``), for the auditors."""


@dataclass
class RosterParse:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)
    rows_read: int = 0
    notes: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    """Canonical field -> the column header as the file writes it."""
    header_row: int | None = None
    refused_cells: dict[int, list[Any]] = field(default_factory=dict)
    """Original cells of the rows refused while parsing (kept only when asked)."""

    @property
    def refused_rows(self) -> int:
        return len({error.row for error in self.errors if error.row is not None})


def _header_key(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).lower()
    key = re.sub(r"\(.*?\)|【.*?】|\[.*?\]", "", key)  # 身份证号(18位), 手机号(必填)
    return re.sub(r"[\s*:：]", "", key)


_HEADER_LOOKUP: dict[str, str] = {
    _header_key(alias): canonical for canonical, aliases in _HEADER_ALIASES.items() for alias in aliases
}


def _text(cell: Any) -> str:
    """A cell as stripped text; a whole float is written without ``.0``."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


class RosterParser:
    """Feed rows one at a time; each call returns the parsed row, its errors, or None
    (title, header, blank or footer row). ``finish()`` raises if no header was found.

    ``divisions`` maps the Luoyang division names (涧西区), codes (410305) and aliases (偃师市,
    410381, 瀍河: :func:`registry.reference.queries.division_lookup`) the caller accepts to
    today's code. ``max_rows`` bounds the data rows (blank rows are not counted).
    """

    def __init__(
        self,
        divisions: Mapping[str, str],
        *,
        max_rows: int | None = None,
        today: date | None = None,
    ):
        self.divisions = divisions
        self.max_rows = max_rows
        self.today = today or business_today()
        self.rows_read = 0
        self.notes: list[str] = []
        self.columns: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        self._header_found = False
        self._rows_before_header = 0
        self._division_cache: dict[str, str | None] = {}
        self._group_cache: dict[str, tuple[tuple[PriorityGroup, ...], tuple[str, ...]]] = {}
        self._division_lookup = division_index(divisions)

    # --- header --------------------------------------------------------------------------

    def _try_header(self, row_number: int, cells: list[Any]) -> bool:
        found: dict[str, int] = {}
        headers: dict[str, str] = {}
        unknown: list[str] = []
        duplicates: list[str] = []
        for index, cell in enumerate(cells):
            if not isinstance(cell, str) or not cell.strip():
                continue
            text = cell.strip()
            canonical = _HEADER_LOOKUP.get(_header_key(text))
            if canonical is None:
                unknown.append(text)
            elif canonical == _IGNORED:
                continue
            elif canonical in found:
                duplicates.append(f"'{headers[canonical]}' and '{text}'")
            else:
                found[canonical] = index
                headers[canonical] = text
        if NAME not in found or ID_NUMBER not in found:
            return False
        if duplicates:
            raise ValidationFailed(
                f"row {row_number}: the columns {'; '.join(duplicates)} mean the same thing; "
                "keep one of each",
                code="duplicate_column",
            )
        self.columns = found
        self.headers = headers
        self._header_found = True
        if unknown:
            self.notes.append(f"columns ignored: {', '.join(unknown)}")
        return True

    # --- rows ----------------------------------------------------------------------------

    def feed(self, row_number: int, cells: list[Any]) -> RosterRow | list[FieldError] | None:
        if is_blank(cells):
            return None
        if not self._header_found:
            self._rows_before_header += 1
            if self._try_header(row_number, cells):
                return None
            if self._rows_before_header >= HEADER_SEARCH_ROWS:
                self._no_header()
            return None
        values = {key: self._cell(cells, index) for key, index in self.columns.items()}
        texts = {key: _text(value) for key, value in values.items()}
        if not any(texts.values()):
            return None  # only 序号 or ignored columns filled in
        if not texts[ID_NUMBER] and self._is_footer(cells):
            self.notes.append(f"row {row_number} looks like a footer and was skipped")
            return None
        self.rows_read += 1
        if self.max_rows is not None and self.rows_read > self.max_rows:
            raise ValidationFailed(
                f"the file has more than {self.max_rows} rows; split it into smaller files",
                code="too_many_rows",
            )
        return self._parse_row(row_number, values, texts)

    def finish(self) -> None:
        if not self._header_found:
            self._no_header()

    def _no_header(self) -> None:
        raise ValidationFailed(
            f"no header row found: the roster needs a header row with at least the columns "
            f"{REQUIRED_COLUMNS}",
            code="no_header",
        )

    @staticmethod
    def _cell(cells: list[Any], index: int) -> Any:
        return cells[index] if index < len(cells) else None

    @staticmethod
    def _is_footer(cells: list[Any]) -> bool:
        for cell in cells:
            text = _text(cell)
            if text:
                return text.startswith(_FOOTER_WORDS)
        return False

    def _error(self, row: int, key: str, code: str, message: str) -> FieldError:
        return FieldError(field=key, code=code, message=message, row=row, column=self.headers.get(key))

    def _parse_row(
        self, row: int, values: dict[str, Any], texts: dict[str, str]
    ) -> RosterRow | list[FieldError]:
        errors: list[FieldError] = []

        name = ""
        try:
            name = personal.validate_name(texts[NAME])
        except PersonalDataError as exc:
            errors.append(self._error(row, NAME, exc.code, exc.message))

        id_number = self._id_number(row, values[ID_NUMBER], texts[ID_NUMBER], errors)

        phone: str | None = None
        if texts.get(PHONE):
            try:
                phone = personal.validate_phone(texts[PHONE])
            except PersonalDataError as exc:
                errors.append(self._error(row, PHONE, exc.code, exc.message))

        division: str | None = None
        if texts.get(HOUSEHOLD_DIVISION):
            division = self._division(texts[HOUSEHOLD_DIVISION])
            if division is None:
                errors.append(
                    self._error(
                        row,
                        HOUSEHOLD_DIVISION,
                        "unknown_division",
                        f"'{texts[HOUSEHOLD_DIVISION][:40]}' is not a Luoyang district or county "
                        "name or 6-digit code",
                    )
                )

        groups: tuple[PriorityGroup, ...] = ()
        if texts.get(GROUPS):
            groups = self._groups(row, texts[GROUPS], errors)

        hours: Decimal | None = None
        if texts.get(ATTENDED_HOURS):
            hours = self._hours(row, values[ATTENDED_HOURS], errors)

        outcome: EnrolmentOutcome | None = None
        if texts.get(OUTCOME):
            label = unicodedata.normalize("NFKC", texts[OUTCOME]).lower().replace(" ", "")
            outcome = _OUTCOME_LABELS.get(label)
            if outcome is None:
                errors.append(
                    self._error(
                        row,
                        OUTCOME,
                        "unknown_outcome",
                        f"'{texts[OUTCOME][:40]}' is not an outcome; use 合格/结业, 退学, 不合格 or 在训",
                    )
                )

        if errors or id_number is None:
            return errors
        return RosterRow(
            row_number=row,
            name=name,
            id=id_number,
            phone=phone,
            household_division=division,
            groups=groups,
            attended_hours=hours,
            outcome=outcome,
            household_as_written=texts[HOUSEHOLD_DIVISION][:50] if division is not None else None,
        )

    def _id_number(self, row: int, cell: Any, raw: str, errors: list[FieldError]) -> IdNumber | None:
        if idnumber.looks_like_spreadsheet_number(cell):
            errors.append(
                self._error(
                    row,
                    ID_NUMBER,
                    "id_stored_as_number",
                    "the ID number was stored as a number, which loses its last digits: format the "
                    "身份证号 column as text in the spreadsheet (设置单元格格式 -> 文本 / 设置为文本格式) "
                    "and enter the numbers again",
                )
            )
            return None
        try:
            parsed = idnumber.validate(raw, today=self.today)
        except IdNumberError as exc:
            message = exc.message
            if exc.code == "id_checksum" and idnumber.normalise(raw).endswith("000"):
                message += (
                    "; it ends in 000, as numbers a spreadsheet has rounded do: format the 身份证号 "
                    "column as text (设置为文本格式) and enter the numbers again"
                )
            errors.append(self._error(row, ID_NUMBER, exc.code, message))
            return None
        return parsed

    def _division(self, text: str) -> str | None:
        # A roster repeats a handful of values: remember them (bounded, for hostile files).
        if text in self._division_cache:
            return self._division_cache[text]
        code = self._resolve_division(text)
        if len(self._division_cache) < _CACHE_SIZE:
            self._division_cache[text] = code
        return code

    def _resolve_division(self, text: str) -> str | None:
        # 涧西 for 涧西区, 嵩 for 嵩县 (only when exactly one name fits), 偃师市 for 偃师区.
        return resolve_division(text, self._division_lookup)

    def _groups(self, row: int, text: str, errors: list[FieldError]) -> tuple[PriorityGroup, ...]:
        cached = self._group_cache.get(text)
        if cached is None:
            cached = _split_groups(text)
            if len(self._group_cache) < _CACHE_SIZE:
                self._group_cache[text] = cached
        out, unknown = cached
        if unknown:
            errors.append(
                self._error(
                    row,
                    GROUPS,
                    "unknown_group",
                    f"unknown priority group {', '.join(repr(u) for u in unknown)}; use 高校毕业生, 农民工, "
                    "退役军人, 就业困难人员, 农村劳动力, 残疾人, 登记失业青年 or 脱贫人口",
                )
            )
        return out

    def _hours(self, row: int, cell: Any, errors: list[FieldError]) -> Decimal | None:
        hours: Decimal | None
        if isinstance(cell, bool):
            hours = None
        elif isinstance(cell, int | float | Decimal):
            hours = Decimal(repr(cell) if isinstance(cell, float) else str(cell))
        else:
            text = _text(cell)
            if not text:
                return None
            text = _HOURS_SUFFIX.sub("", unicodedata.normalize("NFKC", text).lower()).strip()
            try:
                hours = Decimal(text)
            except InvalidOperation:
                hours = None
        if hours is None or not hours.is_finite():
            errors.append(self._error(row, ATTENDED_HOURS, "hours_format", "the hours must be a number"))
            return None
        if hours < 0:
            errors.append(self._error(row, ATTENDED_HOURS, "hours_negative", "the hours cannot be negative"))
            return None
        if hours > MAX_HOURS:
            errors.append(
                self._error(row, ATTENDED_HOURS, "hours_range", f"the hours cannot exceed {MAX_HOURS}")
            )
            return None
        return hours


def _split_groups(text: str) -> tuple[tuple[PriorityGroup, ...], tuple[str, ...]]:
    out: list[PriorityGroup] = []
    unknown: list[str] = []
    for part in _GROUP_SEPARATORS.split(unicodedata.normalize("NFKC", text)):
        if not part or part.lower() in _NO_GROUP:
            continue
        group = _GROUP_LABELS.get(part) or _GROUP_LABELS.get(part.lower())
        if group is None:
            unknown.append(part[:20])
        elif group not in out:
            out.append(group)
    return tuple(out), tuple(unknown)


def bounded_rows(table: Iterable[tuple[int, list[Any]]], max_rows: int) -> Iterator[tuple[int, list[Any]]]:
    """Stop a file of endless blank rows: the parser counts only data rows, so the table
    itself may hold at most ``2 * max_rows + 1000`` rows of any kind."""
    limit = 2 * max_rows + 1000
    for count, item in enumerate(table, start=1):
        if count > limit:
            raise ValidationFailed(
                f"the file has more than {max_rows} rows; split it into smaller files", code="too_many_rows"
            )
        yield item


def parse_roster(
    table: Iterable[tuple[int, list[Any]]],
    *,
    divisions: Mapping[str, str],
    max_rows: int | None = None,
    today: date | None = None,
    keep_refused_cells: bool = False,
) -> RosterParse:
    """Parse a whole table, streaming (see :class:`RosterParser`): the memory is the result.
    Raises ``ValidationFailed`` with code ``no_header``, ``duplicate_column`` or
    ``too_many_rows`` for a file-level problem (and whatever ``registry.core.tabular``
    raises for an unreadable file). ``keep_refused_cells`` keeps the original cells of
    every row refused here (for the refused-rows file)."""
    parser = RosterParser(divisions, max_rows=max_rows, today=today)
    result = RosterParse()
    feed = parser.feed
    rows = bounded_rows(table, max_rows) if max_rows is not None else table
    for row_number, cells in rows:
        outcome = feed(row_number, cells)
        if outcome is None:
            if result.header_row is None and parser.columns:
                result.header_row = row_number
            continue
        if isinstance(outcome, RosterRow):
            result.rows.append(outcome)
        else:
            result.errors.extend(outcome)
            if keep_refused_cells:
                result.refused_cells[row_number] = cells
    parser.finish()
    result.rows_read = parser.rows_read
    result.notes = list(parser.notes)
    result.headers = dict(parser.headers)
    return result


# --- judging the parsed rows against the cohort and the registry -----------------------


def record_errors(
    row: RosterRow, status: CohortStatus, planned_hours: int, headers: dict[str, str]
) -> list[FieldError]:
    """A row's 学时 and 结果 against the cohort, by the rules that recording attendance on an
    enrolment applies (:mod:`registry.training.rules`), with the row and the column named.
    ``status`` is the cohort's effective status (after :func:`cohort_for_enrolment`)."""
    hours_column, outcome_column = headers.get(ATTENDED_HOURS), headers.get(OUTCOME)
    found: list[FieldError] = []
    if row.attended_hours is not None:
        found += [
            replace(e, field=ATTENDED_HOURS, row=row.row_number, column=hours_column)
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
        blamed.append((ATTENDED_HOURS, hours_column))
    if cohort_rules.record_refusal(status, attended_hours=Decimal(0), outcome=outcome) is not None:
        blamed.append((OUTCOME, outcome_column))
    blamed = blamed or [(OUTCOME, outcome_column)]
    found += [
        FieldError(field=key, code=refusal.code, message=refusal.message, row=row.row_number, column=column)
        for key, column in blamed
    ]
    return found


@dataclass(frozen=True)
class Registered:
    """What the registry knows of a person a roster row names."""

    name: str
    enrolled: bool
    """Already enrolled in the cohort being imported into."""
    ours: bool = False
    """Enrolled before by the cohort's institution: only then is it told that a name differs."""


@dataclass
class Judgement:
    errors: list[FieldError]
    """Every refused row's errors (parsing and judging), sorted by row and column."""
    skipped: list[FieldError]
    """People already enrolled in the cohort: not imported again, reported."""
    refused_after_parsing: set[int]
    """Rows refused here (their cells are not among the parser's refused cells)."""
    to_import: list[RosterRow]

    @property
    def refused(self) -> int:
        return len({error.row for error in self.errors if error.row is not None})


def judge_rows(
    parsed: RosterParse,
    registered: Sequence[Registered | None],
    *,
    status: CohortStatus,
    planned_hours: int,
) -> Judgement:
    """The parsed rows (``registered[i]`` is what the registry knows of ``parsed.rows[i]``)
    against the cohort's attendance rules and, for the people the institution has enrolled
    before, the names registered for the ID numbers (``identity_mismatch``); another name
    for anyone else is imported with the name as given and flagged ``name_differs``.

    The same ID number twice: the first row that passes every check is the person's row,
    the later ones are refused (``duplicate_in_file``, naming it); a copy refused for
    its own errors does not count."""
    errors: list[FieldError] = list(parsed.errors)
    skipped: list[FieldError] = []
    late: set[int] = set()
    to_import: list[RosterRow] = []
    first_valid: dict[str, int] = {}
    name_column = parsed.headers.get(NAME)
    id_column = parsed.headers.get(ID_NUMBER)
    for row, known in zip(parsed.rows, registered, strict=True):
        row_errors = record_errors(row, status, planned_hours, parsed.headers)
        name_differs = known is not None and known.name != row.name
        if known is not None and name_differs and known.ours:
            row_errors.append(
                FieldError(
                    field=NAME,
                    code=IDENTITY_MISMATCH,
                    message="this ID number is registered under another name: check the name and "
                    "the ID number against the person's identity card",
                    row=row.row_number,
                    column=name_column,
                )
            )
        if not row_errors and (first := first_valid.get(row.id.number)) is not None:
            row_errors.append(
                FieldError(
                    field=ID_NUMBER,
                    code=DUPLICATE_IN_FILE,
                    message=f"the same ID number is already in row {first}",
                    row=row.row_number,
                    column=id_column,
                )
            )
        if row_errors:
            errors.extend(row_errors)
            late.add(row.row_number)
            continue
        first_valid[row.id.number] = row.row_number
        if known is not None and known.enrolled:
            skipped.append(
                FieldError(
                    field=ID_NUMBER,
                    code=ALREADY_ENROLLED,
                    message="already enrolled in this cohort; skipped",
                    row=row.row_number,
                    column=id_column,
                )
            )
        else:
            # Someone the institution never enrolled: the answer is the one a right name
            # gets; the enrolment keeps the name as given, flagged for the auditors.
            to_import.append(replace(row, review_flags=(cohort_rules.NAME_DIFFERS,)) if name_differs else row)
    errors.sort(key=lambda e: (e.row or 0, e.column or ""))
    return Judgement(errors=errors, skipped=skipped, refused_after_parsing=late, to_import=to_import)


def import_status(refused: int, importing: int, mode: str) -> ImportStatus:
    """``refused`` (nothing written: any refusal in all-or-nothing mode, or nothing valid),
    ``partial`` (valid rows imported, refused ones reported) or ``imported``."""
    if refused and (mode == "all_or_nothing" or not importing):
        return ImportStatus.REFUSED
    return ImportStatus.PARTIAL if refused else ImportStatus.IMPORTED
