"""Pure checks for institutions: the USCC (GB 32100-2015) and the shape of the record."""

from __future__ import annotations

import re

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc

from registry.core.errors import FieldError, InstitutionSuspended
from registry.enums import InstitutionKind, InstitutionStatus, Role

MIN_YEAR, MAX_YEAR = 2000, 2100


def normalise_uscc(raw: str) -> str:
    return uscc.compact(raw).upper()


def uscc_error(raw: str, field: str = "uscc") -> FieldError | None:
    """None when ``raw`` is a valid unified social credit code, else why not."""
    try:
        uscc.validate(raw)
    except stdnum_exceptions.InvalidLength:
        return FieldError(field, "uscc_length", "a unified social credit code has 18 characters")
    except stdnum_exceptions.InvalidFormat:
        return FieldError(
            field, "uscc_format", "the code has characters a unified social credit code cannot have"
        )
    except stdnum_exceptions.InvalidChecksum:
        return FieldError(field, "uscc_checksum", "the check character does not match (GB 32100-2015)")
    except stdnum_exceptions.ValidationError:
        return FieldError(field, "uscc_invalid", "not a valid unified social credit code")
    return None


def kinds_errors(kinds: list[str], field: str = "kinds") -> list[FieldError]:
    allowed = {k.value for k in InstitutionKind}
    if not kinds:
        return [FieldError(field, "required", "name at least one of: training, assessment")]
    errors = [
        FieldError(field, "invalid_choice", f"{k!r} is not one of: training, assessment")
        for k in kinds
        if k not in allowed
    ]
    if len(set(kinds)) != len(kinds):
        errors.append(FieldError(field, "duplicate", "each kind once"))
    return errors


def years_errors(years: list[int], field: str = "approved_years") -> list[FieldError]:
    return [
        FieldError(field, "out_of_range", f"{y} is not a year between {MIN_YEAR} and {MAX_YEAR}")
        for y in years
        if not MIN_YEAR <= y <= MAX_YEAR
    ]


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
# Which kind of institution each institution-bound role must belong to.
ROLE_INSTITUTION_KIND = {
    Role.INSTITUTION: InstitutionKind.TRAINING,
    Role.ASSESSOR: InstitutionKind.ASSESSMENT,
}


def password_errors(password: str) -> list[FieldError]:
    """The password rule's refusals (empty: the password is accepted)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [FieldError("password", "too_short", f"at least {MIN_PASSWORD_LENGTH} characters")]
    return []


def username_errors(username: str) -> list[FieldError]:
    if USERNAME_RE.match(username):
        return []
    return [
        FieldError(
            "username", "invalid_format", "3-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    ]


def uscc_with_check(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17 + "0")


def institution_refusal(status: str | None) -> InstitutionSuspended | None:
    """Why a user or API key of an institution with ``status`` may not sign in (None: it may;
    ``status`` None is a user of no institution: the bureau's). The same refusal, code
    ``institution_suspended``, for a password, a token or dashboard session issued before
    and an API key."""
    if status is None or status == InstitutionStatus.ACTIVE.value:
        return None
    standing = "blacklisted" if status == InstitutionStatus.BLACKLISTED.value else "suspended"
    return InstitutionSuspended(
        f"your organisation is {standing} by the bureau: its users and API keys cannot sign in;"
        " contact the Luoyang human resources and social security bureau"
    )
