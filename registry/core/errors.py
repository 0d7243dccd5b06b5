"""Domain errors. Each has a stable ``code``; only ``api/`` maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.core.redact import mask_id_numbers_in


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str
    row: int | None = None
    column: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", mask_id_numbers_in(self.message))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.column is not None:
            out["column"] = self.column
        return out


class RegistryError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "registry_error"
    title = "Registry error"

    def __init__(self, message: str, *, code: str | None = None, errors: list[FieldError] | None = None):
        message = mask_id_numbers_in(message)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.errors = errors or []

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (code, errors and all): a parse run in another process raises these.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[RegistryError], args: tuple[Any, ...], state: dict[str, Any]) -> RegistryError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(RegistryError):
    code = "configuration"
    title = "Configuration error"


class ValidationFailed(RegistryError):
    """Input that breaks a rule of its own (a bad USCC, an unknown division...)."""

    code = "validation_failed"
    title = "Validation failed"


class NotFound(RegistryError):
    """Absent, or not visible to the caller: the two are never told apart."""

    code = "not_found"
    title = "Not found"


class Conflict(RegistryError):
    """A state or rule conflict: a duplicate, a wrong workflow step."""

    code = "conflict"
    title = "Conflict"


class RequestInProgress(Conflict):
    """Another request with the same ``Idempotency-Key`` is still running: send it again
    after ``retry_after`` seconds (it will then be answered with that request's response)."""

    code = "request_in_progress"
    title = "Request in progress"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(RegistryError):
    code = "authentication_failed"
    title = "Authentication failed"


class InstitutionSuspended(AuthenticationFailed):
    """The password (token, session, API key) is right, but the user's institution or
    assessment body is suspended or blacklisted: no sign-in until the bureau reinstates it
    (``api/`` answers 403, not 401: signing in again does not help)."""

    code = "institution_suspended"
    title = "Institution suspended"


class RateLimited(RegistryError):
    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(RegistryError):
    """The caller may see the object but not do this to it (e.g. a role that may only read)."""

    code = "permission_denied"
    title = "Not allowed"
