"""What is shaped like an ID number never leaves in clear: not in an error message, a
stored import report, a problem document's ``instance`` or a log line.

The shape is 17 digits and a digit or X (a spreadsheet's float rendering of one, with a
``.0`` after it, too), whatever its check digit: a mistyped ID number is still personal
data. :func:`mask_id_numbers_in` masks it the way the registry shows ID numbers
(``410302********123X``). :class:`registry.core.errors.RegistryError` and
:class:`registry.core.errors.FieldError` apply it to every message they carry, so no rule
has to remember to.
"""

from __future__ import annotations

import re

_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_numbers_in(text: str) -> str:
    """``text`` with everything shaped like an ID number masked (``410302********123X``)."""
    return _IN_TEXT.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(2)}", text)
