"""A claim's snapshot: the inputs every line of it was computed from, stored with the claim.

The worker reads the facts of a claim's people from the database once (the enrolments, the
certificates, the grant ledger, the OVERLAP / SHARED_PHONE / ID_INVALID findings), writes
them into the snapshot, and computes the lines from the snapshot alone, so a line can always
be recomputed from what is kept: the what-if of a draft policy (``POST /policies/simulate``)
reruns the same :func:`items` under another policy. Pure: plain values in, plain values out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec

from registry.enums import EnrolmentOutcome, SubsidyKind
from registry.subsidy.policy import Policy
from registry.subsidy.rules import (
    BatchItem,
    CertificateFacts,
    CohortFacts,
    Findings,
    Grant,
    PersonFacts,
    PriorityListFacts,
)

VERSION = 1


class Person(msgspec.Struct, kw_only=True):
    enrolment_id: uuid.UUID
    trainee_id: uuid.UUID
    person_key: str
    """The ID number's blind index: it orders the claim (DESIGN.md section 5)."""
    birth_date: dt.date
    attended_hours: Decimal
    outcome: EnrolmentOutcome
    groups: list[str] = []
    """The priority groups given at enrolment (the what-if's breakdown)."""
    certificate_id: uuid.UUID | None = None
    certificate: CertificateFacts | None = None
    history: list[Grant] = []
    """The person's training grants in the ledger when the claim was computed."""
    assessment_history: list[Grant] = []
    """The person's assessment grants (an assessment line's repeats)."""
    findings: Findings = Findings()


class Snapshot(msgspec.Struct, kw_only=True):
    version: int = VERSION
    claim_kind: SubsidyKind
    policy_code: str
    policy_sha256: str
    cohort: CohortFacts
    division_code: str
    priority_trade: bool
    """On the priority list in force on the cohort's start date."""
    institution_approved: bool
    claim_date: dt.date
    assessor_approved: bool = True
    """An assessment claim's body is approved for the cohort's year and active."""
    priority_list: PriorityListFacts | None = None
    """The priority-trade list in force on the cohort's start date."""
    people: list[Person]


def facts_of(snapshot: Snapshot, person: Person) -> PersonFacts:
    return PersonFacts(
        cohort=snapshot.cohort,
        birth_date=person.birth_date,
        attended_hours=person.attended_hours,
        outcome=person.outcome,
        claim_date=snapshot.claim_date,
        certificate=person.certificate,
        history=tuple(person.history),
        institution_approved=snapshot.institution_approved,
        certificate_id=person.certificate_id,
        assessment_history=tuple(person.assessment_history),
        assessor_approved=snapshot.assessor_approved,
        priority_list=snapshot.priority_list,
    )


def items(snapshot: Snapshot, policy: Policy) -> list[BatchItem]:
    """The claim's batch under ``policy`` (the claim's own, or a draft), in snapshot order."""
    return [
        BatchItem(
            person_key=person.person_key,
            facts=facts_of(snapshot, person),
            policy=policy,
            priority_trade=snapshot.priority_trade,
            findings=person.findings,
        )
        for person in snapshot.people
    ]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Snapshot)


def encode(snapshot: Snapshot) -> bytes:
    return _encoder.encode(snapshot)


def decode(data: bytes | str) -> Snapshot:
    return _decoder.decode(data)
