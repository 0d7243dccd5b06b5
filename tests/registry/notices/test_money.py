"""Money that cannot be paid wrongly (issue 15): each defect's scenario against the real
services on a real PostgreSQL, the races as two real concurrent transactions.

- level-less subsidies are granted once (the notice's end and the ledger's indexes);
- a certificate changed after the claim was computed reaches every line not granted;
- a revocation racing the notice's end, a payment racing a clawback;
- a county auditor reaches only its county's certificates;
- a second assessment body files its own claim;
- a claim's status follows from its lines (rejected last, clawed back before payment, paid
  while a second notice runs);
- the payment's date and lines, reasons made of invisible characters;
- the assessment body's standing at compute.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from registry.certificates.service import CertificateInput, change_status, issue_certificate
from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import system
from registry.core.uow import unit_of_work
from registry.enums import CertificateKind, CertificateStatus, ClaimStatus, CohortKind, Role, SubsidyKind
from registry.ledger import queries as ledger_queries
from registry.ledger.rules import NewGrant
from registry.models.certificate import Certificate
from registry.models.ledger import SubsidyGrant
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.notices import service as notices
from registry.subsidy import claims, decisions
from registry.subsidy.rules import Decision, DecisionRequest
from tests import factories
from tests.factories import OCCUPATION, TODAY, Trainee, claimable_cohort, noticed_claim

pytestmark = pytest.mark.usefixtures("working_day_calendar")

PUBLISHED = dt.date(2026, 11, 2)  # a Monday: the notice runs 11-03 .. 11-09
AFTER = dt.date(2026, 11, 10)
BUREAU = system("notices")
ABILITY: dict[str, Any] = {"certificate_kind": "special_ability", "certificate_level": None}


async def standing_grants(**where: Any) -> list[SubsidyGrant]:
    grants = await SubsidyGrant.filter(reverses_id__isnull=True, **where)
    reversed_ids = set(
        await SubsidyGrant.filter(reverses_id__in=[g.id for g in grants]).values_list(
            "reverses_id", flat=True
        )
    )
    return [g for g in grants if g.id not in reversed_ids]


async def status_of(claim_id: uuid.UUID) -> ClaimStatus:
    return (await SubsidyClaim.get(id=claim_id)).status


async def certificate_of(trainee_id: uuid.UUID) -> Certificate:
    return await Certificate.filter(trainee_id=trainee_id).order_by("-created_at").first()  # type: ignore[return-value]


WAIT_SECONDS = 15.0


async def someone_waits(conn: asyncpg.Connection) -> None:
    """Until a backend of this database waits for a lock (the other transaction is blocked)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no transaction came to wait for the lock")


LEDGER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('subsidy_grant:' || $1::text, 0))"


# --- 1. level-less subsidies: once per person, certificate kind and occupation -------------


async def test_a_special_ability_is_granted_once_across_two_institutions(vault: Vault) -> None:
    """March at institution X, April at Y, both computed before either notice ends: one grant
    (the second line goes back, SAME_LEVEL_REPEAT), never 2 x the subsidy."""
    number = factories.new_id_number(working_age=True)
    first, first_notice, _ = await noticed_claim(
        vault, [Trainee(id_number=number)], published_on=PUBLISHED, **ABILITY
    )
    second, second_notice, _ = await noticed_claim(
        vault, [Trainee(id_number=number)], published_on=PUBLISHED, **ABILITY
    )
    await notices.close_notice(BUREAU, first_notice, AFTER)
    report = await notices.close_notice(BUREAU, second_notice, AFTER)
    assert report is not None and (report.granted, report.returned) == (0, 1)
    assert len(await standing_grants(claim_id__in=[first, second], kind=SubsidyKind.TRAINING)) == 1
    [line] = await SubsidyLine.filter(claim_id=second, kind="training")
    assert line.grant_id is None and line.outcome == "blocked"
    assert "SAME_LEVEL_REPEAT" in {flag["code"] for flag in line.flags}  # type: ignore[union-attr]


