"""Names and mainland mobile phone numbers: normalising, validating, masking.

Masking names for public pages (公示): the first character stays and every other character
becomes ``*`` (张三 -> 张*, 王小明 -> 王**, 欧阳娜娜 -> 欧***). Keeping only one character
never reveals more than the surname, also for compound surnames, without needing a list
of them; the length is kept, as on the bureau's own printed notices.
"""

from __future__ import annotations

import re
import unicodedata

from registry.core.errors import ValidationFailed

NAME_MIN = 2
NAME_MAX = 50
MIDDLE_DOT = "·"

_PHONE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_NOISE = re.compile(r"[\s\-‐‑‒–—―−_.()]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Look-alikes of the middle dot (间隔号) that people and input methods type instead.
_DOTS = re.compile(r"\s*[·•・‧∙⋅･。.．]\s*")
_PLAIN_CHINESE_NAME = re.compile(rf"[\u4e00-\u9fff]{{{NAME_MIN},{NAME_MAX}}}")
IDEOGRAPHIC_ZERO = "\u3007"
"""〇: a character of real names (李〇). Unicode files it as a number (Nl), not a letter."""
_SPACES = re.compile(r"\s+")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) (?=[\u3400-\u9fff\uf900-\ufaff])")


class PersonalDataError(ValidationFailed):
    """A refused name or phone number. Codes: ``name_required``, ``name_length``,
    ``name_digits``, ``name_characters``, ``phone_required``, ``phone_not_mobile``,
    ``phone_format``."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


# --- phone -------------------------------------------------------------------------------


def normalise_phone(raw: str) -> str:
    """Digits only, as far as they can be cleaned: full-width digits made ASCII, spaces,
    dashes, dots and brackets dropped, a +86 / 0086 / 86 country prefix removed."""
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    text = _PHONE_NOISE.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    return text


def validate_phone(raw: str) -> str:
    """The 11-digit mainland mobile number (``1[3-9]`` then 9 digits), or PersonalDataError.
    Messages do not repeat the number."""
    phone = raw if _PHONE.fullmatch(raw) else normalise_phone(raw)
    if not phone:
        raise PersonalDataError("phone_required", "the phone number is missing")
    if _PHONE.fullmatch(phone):
        return phone
    if phone.isdigit() and phone.startswith("0"):
        raise PersonalDataError(
            "phone_not_mobile", "this looks like a landline number; give a mainland mobile number"
        )
    raise PersonalDataError("phone_format", "a mainland mobile number has 11 digits and starts with 13-19")


def mask_phone(phone: str) -> str:
    """``138****5678``; anything that is not 11 characters is masked completely."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


# --- names -------------------------------------------------------------------------------


def normalise_name(raw: str) -> str:
    """The name cleaned, not yet checked: NFKC (full-width Latin letters made ASCII),
    invisible characters dropped, surrounding spaces stripped, runs of spaces made one,
    spaces between two Chinese characters removed (张　三 -> 张三, padding people add to
    line two-character names up), middle-dot look-alikes made ``·`` with no spaces around."""
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    text = _SPACES.sub(" ", text).strip()
    text = _CJK_GAP.sub("", text)
    return _DOTS.sub(MIDDLE_DOT, text)


def _allowed(char: str) -> bool:
    return char in " ·-'" or char == IDEOGRAPHIC_ZERO or unicodedata.category(char)[0] in "LM"


def validate_name(raw: str) -> str:
    """The normalised name, or PersonalDataError: 2-50 characters, letters (any script, and 〇),
    ``·`` between parts of ethnic names (阿依古丽·买买提), spaces, ``-`` and ``'`` in
    Latin-script names; no digits."""
    if _PLAIN_CHINESE_NAME.fullmatch(raw):
        return raw  # the common case: nothing to clean or check
    name = normalise_name(raw)
    if not name:
        raise PersonalDataError("name_required", "the name is missing")
    if any(unicodedata.category(char) == "Nd" for char in name):
        raise PersonalDataError("name_digits", "a name cannot contain digits")
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise PersonalDataError(
            "name_length", f"a name has {NAME_MIN} to {NAME_MAX} characters; this one has {len(name)}"
        )
    if not all(_allowed(char) for char in name) or not _allowed_shape(name):
        raise PersonalDataError(
            "name_characters",
            "a name may contain only letters, the middle dot · between its parts, spaces, - and '",
        )
    return name


def _allowed_shape(name: str) -> bool:
    if name[0] in "·-'" or name[-1] in "·-'":
        return False
    return "··" not in name


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the first character, then one ``*`` per character."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)
