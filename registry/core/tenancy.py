"""Who may see what: one query-set per aggregate, filtered to the principal's scope.

Every read and every write of a service starts from these, so an object outside the
caller's scope is simply not found (the API answers 404, never 403).
"""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from registry.core.principal import Principal
from registry.enums import Role
from registry.models.certificate import Certificate
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
