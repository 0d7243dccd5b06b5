"""Chinese resident identity numbers (居民身份号码, GB 11643-1999).

An 18-character number: a 6-digit address code (where the number was first issued), the
birth date ``YYYYMMDD``, a 3-digit sequence whose last digit is odd for men and even for
women, and an ISO 7064 MOD 11-2 check character (``0-9`` or ``X``).

The address code is never checked against a table: it is fixed when a number is issued,
so retired codes (410381 偃师市, 410306 吉利区, 410322 孟津县) and codes that no table knows
stay valid for life, and residence permits for Hong Kong, Macao and Taiwan residents
(810000, 820000, 830000) are valid numbers too. This is why python-stdnum's
``cn.ric.validate`` (which looks the code up) is not used; its MOD 11-2 building block is.

Error messages never contain the number: they end up in logs, import reports and HTTP
answers (DESIGN.md section 9).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from stdnum.iso7064 import mod_11_2

from registry.core.clock import business_today
from registry.core.errors import ValidationFailed

Sex = Literal["M", "F"]

EARLIEST_BIRTH = date(1900, 1, 1)

_FORMAT = re.compile(r"[0-9]{17}[0-9X]")
_FORMAT_LOOSE = re.compile(r"[0-9]{17}[0-9Xx]")  # the common case, which needs no normalising
_SCIENTIFIC = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[0-9]{15,}\.[0-9]*")
"""A number a spreadsheet held as a float, written out as text (``410302199001011000.0``)."""
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_QUOTES = "'\"‘’“”`"


class IdNumberError(ValidationFailed):
    """A refused ID number. ``code`` is one of ``id_required``, ``id_length``,
    ``id_first_generation``, ``id_format``, ``id_checksum``, ``id_birth_date``."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


@dataclass(frozen=True)
class IdNumber:
    number: str = field(repr=False)
    birth_date: date
    sex: Sex
    address_code: str

    @property
    def masked(self) -> str:
        return mask(self.number)

    def __repr__(self) -> str:  # never the full number, even in a traceback
        return (
            f"IdNumber(masked={self.masked!r}, birth_date={self.birth_date!r}, "
            f"sex={self.sex!r}, address_code={self.address_code!r})"
        )


def normalise(raw: str) -> str:
    """The number as typed, cleaned: no spaces (incl. U+3000 and inner ones), full-width
    digits and letters made ASCII, ``x`` and ``×`` (U+00D7, which input methods and word
    processors put for the check character) made ``X``. Also drops the wrappers spreadsheets
    and CSV exports use to keep a number as text: a leading apostrophe, quotes and
    ``="..."``."""
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    text = "".join(text.split())
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    text = text.strip(_QUOTES)
    return text.replace("\u00d7", "X").upper()


def check_digit(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    return str(mod_11_2.calc_check_digit(first17))


def validate(raw: str, *, today: date | None = None) -> IdNumber:
    """The parsed number, or :class:`IdNumberError`. ``today`` bounds the birth date
    (defaults to today in Asia/Shanghai)."""
    number = raw.upper() if _FORMAT_LOOSE.fullmatch(raw) else normalise(raw)
    if not number:
        raise IdNumberError("id_required", "the ID number is missing")
    if len(number) == 15 and number.isdigit():
        raise IdNumberError(
            "id_first_generation",
            "first-generation 15-digit ID numbers are refused; give the 18-digit number "
            "shown on the current resident identity card",
        )
    if len(number) != 18:
        raise IdNumberError("id_length", f"an ID number has 18 characters; this one has {len(number)}")
    if not _FORMAT.fullmatch(number):
        raise IdNumberError(
            "id_format", "an ID number is 17 digits followed by a digit or X; this one has other characters"
        )
    if number[17] != check_digit(number[:17]):
        raise IdNumberError(
            "id_checksum", "the ID number's check digit does not match: a digit is probably mistyped"
        )
    birth = _birth_date(number[6:14], today or business_today())
    return IdNumber(
        number=number,
        birth_date=birth,
        sex="M" if int(number[16]) % 2 else "F",
        address_code=number[:6],
    )


def _birth_date(text: str, today: date) -> date:
    try:
        birth = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise IdNumberError(
            "id_birth_date", "the birth date inside the ID number is not a real date"
        ) from None
    if birth > today:
        raise IdNumberError("id_birth_date", "the birth date inside the ID number is in the future")
    if birth < EARLIEST_BIRTH:
        raise IdNumberError("id_birth_date", "the birth date inside the ID number is before 1900")
    return birth


_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")


def looks_like_id_number(text: str) -> bool:
    """Whether ``text`` (as typed, spaces around it ignored) has the shape of an 18-character
    ID number: 17 digits and a digit or X. The check digit is not looked at: a mistyped ID
    number is still personal data, and what has this shape is treated as one."""
    return bool(_SHAPE.fullmatch(text.strip()))


def is_valid(raw: str, *, today: date | None = None) -> bool:
    try:
        validate(raw, today=today)
    except IdNumberError:
        return False
    return True


def mask(number: str) -> str:
    """``410302********123X``: the first 6 and last 4 characters, 8 asterisks between.
    Anything that is not 18 characters long is masked completely."""
    if len(number) != 18:
        return "*" * len(number)
    return f"{number[:6]}{'*' * 8}{number[-4:]}"


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``. Someone born on 29 February turns a year older on
    1 March in common years."""
    if on < birth_date:
        raise ValueError("the date is before the birth date")
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def looks_like_spreadsheet_number(cell: Any) -> bool:
    """True when an ID cell was stored as a number, which loses digits: a spreadsheet keeps
    15 significant digits, so ``410302199001011234`` becomes ``410302199001011000`` or is
    shown as ``4.10302E+17``. True for a numeric cell (int, float, Decimal; not bool), for
    text in scientific notation and for a float written out as text (``410302199001011000.0``,
    as exports through a program that read the cell as a number write it). Text of 18 digits is *not* enough on its own: only
    the cell's type tells that a spreadsheet made a number of it."""
    if isinstance(cell, bool):
        return False
    if isinstance(cell, int | float | Decimal):
        return True
    if isinstance(cell, str):
        text = unicodedata.normalize("NFKC", cell).strip()
        return bool(_SCIENTIFIC.fullmatch(text) or _FLOAT_TEXT.fullmatch(text))
    return False


def make_number(address_code: str, birth: date, sequence: int) -> str:
    """A valid synthetic number for tests and the demo. ``sequence`` 0-999; odd = male."""
    if not (len(address_code) == 6 and address_code.isascii() and address_code.isdigit()):
        raise ValueError("address_code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0-999")
    first17 = f"{address_code}{birth:%Y%m%d}{sequence:03d}"
    if len(first17) != 17:
        raise ValueError("birth year must have 4 digits")
    return first17 + check_digit(first17)
