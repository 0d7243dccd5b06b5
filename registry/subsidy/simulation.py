"""The what-if of a draft policy (``POST /policies/simulate``): the comparison, pure.

The worker (:mod:`registry.subsidy.simulations`) recomputes each computed claim's lines from
its stored snapshot under the draft with the claims engine's own code
(:func:`registry.subsidy.claims.line_records`, i.e. :func:`registry.subsidy.snapshot.items`
and :func:`registry.subsidy.rules.evaluate_batch`), and hands each claim's stored lines and
recomputed lines to a :class:`Comparison`, which adds them up. Nothing here reads or writes
the database: plain values in, a :class:`SimulationResult` out.

How costs are counted (docs/policy-simulation.md):

- a line is a pair: the stored line (computed under the policy in force on its cohort's end
  date) and the same person's line of the same kind recomputed under the draft, matched by
  enrolment and kind; only lines of the simulated ``year`` (the line's year: its
  certificate's issue year, else the cohort's end year) count;
- a line **costs** its ``total_fen`` under a policy when its outcome under that policy is
  ``clean`` or ``review`` (review lines are payable once an auditor approves them, so the
  cost is the upper bound of what the bureau may pay); a ``blocked`` line costs nothing
  and its amount is reported apart (``blocked_fen_*``);
- auditors' decisions (approved or rejected) do not change a line's cost: the simulation
  prices the policy, not the audit;
- breakdowns: ``by_sector`` is the occupation's major group of the 2022 classification (the
  first digit of its code; startup cohorts are ``startup``; a line with no occupation is
  ``unknown``), ``by_division`` the claim's division (where the cohort was held),
  ``by_priority_group`` each priority group given at enrolment (a person in two groups counts
  in both, so this breakdown adds up to more than the total; ``none`` when there is none).
  Keys are in ascending order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

BLOCKED = "blocked"
OUTCOMES = ("clean", "review", "blocked")
STARTUP_SECTOR = "startup"
UNKNOWN_SECTOR = "unknown"
NO_GROUP = "none"
STARTUP_NAME = "创业培训"


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineAmount:
    """One line as the comparison reads it (stored, or recomputed under the draft)."""

    enrolment_id: uuid.UUID
    kind: str
    """``training`` or ``assessment``."""
    year: int
    total_fen: int
    outcome: str
    policy_code: str
    cohort_kind: str
    occupation_code: str | None


@dataclass(frozen=True)
class ClaimLines:
    """One claim: its division, its people's priority groups, its lines both ways."""

    claim_id: uuid.UUID
    division_code: str
    in_force: Sequence[LineAmount]
    """The lines as stored (computed under the policy in force)."""
    draft: Sequence[LineAmount]
    """The same claim's lines recomputed from its snapshot under the draft."""
    groups: Mapping[uuid.UUID, Sequence[str]] = field(default_factory=dict)
    """The priority groups given at enrolment, by enrolment id."""


# ---------------------------------------------------------------------------
# The result (stored as JSON on policy_simulation.result, answered by the API as is)
# ---------------------------------------------------------------------------


class Breakdown(msgspec.Struct, kw_only=True):
    key: str
    name: str | None = None
    """For people: the major group's or the division's name, where the reference data has it."""
    lines: int = 0
    in_force_fen: int = 0
    draft_fen: int = 0
    difference_fen: int = 0
    """``draft_fen - in_force_fen``."""


class OutcomeCounts(msgspec.Struct, kw_only=True):
    clean: int = 0
    review: int = 0
    blocked: int = 0
    absent: int = 0
    """Lines that exist under the other policy only (an assessment line a policy pays nothing for)."""


class SimulationResult(msgspec.Struct, kw_only=True):
    year: int
    draft_code: str
    division_code: str | None
    """The division simulated (a county auditor's), or None: the whole city."""
    in_force: list[str]
    """The codes of the policies the stored lines were computed under."""
    claims: int
    lines: int
    total_fen_in_force: int
    total_fen_draft: int
    difference_fen: int
    blocked_fen_in_force: int
    """What the blocked lines would have been (not a cost)."""
    blocked_fen_draft: int
    outcomes_in_force: OutcomeCounts
    outcomes_draft: OutcomeCounts
    outcome_changes: int
    """Lines whose outcome under the draft differs from the one in force."""
    by_sector: list[Breakdown]
    by_division: list[Breakdown]
    by_priority_group: list[Breakdown]


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


def cost_of(line: LineAmount | None) -> int:
    """What a line costs: its total unless it is blocked (or absent)."""
    if line is None or line.outcome == BLOCKED:
        return 0
    return line.total_fen


def sector_of(line: LineAmount) -> str:
    """The occupation's major group (``4`` for ``4-02-04-06``), ``startup``, or ``unknown``."""
    if line.cohort_kind == "startup":
        return STARTUP_SECTOR
    if line.occupation_code:
        return line.occupation_code.split("-", 1)[0]
    return UNKNOWN_SECTOR


