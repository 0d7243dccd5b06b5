"""Institutions: training providers and assessment bodies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from registry.accounts.rules import kinds_errors, normalise_uscc, uscc_error, years_errors
from registry.core.db import unique_violation
from registry.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from registry.core.paging import Page, page_of
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import InstitutionStatus, Role
from registry.models.institution import Institution
from registry.models.reference import Division


@dataclass(frozen=True)
class InstitutionInput:
    uscc: str
    name: str
    division_code: str
    kinds: list[str]
    approved_years: list[int] = field(default_factory=list)
    status: str = InstitutionStatus.ACTIVE.value


def snapshot(inst: Institution) -> dict[str, Any]:
    return {
        "uscc": inst.uscc,
        "name": inst.name,
        "division": inst.division_id,  # type: ignore[attr-defined]
        "kinds": inst.kinds,
        "approved_years": inst.approved_years,
        "status": inst.status.value if isinstance(inst.status, InstitutionStatus) else inst.status,
    }


async def create_institution(principal: Principal, data: InstitutionInput) -> Institution:
    if principal.role is not Role.ADMIN:
        raise PermissionDenied("only an administrator registers institutions")
    errors: list[FieldError] = []
    uscc = normalise_uscc(data.uscc)
    if (err := uscc_error(uscc)) is not None:
        errors.append(err)
    errors += kinds_errors(data.kinds)
    errors += years_errors(data.approved_years)
    name = data.name.strip()
    if not name:
        errors.append(FieldError("name", "required", "the institution's registered name is required"))
    if data.status not in {s.value for s in InstitutionStatus}:
        errors.append(FieldError("status", "invalid_choice", "status is active, suspended or blacklisted"))
    if not await Division.filter(code=data.division_code).exists():
        errors.append(
            FieldError(
                "division_code", "unknown_division", f"{data.division_code!r} is not a Luoyang division"
            )
        )
    if errors:
        raise ValidationFailed("the institution is not valid", errors=errors)
    async with unit_of_work(principal) as uow:
        if await Institution.filter(uscc=uscc).using_db(uow.conn).exists():
            raise _duplicate_uscc()
        try:
            inst = await Institution.create(
                uscc=uscc,
                name=name,
                division_id=data.division_code,
                kinds=sorted(set(data.kinds)),
                approved_years=sorted(set(data.approved_years)),
                status=InstitutionStatus(data.status),
                using_db=uow.conn,
            )
        except IntegrityError as exc:
            # Another request registered the same code between the check and the insert.
            if unique_violation(exc) == ("uscc",):
                raise _duplicate_uscc() from None
            raise
        await uow.audit("institution.create", "institution", inst.id, after=snapshot(inst))
    return inst


def _duplicate_uscc() -> Conflict:
    return Conflict(
        "an institution with this unified social credit code is already registered",
        code="duplicate_institution",
        errors=[FieldError("uscc", "duplicate", "already registered")],
    )


def visible_institutions(principal: Principal) -> QuerySet[Institution]:
    """Tenancy: admins see all; an auditor its division (or the city); anyone else its own."""
    query = Institution.all()
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.AUDITOR:
        return query.filter(division_id=principal.division_code) if principal.division_code else query
    if principal.institution_id is None:
        return query.filter(id__in=[])  # nothing
    return query.filter(id=principal.institution_id)


async def list_institutions(
    principal: Principal,
    *,
    limit: int,
    offset: int,
    kind: str | None = None,
    division_code: str | None = None,
    newest_first: bool = False,
) -> Page[Institution]:
    """Institutions the caller sees, by name (``newest_first``: the latest registered first)."""
    query = visible_institutions(principal).order_by(
        *(("-created_at", "id") if newest_first else ("name", "id"))
    )
    if kind:
        query = query.filter(kinds__contains=[kind])
    if division_code:
        query = query.filter(division_id=division_code)
    return await page_of(query, limit, offset)


async def get_institution(principal: Principal, institution_id: uuid.UUID) -> Institution:
    inst = await visible_institutions(principal).get_or_none(id=institution_id)
    if inst is None:
        raise NotFound("no such institution")
    return inst


MAX_REASON_LENGTH = 500


async def _for_change(principal: Principal, institution_id: uuid.UUID, conn: Any) -> Institution:
    """The institution an administrator changes, locked; anyone else: NotFound for one it
    may not see, PermissionDenied for one it may (an auditor reads its county's)."""
    if principal.role is not Role.ADMIN:
        await get_institution(principal, institution_id)
        raise PermissionDenied("only an administrator changes an institution's standing")
    inst = await Institution.filter(id=institution_id).using_db(conn).select_for_update().get_or_none()
    if inst is None:
        raise NotFound("no such institution")
    return inst


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(
            "give the reason", errors=[FieldError("reason", "required", "the reason is required")]
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            "the reason is too long",
            errors=[FieldError("reason", "too_long", f"at most {MAX_REASON_LENGTH} characters")],
        )
    return reason


async def approve_for_year(principal: Principal, institution_id: uuid.UUID, year: int) -> Institution:
    """Put the institution on the year's list of approved providers (``approved_years``);
    audited. Approving a year it already has changes nothing."""
    if errors := years_errors([year], field="year"):
        raise ValidationFailed("the year is out of range", errors=errors)
    async with unit_of_work(principal) as uow:
        inst = await _for_change(principal, institution_id, uow.conn)
        if year not in inst.approved_years:
            before = snapshot(inst)
            inst.approved_years = sorted({*inst.approved_years, year})
            await inst.save(using_db=uow.conn, update_fields=["approved_years", "updated_at"])
            await uow.audit(
                "institution.approve_year",
                "institution",
                inst.id,
                before=before,
                after={**snapshot(inst), "year": year},
            )
    return inst


async def _change_status(
    principal: Principal,
    institution_id: uuid.UUID,
    reason: str,
    *,
    action: str,
    allowed_from: tuple[InstitutionStatus, ...],
    to: InstitutionStatus,
) -> Institution:
    reason = _reason(reason)
    async with unit_of_work(principal) as uow:
        inst = await _for_change(principal, institution_id, uow.conn)
        status = InstitutionStatus(inst.status)
        if status not in allowed_from:
            raise Conflict(
                f"the institution is {status.value}: it cannot be {action}ed",
                code="institution_status",
                errors=[FieldError("status", "invalid_transition", f"the institution is {status.value}")],
            )
        before = snapshot(inst)
        inst.status = to
        await inst.save(using_db=uow.conn, update_fields=["status", "updated_at"])
        await uow.audit(
            f"institution.{action}",
            "institution",
            inst.id,
            before=before,
            after={**snapshot(inst), "reason": reason},
        )
    return inst


async def suspend_institution(principal: Principal, institution_id: uuid.UUID, reason: str) -> Institution:
    """Suspend an active institution, with a reason (audited): its users and API keys are
    refused from then on, its claims flagged ``INSTITUTION_NOT_APPROVED``."""
    return await _change_status(
        principal,
        institution_id,
        reason,
        action="suspend",
        allowed_from=(InstitutionStatus.ACTIVE,),
        to=InstitutionStatus.SUSPENDED,
    )


async def reinstate_institution(principal: Principal, institution_id: uuid.UUID, reason: str) -> Institution:
    """Reinstate a suspended or blacklisted institution, with a reason (audited)."""
    return await _change_status(
        principal,
        institution_id,
        reason,
        action="reinstate",
        allowed_from=(InstitutionStatus.SUSPENDED, InstitutionStatus.BLACKLISTED),
        to=InstitutionStatus.ACTIVE,
    )


async def administered_institutions(
    principal: Principal, *, limit: int, offset: int, kind: str | None = None
) -> Page[Institution]:
    """The administration's list of every institution (administrators; anyone else NotFound:
    an auditor reads its county's institutions through :func:`list_institutions`)."""
    if principal.role is not Role.ADMIN:
        raise NotFound("no such page")
    return await list_institutions(principal, limit=limit, offset=offset, kind=kind, newest_first=True)
