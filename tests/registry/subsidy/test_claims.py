"""Claims at the service level: filing, computing (what the worker runs), withdrawing; the
lines judged against the ledger, the other lines, and the database checks."""

from __future__ import annotations

import uuid

import pytest

from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied
from registry.core.principal import system
from registry.core.uow import unit_of_work
from registry.enums import ClaimStatus, CohortKind, SubsidyKind
from registry.ledger import queries as ledger
from registry.ledger.rules import NewGrant
from registry.models.audit import AuditEvent
from registry.models.subsidy import SubsidyLine
from registry.subsidy import claims
from registry.subsidy.rules import OTHER_TENANTS_FACTS
from registry.subsidy.service import load_shipped_policies
from tests import factories
from tests.factories import OCCUPATION, TODAY, Trainee, claimable_cohort


@pytest.fixture(scope="module", autouse=True)
async def policies(database: None) -> None:
    await factories.ensure_catalogue()
    await load_shipped_policies(system("test"))


def codes(line: claims.LineView) -> set[str]:
    return {flag["code"] for flag in line.flags}


async def computed(vault: Vault, claim_id: uuid.UUID, principal: object) -> claims.ClaimView:
    report = await claims.compute_claim(claim_id, vault=vault)
    assert report is not None and report.status == "computed", report
    return await claims.get_claim(principal, claim_id)  # type: ignore[arg-type]


async def test_a_claim_is_computed_from_a_snapshot_with_amounts_flags_and_traces(vault: Vault) -> None:
    cohort = await claimable_cohort(
        vault,
        [Trainee(), Trainee(hours=40), Trainee(outcome="withdrawn", hours=10, certified=False)],
    )
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    assert filed.status is ClaimStatus.SUBMITTED and filed.policy_code == "henan-2022"
    assert filed.lines is None

    claim = await computed(vault, filed.id, cohort.owner)
    assert claim.status is ClaimStatus.COMPUTED and claim.line_count == 3
    assert claim.lines is not None
    by_enrolment = {line.enrolment_id: line for line in claim.lines}
    clean, short, withdrawn = (by_enrolment[e] for e in cohort.enrolment_ids)
    assert clean.outcome == "clean" and clean.base_fen == 120_000 and clean.flags == [], clean.flags
    assert short.outcome == "blocked" and "ATTENDANCE" in codes(short)
    assert withdrawn.outcome == "blocked" and {"NOT_COMPLETED", "NO_CERTIFICATE"} <= codes(withdrawn)
    assert [step["rule"] for step in clean.trace][-4:] == ["ID_INVALID", "OVERLAP", "SHARED_PHONE", "OUTCOME"]
    assert all(line.id_number_masked.count("*") >= 8 for line in claim.lines)
    assert claim.total_fen == sum(line.total_fen for line in claim.lines)
    assert claim.clean_fen == clean.total_fen and claim.clean_lines == 1 and claim.blocked_lines == 2
    assert sorted(line.seq for line in claim.lines) == [1, 2, 3]
    events = await AuditEvent.filter(entity_type="subsidy_claim", entity_id=str(filed.id)).order_by("id")
    assert [e.action for e in events] == ["subsidy_claim.file", "subsidy_claim.compute"]