def _count(counts: OutcomeCounts, line: LineAmount | None) -> None:
    name = "absent" if line is None else line.outcome
    setattr(counts, name, getattr(counts, name) + 1)


class Comparison:
    """Adds up claims one at a time (the worker streams them page by page)."""

    def __init__(
        self,
        year: int,
        draft_code: str,
        *,
        division_code: str | None = None,
        sector_names: Mapping[str, str] | None = None,
        division_names: Mapping[str, str] | None = None,
    ) -> None:
        self.year = year
        self.draft_code = draft_code
        self.division_code = division_code
        self.sector_names = {STARTUP_SECTOR: STARTUP_NAME, **(sector_names or {})}
        self.division_names = dict(division_names or {})
        self.in_force_codes: set[str] = set()
        self.claims = 0
        self.lines = 0
        self.total_in_force = 0
        self.total_draft = 0
        self.blocked_in_force = 0
        self.blocked_draft = 0
        self.outcome_changes = 0
        self.outcomes_in_force = OutcomeCounts()
        self.outcomes_draft = OutcomeCounts()
        self.by_sector: dict[str, Breakdown] = {}
        self.by_division: dict[str, Breakdown] = {}
        self.by_group: dict[str, Breakdown] = {}

    def add(self, claim: ClaimLines) -> None:
        def of_year(lines: Iterable[LineAmount]) -> dict[tuple[uuid.UUID, str], LineAmount]:
            return {(line.enrolment_id, line.kind): line for line in lines if line.year == self.year}

        stored, draft = of_year(claim.in_force), of_year(claim.draft)
        keys = sorted(stored.keys() | draft.keys(), key=lambda k: (str(k[0]), k[1]))
        if not keys:
            return
        self.claims += 1
        for key in keys:
            self._add_line(claim, stored.get(key), draft.get(key))

    def _add_line(self, claim: ClaimLines, stored: LineAmount | None, draft: LineAmount | None) -> None:
        line = stored or draft
        assert line is not None
        before, after = cost_of(stored), cost_of(draft)
        self.lines += 1
        self.total_in_force += before
        self.total_draft += after
        if stored is not None:
            self.in_force_codes.add(stored.policy_code)
            if stored.outcome == BLOCKED:
                self.blocked_in_force += stored.total_fen
        if draft is not None and draft.outcome == BLOCKED:
            self.blocked_draft += draft.total_fen
        _count(self.outcomes_in_force, stored)
        _count(self.outcomes_draft, draft)
        if (stored and stored.outcome) != (draft and draft.outcome):
            self.outcome_changes += 1
        sector = sector_of(line)
        _add(self.by_sector, sector, self.sector_names.get(sector), before, after)
        division = claim.division_code
        _add(self.by_division, division, self.division_names.get(division), before, after)
        groups = sorted(set(claim.groups.get(line.enrolment_id, ()))) or [NO_GROUP]
        for group in groups:
            _add(self.by_group, group, None, before, after)

    def result(self) -> SimulationResult:
        return SimulationResult(
            year=self.year,
            draft_code=self.draft_code,
            division_code=self.division_code,
            in_force=sorted(self.in_force_codes),
            claims=self.claims,
            lines=self.lines,
            total_fen_in_force=self.total_in_force,
            total_fen_draft=self.total_draft,
            difference_fen=self.total_draft - self.total_in_force,
            blocked_fen_in_force=self.blocked_in_force,
            blocked_fen_draft=self.blocked_draft,
            outcomes_in_force=self.outcomes_in_force,
            outcomes_draft=self.outcomes_draft,
            outcome_changes=self.outcome_changes,
            by_sector=_ordered(self.by_sector),
            by_division=_ordered(self.by_division),
            by_priority_group=_ordered(self.by_group),
        )


def _add(into: dict[str, Breakdown], key: str, name: str | None, before: int, after: int) -> None:
    entry = into.get(key)
    if entry is None:
        entry = into[key] = Breakdown(key=key, name=name)
    entry.lines += 1
    entry.in_force_fen += before
    entry.draft_fen += after
    entry.difference_fen += after - before


def _ordered(entries: Mapping[str, Breakdown]) -> list[Breakdown]:
    return [entries[key] for key in sorted(entries)]


def compare(
    year: int,
    draft_code: str,
    claims: Iterable[ClaimLines],
    *,
    division_code: str | None = None,
    sector_names: Mapping[str, str] | None = None,
    division_names: Mapping[str, str] | None = None,
) -> SimulationResult:
    """The whole comparison at once (what :class:`Comparison` adds up claim by claim)."""
    comparison = Comparison(
        year,
        draft_code,
        division_code=division_code,
        sector_names=sector_names,
        division_names=division_names,
    )
    for claim in claims:
        comparison.add(claim)
    return comparison.result()
