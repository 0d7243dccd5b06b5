"""Who may see what: one query-set per aggregate, filtered to the principal's scope.

Every read and every write of a service starts from these, so an object outside the
caller's scope is simply not found (the API answers 404, never 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from registry.core.principal import Principal
from registry.enums import Role
from registry.models.certificate import Certificate
from registry.models.subsidy import SubsidyClaim
from registry.models.training import Cohort, Enrolment, Trainee


def visible_cohorts(principal: Principal) -> QuerySet[Cohort]:
    query = Cohort.all()
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.AUDITOR:
        return query.filter(division_id=principal.division_code) if principal.division_code else query
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        return query.filter(institution_id=principal.institution_id)
    return query.filter(id__in=[])  # nothing


def visible_cohorts_sql(principal: Principal, *, alias: str, first: int) -> tuple[str, tuple[object, ...]]:
    """:func:`visible_cohorts` as a SQL condition on the cohort table named ``alias``, for the
    hottest reads written as plain SQL: ``(condition, arguments)``, the arguments numbered
    from ``$first``. The same scopes (tests/registry/core/test_tenancy.py checks both forms
    agree for every role)."""
    if principal.role is Role.ADMIN:
        return "TRUE", ()
    if principal.role is Role.AUDITOR:
        if principal.division_code:
            return f"{alias}.division_id = ${first}", (principal.division_code,)
        return "TRUE", ()
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        return f"{alias}.institution_id = ${first}", (principal.institution_id,)
    return "FALSE", ()


def visible_enrolments(principal: Principal) -> QuerySet[Enrolment]:
    query = Enrolment.all()
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.AUDITOR:
        return query.filter(cohort__division_id=principal.division_code) if principal.division_code else query
    if principal.role is Role.INSTITUTION and principal.institution_id is not None:
        return query.filter(cohort__institution_id=principal.institution_id)
    return query.filter(id__in=[])  # nothing


def visible_trainees(principal: Principal) -> QuerySet[Trainee]:
    """Auditors: the city, or for a county the people trained there and the people an
    enrolment says live there (the household given at enrolment, never what the last writer
    left on the person); an institution: the people it enrolled; an assessor: the people it
    certified."""
    query = Trainee.all()
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.AUDITOR:
        if not principal.division_code:
            return query
        return query.filter(
            Q(enrolments__household_division_id=principal.division_code)
            | Q(enrolments__cohort__division_id=principal.division_code)
        ).distinct()
    if principal.institution_id is None:
        return query.filter(id__in=[])  # nothing
    if principal.role is Role.INSTITUTION:
        return query.filter(enrolments__cohort__institution_id=principal.institution_id).distinct()
    if principal.role is Role.ASSESSOR:
        return query.filter(certificates__issuer_id=principal.institution_id).distinct()
    return query.filter(id__in=[])  # nothing


def visible_certificates(principal: Principal) -> QuerySet[Certificate]:
    query = Certificate.all()
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.AUDITOR:
        if not principal.division_code:
            return query
        return query.filter(
            Q(issuer__division_id=principal.division_code) | Q(cohort__division_id=principal.division_code)
        )
    if principal.institution_id is None:
        return query.filter(id__in=[])  # nothing
    if principal.role is Role.ASSESSOR:
        return query.filter(issuer_id=principal.institution_id)
    if principal.role is Role.INSTITUTION:
        return query.filter(cohort__institution_id=principal.institution_id)
    return query.filter(id__in=[])  # nothing


def visible_claims(principal: Principal) -> QuerySet[SubsidyClaim]:
    """Subsidy claims: an institution or an assessment body its own (it is the claimant), a
    county auditor those of cohorts held in its division, the city's auditors and admins
    every claim; anyone else nothing."""
    query = SubsidyClaim.all()
    if principal.role is Role.ADMIN or (principal.role is Role.AUDITOR and not principal.division_code):
        return query
    if principal.role is Role.AUDITOR:
        return query.filter(division_id=principal.division_code)
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR) and principal.institution_id is not None:
        return query.filter(institution_id=principal.institution_id)
    return query.filter(id__in=[])  # nothing


def visible_claims_sql(principal: Principal) -> tuple[str, list[Any]]:
    """:func:`visible_claims` as a WHERE clause on ``subsidy_claim AS s`` with one ``{p}``
    placeholder for its argument (``(clause, [argument])``, or no argument); the claims'
    queries number it. tests/registry/core/test_tenancy.py checks both forms agree."""
    if principal.role is Role.ADMIN or (principal.role is Role.AUDITOR and not principal.division_code):
        return "true", []
    if principal.role is Role.AUDITOR:
        return "s.division_id = {p}", [principal.division_code]
    if principal.role in (Role.INSTITUTION, Role.ASSESSOR) and principal.institution_id is not None:
        return "s.institution_id = {p}", [principal.institution_id]
    return "false", []


@dataclass(frozen=True)
class BureauScope:
    """What a reader of the bureau's figures, simulations and audit trail sees."""

    division_code: str | None
    """None: the whole city; else a county auditor's division."""


def bureau_scope(principal: Principal) -> BureauScope | None:
    """The bureau's scope of an auditor or an admin (a county auditor: its division); None
    for anyone else, who is answered 404 by every bureau read."""
    if principal.role is Role.ADMIN:
        return BureauScope(None)
    if principal.role is Role.AUDITOR:
        return BureauScope(principal.division_code or None)
    return None


def changeable_certificates(principal: Principal) -> QuerySet[Certificate]:
    """The certificates whose status the principal may change (suspend, revoke, reinstate):
    what it sees (:func:`visible_certificates`), except that a county auditor changes only
    the certificates of cohorts held in its division and those without a cohort issued by
    a body of its division (another county's money is not its to reach)."""
    query = visible_certificates(principal)
    if principal.role is Role.AUDITOR and principal.division_code:
        return query.filter(
            Q(cohort__division_id=principal.division_code)
            | Q(cohort_id=None, issuer__division_id=principal.division_code)
        )
    return query