async def test_the_ledger_refuses_a_second_level_less_grant_and_a_second_grant_on_a_certificate(
    vault: Vault, owner: asyncpg.Connection
) -> None:
    cohort = await claimable_cohort(vault, [Trainee()], **ABILITY)
    person = cohort.trainee_ids[0]
    certificate = await certificate_of(person)
    row = NewGrant(
        trainee_id=person,
        kind=SubsidyKind.TRAINING,
        cohort_kind=CohortKind.VOCATIONAL,
        year=2026,
        amount_fen=80000,
        policy_code="henan-2022",
        granted_by="system:test",
        occupation_code=OCCUPATION,
        certificate_kind=CertificateKind.SPECIAL_ABILITY,
        certificate_id=certificate.id,
    )
    async with unit_of_work(system("test")) as uow:
        await ledger_queries.insert_grants(uow.conn, [row])
    for again in (
        dataclasses.replace(row, certificate_id=None),
        dataclasses.replace(row, occupation_code="6-31-01-03"),
    ):
        with pytest.raises(Conflict) as refused:
            async with unit_of_work(system("test")) as uow:
                await ledger_queries.insert_grants(uow.conn, [again])
        assert refused.value.code == "already_granted"
    # A writer that skips the ledger's module meets the database's index.
    with pytest.raises(asyncpg.UniqueViolationError, match="subsidy_grant_levelless_once"):
        await owner.execute(
            "INSERT INTO subsidy_grant (id, trainee_id, kind, cohort_kind, occupation_id, certificate_kind, year, "
            "amount_fen, policy_code, granted_by, granted_at, reason) VALUES (gen_random_uuid(), $1, 'training', "
            "'vocational', $2, 'special_ability', 2026, 80000, 'p', 'x', now(), '')",
            person,
            OCCUPATION,
        )


# --- 2. a certificate changed after computing reaches its lines ---------------------------


async def test_a_certificate_revoked_after_computing_blocks_its_line_and_is_never_granted(
    vault: Vault,
) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await factories.compute_filed(vault, filed.id)
    revoked = await certificate_of(cohort.trainee_ids[0])
    await change_status(cohort.assessor, revoked.number or "", "revoke", "证书造假, 经核实撤销")
    lines = {line.trainee_id: line for line in await SubsidyLine.filter(claim_id=filed.id, kind="training")}
    line = lines[cohort.trainee_ids[0]]
    assert line.outcome == "blocked" and "CERT_NOT_VALID" in {f["code"] for f in line.flags}  # type: ignore[union-attr]
    checker = factories.auditor()
    with pytest.raises(Conflict) as blocked:
        await decisions.decide(
            checker,
            filed.id,
            decisions.DecisionBatch(lines=[DecisionRequest(line.id, Decision.APPROVED, "看过了")]),
        )
    assert blocked.value.code == "line_blocked"
    await decisions.decide(
        checker,
        filed.id,
        decisions.DecisionBatch(
            approve_clean=True, lines=[DecisionRequest(line.id, Decision.REJECTED, "证书已撤销")]
        ),
    )
    notice = await notices.publish_notice(checker, filed.id, today=PUBLISHED)
    await notices.close_notice(BUREAU, notice.id, AFTER)
    assert await standing_grants(certificate_id=revoked.id) == []
    assert len(await standing_grants(claim_id=filed.id)) == 1


async def test_an_approved_line_whose_certificate_is_suspended_is_cleared_and_reinstating_frees_it(
    vault: Vault,
) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await factories.compute_filed(vault, filed.id)
    checker = factories.auditor()
    await decisions.decide(checker, filed.id, decisions.DecisionBatch(approve_clean=True))
    assert await status_of(filed.id) is ClaimStatus.DECIDED
    certificate = await certificate_of(cohort.trainee_ids[0])
    await change_status(cohort.assessor, certificate.number or "", "suspend", "核查中")
    [line] = await SubsidyLine.filter(claim_id=filed.id, kind="training")
    assert (line.outcome, line.decision) == ("blocked", None)
    assert await status_of(filed.id) is ClaimStatus.IN_REVIEW
    with pytest.raises(Conflict) as nothing:
        await notices.publish_notice(checker, filed.id, today=PUBLISHED)
    assert nothing.value.code == "lines_undecided"
    await change_status(cohort.assessor, certificate.number or "", "reinstate", "核查无误")
    [line] = await SubsidyLine.filter(claim_id=filed.id, kind="training")
    assert line.outcome == "clean" and "CERT_NOT_VALID" not in {f["code"] for f in line.flags}  # type: ignore[union-attr]
    await decisions.decide(checker, filed.id, decisions.DecisionBatch(approve_clean=True))
    assert await status_of(filed.id) is ClaimStatus.DECIDED


# --- 3. races: two real concurrent transactions --------------------------------------------


