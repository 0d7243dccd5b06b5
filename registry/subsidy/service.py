"""Subsidy use cases: loading policy documents, reading them, and the calculator.

A policy is loaded once and never changes (DESIGN.md section 4): loading the same code with
the same content again is a no-op, with other content it is refused (a change is a new code
with its own effective dates); a period that overlaps another policy's is refused; nothing
is written on any error. The calculator reads only the policies and the priority list.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from registry import catalogue
from registry.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.core.uow import unit_of_work
from registry.enums import CohortKind
from registry.subsidy import queries
from registry.subsidy.policy import Policy, content_sha256, document_of, overlaps, parse_policy
from registry.subsidy.queries import PolicyRow
from registry.subsidy.rules import Evaluation, PersonFacts, evaluate, fact_errors


@dataclass(frozen=True)
class PolicyLoadReport:
    code: str
    effective_from: dt.date
    effective_to: dt.date | None
    sha256: str
    status: Literal["loaded", "unchanged"]


def _period(start: dt.date, end: dt.date | None) -> str:
    return f"{start.isoformat()} to {end.isoformat() if end else 'open'}"


async def load_policy_document(principal: Principal, policy: Policy) -> PolicyLoadReport:
    """Publish a validated policy (one unit of work under the policy lock)."""
    sha256 = content_sha256(policy)
    async with unit_of_work(principal) as uow:
        await queries.lock_policies(uow.conn)
        existing = await queries.all_policies(uow.conn)
        same = next((row for row in existing if row.code == policy.code), None)
        if same is not None:
            if same.sha256 == sha256:
                return PolicyLoadReport(
                    policy.code, same.effective_from, same.effective_to, sha256, "unchanged"
                )
            raise Conflict(
                f"policy {policy.code} is already published with other content (sha256 {same.sha256[:12]}); "
                "a published policy never changes: publish the change as a new code with its own dates",
                code="policy_immutable",
                errors=[
                    FieldError("$.code", "policy_immutable", f"{policy.code} is published with other content")
                ],
            )
        clashes = [
            row
            for row in existing
            if overlaps(policy.effective_from, policy.effective_to, row.effective_from, row.effective_to)
        ]
        if clashes:
            raise ValidationFailed(
                f"policy {policy.code} ({_period(policy.effective_from, policy.effective_to)}) overlaps "
                + ", ".join(f"{r.code} ({_period(r.effective_from, r.effective_to)})" for r in clashes)
                + "; nothing loaded",
                code="overlapping_policy",
                errors=[
                    FieldError(
                        "$.effective_from",
                        "overlapping_policy",
                        f"overlaps {r.code} ({_period(r.effective_from, r.effective_to)})",
                    )
                    for r in clashes
                ],
            )
        document = document_of(policy)
        await queries.insert_policy(
            uow.conn,
            code=policy.code,
            effective_from=policy.effective_from,
            effective_to=policy.effective_to,
            document=document,
            source_note=policy.source_note,
            sha256=sha256,
        )
        await uow.audit(
            "subsidy_policy.load",
            "subsidy_policy",
            policy.code,
            after={
                "code": policy.code,
                "effective_from": policy.effective_from.isoformat(),
                "effective_to": None if policy.effective_to is None else policy.effective_to.isoformat(),
                "sha256": sha256,
            },
        )
    return PolicyLoadReport(policy.code, policy.effective_from, policy.effective_to, sha256, "loaded")


async def load_policy(principal: Principal, text: str, name: str) -> PolicyLoadReport:
    """Parse, validate and publish a YAML policy document (``registry load-policy``)."""
    policy = await asyncio.to_thread(parse_policy, text, name)
    return await load_policy_document(principal, policy)


def shipped_policy_files() -> list[Path]:
    return sorted(catalogue.POLICIES_DIR.glob("*.yaml"))


async def load_shipped_policies(principal: Principal) -> list[PolicyLoadReport]:
    """The catalogue's policy documents (``registry load-reference``); idempotent."""
    reports = []
    for path in shipped_policy_files():
        reports.append(await load_policy(principal, path.read_text(encoding="utf-8"), path.name))
    return reports


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_parsed: dict[str, Policy] = {}
"""Policies by content hash: a published policy never changes, so its parse is kept."""


def policy_of(row: PolicyRow) -> Policy:
    policy = _parsed.get(row.sha256)
    if policy is None:
        policy = msgspec.convert(row.document, Policy)
        _parsed[row.sha256] = policy
    return policy


async def list_policies() -> list[PolicyRow]:
    return await queries.all_policies()


async def get_policy(code: str) -> PolicyRow:
    row = await queries.policy_by_code(code)
    if row is None:
        raise NotFound(f"no policy {code}")
    return row


# ---------------------------------------------------------------------------
# The calculator
# ---------------------------------------------------------------------------


async def choose_policy(end_date: dt.date, policy_code: str | None = None) -> Policy:
    """The policy in force on the cohort's end date; a named one must be that policy."""
    rows = await queries.all_policies()
    in_force = next((row for row in rows if policy_of(row).covers(end_date)), None)
    if policy_code is not None:
        named = next((row for row in rows if row.code == policy_code), None)
        if named is None:
            raise ValidationFailed(
                f"no policy {policy_code}",
                code="unknown_policy",
                errors=[FieldError("policy_code", "unknown_policy", f"no policy is called {policy_code}")],
            )
        if not policy_of(named).covers(end_date):
            raise ValidationFailed(
                f"policy {policy_code} ({_period(named.effective_from, named.effective_to)}) is not in force "
                f"on the cohort's end date {end_date.isoformat()}",
                code="policy_not_in_force",
                errors=[
                    FieldError(
                        "policy_code",
                        "policy_not_in_force",
                        f"{policy_code} is not in force on {end_date.isoformat()}",
                    )
                ],
            )
        return policy_of(named)
    if in_force is None:
        raise ValidationFailed(
            f"no subsidy policy is in force on the cohort's end date {end_date.isoformat()}",
            code="no_policy_in_force",
            errors=[
                FieldError(
                    "cohort.end_date",
                    "no_policy_in_force",
                    f"no subsidy policy is in force on {end_date.isoformat()}",
                )
            ],
        )
    return policy_of(in_force)


async def evaluate_facts(facts: PersonFacts, policy_code: str | None = None) -> Evaluation:
    """One person's lines (the calculator): the facts checked for contradictions, the policy
    in force on the cohort's end date, the priority list in force on its start date."""
    errors = fact_errors(facts)
    if errors:
        raise ValidationFailed("the facts contradict each other", errors=errors)
    policy = await choose_policy(facts.cohort.end_date, policy_code)
    cohort = facts.cohort
    priority = (
        cohort.kind is CohortKind.VOCATIONAL
        and cohort.occupation_code is not None
        and await queries.is_priority_trade(cohort.occupation_code, cohort.start_date)
    )
    if priority:
        facts = dataclasses.replace(
            facts, priority_list=await queries.priority_list_facts(None, cohort.start_date)
        )
    return evaluate(facts, policy, priority_trade=priority)
