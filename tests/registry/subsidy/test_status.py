"""The claim's status as one pure transition function (issue 15, defect 6), over every status
and event: which events a status allows, and the status the lines then give. No database."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.enums import ClaimStatus
from registry.subsidy.rules import (
    TRANSITIONS,
    ClaimEvent,
    ClaimTransitionError,
    LineTally,
    next_claim_status,
    status_of,
)

S, E = ClaimStatus, ClaimEvent

ALLOWED = {
    E.COMPUTE: {S.SUBMITTED},
    E.FAIL: {S.SUBMITTED},
    E.WITHDRAW: {S.SUBMITTED, S.COMPUTED},
    E.DECIDE: {S.COMPUTED, S.IN_REVIEW, S.DECIDED, S.NOTICED, S.PAYABLE, S.PAID},
    E.PUBLISH: {S.DECIDED, S.PAYABLE, S.PAID},
    E.OBJECT: {S.NOTICED},
    E.CERTIFICATE_CHANGE: {S.COMPUTED, S.IN_REVIEW, S.DECIDED, S.NOTICED, S.PAYABLE, S.PAID},
    E.NOTICE_END: {S.NOTICED},
    E.PAY: {S.NOTICED, S.PAYABLE},
    E.CLAW_BACK: {S.COMPUTED, S.IN_REVIEW, S.DECIDED, S.NOTICED, S.PAYABLE, S.PAID},
}
"""The table, written out: a withdrawn or failed claim takes no event at all."""

FRESH = LineTally(lines=3, undecided=3)
HALF = LineTally(lines=3, undecided=1, touched=2, waiting=2)
DECIDED = LineTally(lines=3, touched=3, waiting=2)
NOTICED = LineTally(lines=3, touched=4, on_notice=2)
OWED = LineTally(lines=3, touched=4, unpaid=2)
PAID = LineTally(lines=3, touched=4, paid=2)
REJECTED = LineTally(lines=3, touched=3)


def test_the_table_is_the_one_written_out() -> None:
    assert {event: set(statuses) for event, statuses in TRANSITIONS.items()} == ALLOWED
    assert set(TRANSITIONS) == set(ClaimEvent)


@pytest.mark.parametrize(("status", "event"), list(itertools.product(ClaimStatus, ClaimEvent)))
def test_every_status_and_event(status: ClaimStatus, event: ClaimEvent) -> None:
    if status not in ALLOWED[event]:
        with pytest.raises(ClaimTransitionError):
            next_claim_status(status, event, DECIDED)
        return
    after = next_claim_status(status, event, DECIDED)
    if event is E.FAIL:
        assert after is S.FAILED
    elif event is E.WITHDRAW:
        assert after is S.WITHDRAWN
    else:
        assert after is S.DECIDED


@pytest.mark.parametrize(
    ("tally", "status"),
    [
        (LineTally(), S.COMPUTED),
        (FRESH, S.COMPUTED),
        (HALF, S.IN_REVIEW),
        (DECIDED, S.DECIDED),
        (NOTICED, S.NOTICED),
        (OWED, S.PAYABLE),
        (PAID, S.PAID),
        (REJECTED, S.DECIDED),
        # paid while a second notice runs: the notice first
        (LineTally(lines=3, touched=4, on_notice=1, paid=2), S.NOTICED),
        # money owed and a line back to review: owed first (the bureau's payment queue)
        (LineTally(lines=3, undecided=1, touched=4, unpaid=1), S.PAYABLE),
        # paid, the last line sent back: to review; then rejected: paid
        (LineTally(lines=3, undecided=1, touched=4, paid=2), S.IN_REVIEW),
        (LineTally(lines=3, touched=4, paid=2), S.PAID),
        # every grant clawed back before payment: nothing owed, nothing paid
        (LineTally(lines=1, touched=2), S.DECIDED),
    ],
)
def test_the_status_follows_from_the_lines(tally: LineTally, status: ClaimStatus) -> None:
    assert status_of(tally) is status


def test_a_decision_cleared_by_a_certificate_keeps_the_audit_going() -> None:
    assert next_claim_status(S.DECIDED, E.CERTIFICATE_CHANGE, FRESH) is S.IN_REVIEW
    assert next_claim_status(S.SUBMITTED, E.COMPUTE, FRESH) is S.COMPUTED
    assert next_claim_status(S.COMPUTED, E.CERTIFICATE_CHANGE, FRESH) is S.COMPUTED


TALLIES = st.builds(
    LineTally,
    lines=st.integers(0, 5),
    undecided=st.integers(0, 5),
    touched=st.integers(0, 6),
    waiting=st.integers(0, 5),
    on_notice=st.integers(0, 5),
    unpaid=st.integers(0, 5),
    paid=st.integers(0, 5),
)


@given(TALLIES, st.sampled_from(list(ClaimStatus)), st.sampled_from(list(ClaimEvent)))
def test_never_payable_without_money_owed_nor_paid_with_money_owed(
    tally: LineTally, status: ClaimStatus, event: ClaimEvent
) -> None:
    try:
        after = next_claim_status(status, event, tally)
    except ClaimTransitionError:
        return
    if after is S.PAYABLE:
        assert tally.unpaid > 0
    if after is S.PAID:
        assert tally.paid > 0 and tally.unpaid == 0 and tally.on_notice == 0 and tally.undecided == 0
    if after is S.NOTICED:
        assert tally.on_notice > 0