async def test_a_revocation_committing_while_the_notice_ends_leaves_no_standing_grant(
    vault: Vault, owner: asyncpg.Connection
) -> None:
    """The notice's end is held at the person's ledger lock (by a third transaction) while a
    revocation of the line's certificate starts: whichever order the two then take, no grant
    stands on the revoked certificate (before the fix: the end granted from the lines it had
    read before the revocation committed)."""
    claim_id, notice_id, cohort = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    person = cohort.trainee_ids[0]
    certificate = await certificate_of(person)
    await owner.execute("BEGIN")
    await owner.execute(LEDGER_LOCK, str(person))
    closing = asyncio.create_task(notices.close_notice(BUREAU, notice_id, AFTER))
    await someone_waits(owner)
    revoking = asyncio.create_task(
        change_status(cohort.assessor, certificate.number or "", "revoke", "冒名顶替")
    )
    await asyncio.sleep(0.5)
    await owner.execute("COMMIT")
    await asyncio.gather(closing, revoking)
    assert (await Certificate.get(id=certificate.id)).status is CertificateStatus.REVOKED
    assert await standing_grants(certificate_id=certificate.id) == []
    assert await status_of(claim_id) is not ClaimStatus.PAYABLE


async def test_a_payment_racing_a_clawback_never_pays_the_reversed_grant(
    vault: Vault, owner: asyncpg.Connection
) -> None:
    """A clawback's transaction has written the reversal (and holds the person's ledger lock)
    when the bureau records the payment: the payment waits, then finds nothing to pay."""
    claim_id, notice_id, cohort = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    await notices.close_notice(BUREAU, notice_id, AFTER)
    [grant] = await standing_grants(claim_id=claim_id)
    await owner.execute("BEGIN")
    await owner.execute(ledger_queries._REVERSE, grant.id, uuid.uuid4(), "system:test", "clawback in flight")
    paying = asyncio.create_task(
        notices.record_payment(
            factories.auditor(), claim_id, paid_on=business_today(), batch_reference="B-RACE"
        )
    )
    await someone_waits(owner)
    assert not paying.done()
    await owner.execute("COMMIT")
    with pytest.raises(Conflict) as refused:
        await paying
    assert refused.value.code == "line_not_granted"
    assert await owner.fetchval("SELECT count(*) FROM subsidy_payment WHERE grant_id = $1", grant.id) == 0
    # And the database refuses a writer that skips the service.
    with pytest.raises(asyncpg.CheckViolationError, match="clawed back"):
        await owner.execute(
            "INSERT INTO subsidy_payment (id, grant_id, claim_id, paid_on, batch_reference, amount_fen, "
            "recorded_by, recorded_at) VALUES (gen_random_uuid(), $1, $2, $3, 'B', $4, 'x', now())",
            grant.id,
            claim_id,
            business_today(),
            grant.amount_fen,
        )
    del cohort


# --- 4. a county auditor and another county's money -----------------------------------------


async def test_a_county_auditor_changes_only_its_countys_certificates(vault: Vault) -> None:
    body = await factories.new_institution("410302", kinds=["assessment"])
    cohort = await claimable_cohort(vault, [Trainee()], assessor_body=body)  # held in 410305
    certificate = await certificate_of(cohort.trainee_ids[0])
    with pytest.raises(PermissionDenied) as refused:
        await change_status(factories.auditor("410302"), certificate.number or "", "revoke", "外县核查")
    assert refused.value.code == "outside_county"
    assert (await Certificate.get(id=certificate.id)).status is CertificateStatus.VALID
    with pytest.raises(NotFound):
        await change_status(factories.auditor("410311"), certificate.number or "", "suspend", "看不到")
    await change_status(factories.auditor("410305"), certificate.number or "", "suspend", "本县核查")
    await change_status(factories.auditor(), certificate.number or "", "reinstate", "市局核查无误")
    await change_status(cohort.assessor, certificate.number or "", "revoke", "发证机构撤销")
    assert (await Certificate.get(id=certificate.id)).status is CertificateStatus.REVOKED


# --- 5. one open claim per cohort, kind and claimant ----------------------------------------