async def test_computing_twice_changes_nothing(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await computed(vault, filed.id, cohort.owner)
    again = await claims.compute_claim(filed.id, vault=vault)
    assert again is not None and again.status == "skipped"
    assert await SubsidyLine.filter(claim_id=filed.id).count() == 2


async def test_the_ledger_and_the_other_lines_decide_repeats(vault: Vault) -> None:
    """A person already granted this occupation and level is blocked (SAME_LEVEL_REPEAT)."""
    cohort = await claimable_cohort(vault, [Trainee(), Trainee()])
    granted = cohort.trainee_ids[0]
    async with unit_of_work(system("test")) as uow:
        await ledger.insert_grants(
            uow.conn,
            [
                NewGrant(
                    trainee_id=granted,
                    kind=SubsidyKind.TRAINING,
                    cohort_kind=CohortKind.VOCATIONAL,
                    occupation_code=OCCUPATION,
                    level=5,
                    certificate_kind="skill_level",  # type: ignore[arg-type]
                    year=TODAY.year - 1,
                    amount_fen=120_000,
                    policy_code="henan-2022",
                    granted_by="system:test",
                )
            ],
        )
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    claim = await computed(vault, filed.id, cohort.owner)
    assert claim.lines is not None
    line = {line.trainee_id: line for line in claim.lines}
    assert "SAME_LEVEL_REPEAT" in codes(line[granted]) and line[granted].outcome == "blocked"
    assert line[cohort.trainee_ids[1]].outcome == "clean"


async def test_overlapping_enrolments_and_shared_phones_are_flagged_for_review(vault: Vault) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    shared = [Trainee(phone=phone) for _ in range(3)]
    cohort = await claimable_cohort(vault, [*shared, Trainee()])
    # Two more people with the same phone at another institution: five in all.
    elsewhere = await claimable_cohort(vault, [Trainee(phone=phone), Trainee(phone=phone)], close=False)
    # The first person is also in a third institution's cohort at the same time.
    numbers = await _id_numbers(vault, cohort.trainee_ids[:1])
    await claimable_cohort(vault, [Trainee(id_number=numbers[0])], close=False)
    del elsewhere

    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    claim = await computed(vault, filed.id, cohort.owner)
    assert claim.lines is not None
    line = {line.trainee_id: line for line in claim.lines}
    first, second, third, other = (line[t] for t in cohort.trainee_ids)
    assert codes(first) == {"OVERLAP", "SHARED_PHONE"} and first.outcome == "review"
    assert codes(second) == {"SHARED_PHONE"} and second.outcome == "review"
    assert codes(other) == set() and other.outcome == "clean"
    del third
    # The bureau reads the other institutions' facts; the institution only that the flag
    # fired and what it must answer (issue 15, item 15: no look-up of where people train).
    bureau = await claims.get_claim(factories.auditor(), filed.id)
    assert bureau.lines is not None
    seen = {line.trainee_id: line for line in bureau.lines}
    assert "5 people at 2 institutions" in next(
        f["message"] for f in seen[second.trainee_id].flags if f["code"] == "SHARED_PHONE"
    )
    overlap = next(s for s in seen[first.trainee_id].trace if s["rule"] == "OVERLAP")
    assert overlap["inputs"]["other_cohorts"] and "withheld" not in str(overlap["inputs"])
    for mine in (first, second):
        assert {f["message"] for f in mine.flags} <= {text for _, text in OTHER_TENANTS_FACTS.values()}
        assert all(
            value == "withheld: facts of other institutions, for the bureau"
            for s in mine.trace
            if s["rule"] in ("OVERLAP", "SHARED_PHONE")
            for value in s["inputs"].values()
        )


async def _id_numbers(vault: Vault, trainee_ids: list[uuid.UUID]) -> list[str]:
    from registry.models.training import Trainee as TraineeRow
    from registry.people.queries import ID_CONTEXT

    rows = {t.id: t for t in await TraineeRow.filter(id__in=trainee_ids)}
    return [vault.decrypt(bytes(rows[t].id_cipher), context=ID_CONTEXT) for t in trainee_ids]


async def test_one_open_claim_per_cohort_and_kind_and_withdrawing_frees_it(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    first = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    with pytest.raises(Conflict) as refused:
        await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    assert refused.value.code == "claim_already_open"
    await computed(vault, first.id, cohort.owner)
    withdrawn = await claims.withdraw_claim(cohort.owner, first.id, "wrong hours")
    assert withdrawn.status is ClaimStatus.WITHDRAWN and withdrawn.withdraw_reason == "wrong hours"
    with pytest.raises(Conflict) as again:
        await claims.withdraw_claim(cohort.owner, first.id)
    assert again.value.code == "claim_not_withdrawable"
    second = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    assert second.id != first.id and second.status is ClaimStatus.SUBMITTED


async def test_a_cohort_not_closed_or_not_ones_own_cannot_be_claimed(vault: Vault) -> None:
    running = await claimable_cohort(vault, [Trainee()], close=False)
    with pytest.raises(Conflict) as refused:
        await claims.file_claim(running.owner, running.cohort_id, SubsidyKind.TRAINING)
    assert refused.value.code == "cohort_not_closed"
    other = factories.acting_for(await factories.new_institution())
    with pytest.raises(NotFound):
        await claims.file_claim(other, running.cohort_id, SubsidyKind.TRAINING)
    with pytest.raises(PermissionDenied):
        await claims.file_claim(factories.auditor(), running.cohort_id, SubsidyKind.TRAINING)


async def test_the_assessment_body_claims_for_the_certificates_it_issued(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(), Trainee(certified=False)])
    with pytest.raises(NotFound):
        other_body = factories.acting_for(
            await factories.new_institution(kinds=["assessment"]), cohort.assessor.role
        )
        await claims.file_claim(other_body, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    filed = await claims.file_claim(cohort.assessor, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    assert filed.institution_id == cohort.assessor_body.id
    claim = await computed(vault, filed.id, cohort.assessor)
    assert claim.lines is not None and len(claim.lines) == 2
    assert {line.kind for line in claim.lines} == {SubsidyKind.ASSESSMENT}
    assert all(line.base_fen == 20_000 and line.uplift_fen == 0 for line in claim.lines)
    # The institution's own training claim is a separate slot.
    training = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    assert training.kind is SubsidyKind.TRAINING


async def test_claims_are_scoped(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    stranger = factories.acting_for(await factories.new_institution())
    with pytest.raises(NotFound):
        await claims.get_claim(stranger, filed.id)
    with pytest.raises(NotFound):
        await claims.get_claim(factories.auditor("410311"), filed.id)
    assert (await claims.get_claim(factories.auditor("410305"), filed.id)).id == filed.id
    assert (await claims.get_claim(factories.auditor(), filed.id)).id == filed.id
    mine = await claims.list_claims(cohort.owner, limit=50, offset=0)
    assert [c.id for c in mine.items] == [filed.id]
    theirs = await claims.list_claims(stranger, limit=50, offset=0)
    assert theirs.total == 0


async def test_a_stored_id_number_that_fails_its_check_digit_is_blocked(vault: Vault) -> None:
    """ID_INVALID reads the stored number (as a legacy import could have left it)."""
    from registry.models.training import Trainee as TraineeRow
    from registry.people.queries import ID_CONTEXT

    cohort = await claimable_cohort(vault, [Trainee(), Trainee()])
    [number] = await _id_numbers(vault, cohort.trainee_ids[:1])
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    await TraineeRow.filter(id=cohort.trainee_ids[0]).update(
        id_cipher=vault.encrypt(wrong, context=ID_CONTEXT)
    )
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    claim = await computed(vault, filed.id, cohort.owner)
    assert claim.lines is not None
    line = {line.trainee_id: line for line in claim.lines}
    bad = line[cohort.trainee_ids[0]]
    assert codes(bad) == {"ID_INVALID"} and bad.outcome == "blocked"
    assert wrong not in str(bad.flags) and wrong not in str(bad.trace)
    assert line[cohort.trainee_ids[1]].outcome == "clean"