async def test_a_second_assessment_body_files_its_own_claim(vault: Vault) -> None:
    number = factories.new_id_number(working_age=True)
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(id_number=number, certified=False)])
    other = await factories.new_institution(kinds=["assessment"])
    other_assessor = factories.acting_for(other, Role.ASSESSOR)
    await issue_certificate(
        other_assessor,
        vault,
        CertificateInput(
            number=f"CERT{uuid.uuid4().hex[:12].upper()}",
            kind="skill_level",
            issue_date=TODAY,
            occupation_code=OCCUPATION,
            level=5,
            id_number=number,
            name="张芳",
            cohort_id=cohort.cohort_id,
        ),
    )
    first = await claims.file_claim(cohort.assessor, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    second = await claims.file_claim(other_assessor, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    assert first.id != second.id and second.institution_id == other.id
    with pytest.raises(Conflict) as again:
        await claims.file_claim(other_assessor, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    assert again.value.code == "claim_already_open" and str(second.id) in str(again.value)
    assert str(first.id) not in str(again.value)
    await factories.compute_filed(vault, first.id)
    await factories.compute_filed(vault, second.id)
    assert await SubsidyLine.filter(claim_id=first.id).count() == 1
    assert await SubsidyLine.filter(claim_id=second.id).count() == 1


async def test_a_county_auditor_filing_on_another_countys_cohort_is_not_found(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])  # held in 410305
    for caller in (factories.auditor("410302"), factories.auditor("410302")):
        with pytest.raises(NotFound):
            await claims.file_claim(caller, cohort.cohort_id, SubsidyKind.TRAINING)
        with pytest.raises(NotFound):
            await claims.file_claim(caller, uuid.uuid4(), SubsidyKind.TRAINING)
    with pytest.raises(PermissionDenied):
        await claims.file_claim(factories.auditor("410305"), cohort.cohort_id, SubsidyKind.TRAINING)


# --- 6. the claim's status follows from its lines -------------------------------------------


async def test_the_last_line_sent_back_then_rejected_leaves_the_claim_paid(vault: Vault) -> None:
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee(), Trainee()], published_on=PUBLISHED)
    lines = await SubsidyLine.filter(claim_id=claim_id).order_by("seq")
    await notices.record_objection(factories.auditor(), claim_id, lines[1].id, "群众反映未实际参训")
    await notices.close_notice(BUREAU, notice_id, AFTER)
    await notices.record_payment(
        factories.auditor(), claim_id, paid_on=business_today(), batch_reference="B1"
    )
    assert await status_of(claim_id) is ClaimStatus.IN_REVIEW  # a line to decide again
    await decisions.decide(
        factories.auditor(),
        claim_id,
        decisions.DecisionBatch(lines=[DecisionRequest(lines[1].id, Decision.REJECTED, "经核实未参训")]),
    )
    assert await status_of(claim_id) is ClaimStatus.PAID


async def test_every_grant_clawed_back_before_payment_leaves_nothing_payable(vault: Vault) -> None:
    claim_id, notice_id, cohort = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    await notices.close_notice(BUREAU, notice_id, AFTER)
    assert await status_of(claim_id) is ClaimStatus.PAYABLE
    certificate = await certificate_of(cohort.trainee_ids[0])
    await change_status(factories.auditor(), certificate.number or "", "revoke", "考试作弊")
    assert await status_of(claim_id) is ClaimStatus.DECIDED
    with pytest.raises(Conflict):
        await notices.record_payment(
            factories.auditor(), claim_id, paid_on=business_today(), batch_reference="B"
        )


async def test_paid_while_a_second_notice_runs_then_paid_at_its_end(vault: Vault) -> None:
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee(), Trainee()], published_on=PUBLISHED)
    lines = await SubsidyLine.filter(claim_id=claim_id).order_by("seq")
    checker = factories.auditor()
    await notices.record_objection(checker, claim_id, lines[1].id, "待核实")
    await notices.close_notice(BUREAU, notice_id, AFTER)
    await decisions.decide(
        checker,
        claim_id,
        decisions.DecisionBatch(lines=[DecisionRequest(lines[1].id, Decision.APPROVED, "核实无误")]),
    )
    assert await status_of(claim_id) is ClaimStatus.PAYABLE
    second = await notices.publish_notice(checker, claim_id, today=AFTER)
    assert await status_of(claim_id) is ClaimStatus.NOTICED
    await notices.record_payment(checker, claim_id, paid_on=business_today(), batch_reference="B1")
    assert await status_of(claim_id) is ClaimStatus.NOTICED
    await notices.close_notice(BUREAU, second.id, dt.date(2026, 11, 30))
    assert await status_of(claim_id) is ClaimStatus.PAYABLE
    await notices.record_payment(checker, claim_id, paid_on=business_today(), batch_reference="B2")
    assert await status_of(claim_id) is ClaimStatus.PAID


# --- payments and reasons -------------------------------------------------------------------


async def test_a_payment_is_never_dated_before_its_grant_nor_names_a_line_twice(vault: Vault) -> None:
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    await notices.close_notice(BUREAU, notice_id, AFTER)
    [line] = await SubsidyLine.filter(claim_id=claim_id, grant_id__isnull=False)
    for paid_on in (dt.date(1, 1, 1), business_today() - dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed) as early:
            await notices.record_payment(factories.auditor(), claim_id, paid_on=paid_on, batch_reference="B")
        assert [(e.field, e.code) for e in early.value.errors] == [("paid_on", "before_grant")]
    with pytest.raises(ValidationFailed) as twice:
        await notices.record_payment(
            factories.auditor(),
            claim_id,
            paid_on=business_today(),
            batch_reference="B",
            line_ids=[line.id, line.id],
        )
    assert [(e.field, e.code) for e in twice.value.errors] == [("line_ids[1]", "duplicate_line")]
    for blank in ("   \u200b ", "\u200b\u200d"):
        with pytest.raises(ValidationFailed):
            await notices.record_payment(
                factories.auditor(), claim_id, paid_on=business_today(), batch_reference=blank
            )
    paid = await notices.record_payment(
        factories.auditor(), claim_id, paid_on=business_today(), batch_reference="B", line_ids=[line.id]
    )
    assert paid.paid_lines == 1


async def test_a_reason_of_invisible_characters_is_no_reason(vault: Vault) -> None:
    claim_id, _, _ = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    [line] = await SubsidyLine.filter(claim_id=claim_id)
    with pytest.raises(ValidationFailed):
        await notices.record_objection(factories.auditor(), claim_id, line.id, "   \u200b ")
    cohort = await claimable_cohort(vault, [Trainee(hours=10)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await factories.compute_filed(vault, filed.id)
    [blocked] = await SubsidyLine.filter(claim_id=filed.id)
    with pytest.raises(ValidationFailed) as refused:
        await decisions.decide(
            factories.auditor(),
            filed.id,
            decisions.DecisionBatch(lines=[DecisionRequest(blocked.id, Decision.REJECTED, " \u200b\u2060 ")]),
        )
    assert [e.code for e in refused.value.errors] == ["reason_required"]


# --- 8. the assessment body's standing ------------------------------------------------------


async def test_an_assessment_body_not_approved_for_the_year_is_blocked_at_compute(vault: Vault) -> None:
    body = await factories.new_institution(kinds=["assessment"], years=[2020])
    cohort = await claimable_cohort(vault, [Trainee()], assessor_body=body)
    filed = await claims.file_claim(cohort.assessor, cohort.cohort_id, SubsidyKind.ASSESSMENT)
    await factories.compute_filed(vault, filed.id)
    [line] = await SubsidyLine.filter(claim_id=filed.id)
    assert line.outcome == "blocked" and "ASSESSOR_NOT_APPROVED" in {f["code"] for f in line.flags}  # type: ignore[union-attr]
    approved = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(approved.assessor, approved.cohort_id, SubsidyKind.ASSESSMENT)
    await factories.compute_filed(vault, filed.id)
    [line] = await SubsidyLine.filter(claim_id=filed.id)
    assert "ASSESSOR_NOT_APPROVED" not in {f["code"] for f in line.flags}  # type: ignore[union-attr]


async def test_a_notice_whose_every_line_was_objected_still_ends(vault: Vault) -> None:
    """Found while documenting: an objection taking the last line off a running notice left
    the claim no longer noticed, and the notice's end then refused to run (it stayed running
    for ever, and no new notice could be published). The claim is noticed while its notice
    runs; at its end nothing is granted and the line waits to be decided again."""
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    [line] = await SubsidyLine.filter(claim_id=claim_id)
    await notices.record_objection(factories.auditor(), claim_id, line.id, "群众反映未参训")
    assert await status_of(claim_id) is ClaimStatus.NOTICED
    report = await notices.close_notice(BUREAU, notice_id, AFTER)
    assert report is not None and (report.granted, report.returned) == (0, 0)
    assert await status_of(claim_id) is ClaimStatus.IN_REVIEW
    await decisions.decide(
        factories.auditor(),
        claim_id,
        decisions.DecisionBatch(lines=[DecisionRequest(line.id, Decision.APPROVED, "核实无误")]),
    )
    again = await notices.publish_notice(factories.auditor(), claim_id, today=AFTER)
    assert again.lines == 1
