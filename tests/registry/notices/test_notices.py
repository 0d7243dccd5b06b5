"""The claims audit after the decisions, at the service level: the notice on the working-day
calendar, objections, the notice's end (grants, re-judged under the person's lock, also when
two notices end at the same moment), payment, and a certificate revoked during the notice or
after the grant (clawback)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from registry.certificates.service import change_status
from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.core.principal import system
from registry.enums import ClaimStatus, SubsidyKind
from registry.models.audit import AuditEvent
from registry.models.certificate import Certificate
from registry.models.ledger import SubsidyGrant
from registry.models.notice import ClaimNotice
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.notices import service as notices
from registry.subsidy import claims, decisions
from registry.subsidy.rules import Decision, DecisionRequest
from tests import factories
from tests.factories import Trainee, claimable_cohort, noticed_claim

pytestmark = pytest.mark.usefixtures("working_day_calendar")

PUBLISHED = dt.date(2026, 11, 2)  # a Monday: the notice runs 11-03 .. 11-09
AFTER = dt.date(2026, 11, 10)
BUREAU = system("notices")


async def grants_of(claim_id: uuid.UUID) -> list[SubsidyGrant]:
    return await SubsidyGrant.filter(claim_id=claim_id, reverses_id__isnull=True)


async def test_the_design_example_notice_runs_five_working_days(vault: Vault) -> None:
    """Published Monday 2025-09-29: 09-30, 10-09, 10-10, 10-11 (a make-up Saturday), 10-13."""
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee()], published_on=dt.date(2025, 9, 29))
    notice = await ClaimNotice.get(id=notice_id)
    assert notice.days == ["2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11", "2025-10-13"]
    assert (notice.runs_from, notice.runs_to) == (dt.date(2025, 9, 30), dt.date(2025, 10, 13))
    assert (await SubsidyClaim.get(id=claim_id)).status == ClaimStatus.NOTICED
    # It ends at the end of 10-13: not due on 10-13, due on 10-14.
    assert notice_id not in await notices_due(dt.date(2025, 10, 13))
    with pytest.raises(Conflict) as running:
        await notices.close_notice(BUREAU, notice_id, dt.date(2025, 10, 13))
    assert running.value.code == "notice_running"
    assert notice_id in await notices_due(dt.date(2025, 10, 14))


async def notices_due(day: dt.date) -> list[uuid.UUID]:
    from registry.notices import queries

    return await queries.due_notices(day)


async def test_a_notice_into_a_year_the_calendar_does_not_cover_is_refused(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await claims.compute_claim(filed.id, vault=vault)
    checker = factories.auditor()
    await decisions.decide(checker, filed.id, decisions.DecisionBatch(approve_clean=True))
    with pytest.raises(ValidationFailed) as refused:
        await notices.publish_notice(checker, filed.id, today=dt.date(2026, 12, 28))
    assert refused.value.code == "calendar_not_loaded" and "2027" in str(refused.value)
    assert (await SubsidyClaim.get(id=filed.id)).status == ClaimStatus.DECIDED
    assert await ClaimNotice.filter(claim_id=filed.id).count() == 0


async def test_a_notice_needs_every_line_decided(vault: Vault) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(hours=10)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, SubsidyKind.TRAINING)
    await claims.compute_claim(filed.id, vault=vault)
    checker = factories.auditor()
    await decisions.decide(checker, filed.id, decisions.DecisionBatch(approve_clean=True))
    with pytest.raises(Conflict) as refused:
        await notices.publish_notice(checker, filed.id, today=PUBLISHED)
    assert refused.value.code == "lines_undecided"
    with pytest.raises(NotFound):
        await notices.publish_notice(cohort.owner, filed.id, today=PUBLISHED)
    with pytest.raises(NotFound):
        await notices.publish_notice(factories.auditor("410311"), filed.id, today=PUBLISHED)


async def test_from_notice_to_grants_to_payment_to_clawback(vault: Vault) -> None:
    claim_id, notice_id, cohort = await noticed_claim(
        vault, [Trainee(), Trainee(), Trainee(hours=10)], published_on=PUBLISHED
    )
    public = await notices.public_notice(notice_id)
    assert len(public.lines) == 2 and all(line.name.endswith("*") for line in public.lines)
    assert all("********" in line.id_number for line in public.lines)
    assert public.days[0] == dt.date(2026, 11, 3) and public.days[-1] == dt.date(2026, 11, 9)

    [report] = [r for r in await notices.close_due_notices(BUREAU, AFTER) if r.notice_id == notice_id]
    assert (report.granted, report.returned) == (2, 0)
    assert await notices.close_notice(BUREAU, notice_id, AFTER) is None  # a second run: nothing
    grants = await grants_of(claim_id)
    assert len(grants) == 2 and sum(g.amount_fen for g in grants) == report.granted_fen
    view = await claims.get_claim(factories.auditor(), claim_id)
    assert view.status is ClaimStatus.PAYABLE and view.granted_fen == report.granted_fen
    assert view.lines is not None and sum(1 for line in view.lines if line.grant_id) == 2

    with pytest.raises(PermissionDenied):
        await notices.record_payment(
            factories.auditor("410305"), claim_id, paid_on=business_today(), batch_reference="B1"
        )
    blocked_line = next(line for line in view.lines if line.outcome == "blocked")
    with pytest.raises(Conflict) as not_granted:
        await notices.record_payment(
            factories.auditor(),
            claim_id,
            paid_on=business_today(),
            batch_reference="B1",
            line_ids=[blocked_line.id],
        )
    assert not_granted.value.code == "line_not_granted"
    paid = await notices.record_payment(
        factories.auditor(), claim_id, paid_on=business_today(), batch_reference="LY-2026-11-B7"
    )
    assert paid.status is ClaimStatus.PAID and paid.paid_lines == 2 and paid.paid_fen == report.granted_fen
    with pytest.raises(Conflict):
        await notices.record_payment(
            factories.auditor(), claim_id, paid_on=business_today(), batch_reference="B2"
        )

    # The certificate of a paid line is revoked: a reversing grant, a flag on the line.
    line = next(line for line in view.lines if line.grant_id)
    certificate = await Certificate.get(id=line.certificate_id)
    await change_status(cohort.assessor, certificate.number or "", "revoke", "考试作弊, 经核实撤销")
    reversal = await SubsidyGrant.get(reverses_id=line.grant_id)
    assert reversal.amount_fen == -line.total_fen
    after = await claims.get_claim(cohort.owner, claim_id)
    assert after.reversed_fen == line.total_fen and after.granted_fen == report.granted_fen
    assert after.lines is not None
    flagged = next(x for x in after.lines if x.id == line.id)
    assert "CLAWED_BACK" in {flag["code"] for flag in flagged.flags}
    actions = [e.action for e in await AuditEvent.filter(entity_id=str(claim_id)).order_by("id")]
    assert actions == [
        "subsidy_claim.file",
        "subsidy_claim.compute",
        "subsidy_claim.decide",
        "subsidy_claim.notice",
        "subsidy_claim.grant",
        "subsidy_claim.paid",
        "subsidy_claim.clawback",
    ]
    assert await AuditEvent.filter(entity_id=str(line.grant_id), action="ledger.reverse").count() == 1


async def test_an_objection_sends_the_line_back_to_review(vault: Vault) -> None:
    claim_id, notice_id, _ = await noticed_claim(vault, [Trainee(), Trainee()], published_on=PUBLISHED)
    lines = await SubsidyLine.filter(claim_id=claim_id).order_by("seq")
    with pytest.raises(ValidationFailed):
        await notices.record_objection(factories.auditor(), claim_id, lines[0].id, "  ")
    await notices.record_objection(factories.auditor(), claim_id, lines[0].id, "群众反映此人未实际参训")
    back = await SubsidyLine.get(id=lines[0].id)
    assert back.decision is None and back.outcome == "review"
    assert back.flags[-1]["code"] == "OBJECTION"
    assert (await notices.public_notice(notice_id)).lines[0].seq == 1
    assert len((await notices.public_notice(notice_id)).lines) == 1  # no longer listed
    # Decided again during the same notice: it is not granted at this notice's end...
    await decisions.decide(
        factories.auditor(),
        claim_id,
        decisions.DecisionBatch(lines=[DecisionRequest(lines[0].id, Decision.APPROVED, "核实已参训")]),
    )
    report = await notices.close_notice(BUREAU, notice_id, AFTER)
    assert report is not None and report.granted == 1
    assert [g.line_id for g in await grants_of(claim_id)] == [lines[1].id]
    # ...but goes on a new notice.
    second = await notices.publish_notice(factories.auditor(), claim_id, today=dt.date(2026, 11, 16))
    assert second.lines == 1
    assert (await SubsidyLine.get(id=lines[0].id)).notice_id == second.id


async def test_a_certificate_revoked_while_the_notice_runs_is_not_granted(vault: Vault) -> None:
    claim_id, notice_id, cohort = await noticed_claim(vault, [Trainee(), Trainee()], published_on=PUBLISHED)
    lines = await SubsidyLine.filter(claim_id=claim_id).order_by("seq")
    certificate = await Certificate.get(id=lines[0].certificate_id)
    await change_status(cohort.assessor, certificate.number or "", "revoke", "证书信息有误")
    back = await SubsidyLine.get(id=lines[0].id)
    assert back.decision is None and back.outcome == "blocked"
    assert back.flags[-1]["code"] == "CERT_NOT_VALID"
    report = await notices.close_notice(BUREAU, notice_id, AFTER)
    assert report is not None and (report.granted, report.returned) == (1, 0)
    assert [g.line_id for g in await grants_of(claim_id)] == [lines[1].id]


async def test_two_notices_of_one_person_ending_at_once_grant_the_level_once(vault: Vault) -> None:
    """One person in two cohorts (two institutions) of the same occupation and level, both
    approved and noticed; both notices end at the same moment, in concurrent transactions:
    the ledger holds one grant, the other line goes back to review with its flag."""
    number = factories.new_id_number(working_age=True)
    first, notice_a, _ = await noticed_claim(vault, [Trainee(id_number=number)], published_on=PUBLISHED)
    second, notice_b, _ = await noticed_claim(vault, [Trainee(id_number=number)], published_on=PUBLISHED)
    reports = await asyncio.gather(
        notices.close_notice(BUREAU, notice_a, AFTER), notices.close_notice(BUREAU, notice_b, AFTER)
    )
    assert sorted((r.granted, r.returned) for r in reports if r) == [(0, 1), (1, 0)]
    person = (await SubsidyLine.get(claim_id=first)).trainee_id  # type: ignore[attr-defined]
    assert await SubsidyGrant.filter(trainee_id=person, reverses_id__isnull=True).count() == 1
    returned = await SubsidyLine.filter(claim_id__in=[first, second], grant_id__isnull=True).first()
    assert returned is not None and returned.decision is None
    assert returned.flags[-1]["code"] == "SAME_LEVEL_REPEAT"


async def test_concurrent_notices_never_give_a_fourth_grant_in_a_year(vault: Vault) -> None:
    """A person with two grants this year in the ledger, on two notices of other occupations
    ending at once: one more grant lands, not two."""
    from registry.core.uow import unit_of_work
    from registry.enums import CohortKind
    from registry.ledger import queries as ledger
    from registry.ledger.rules import NewGrant
    from registry.models.reference import Occupation

    number = factories.new_id_number(working_age=True)
    others = ["6-31-01-03", "6-18-02-04", "4-03-02-01"]
    for code in others:
        await Occupation.get_or_create(code=code, defaults={"name": code, "level": 4})
    a, notice_a, cohort = await noticed_claim(vault, [Trainee(id_number=number)], published_on=PUBLISHED)
    b, notice_b, _ = await noticed_claim(
        vault, [Trainee(id_number=number)], published_on=PUBLISHED, occupation_code=others[0]
    )
    person = cohort.trainee_ids[0]
    async with unit_of_work(system("test")) as uow:
        await ledger.insert_grants(
            uow.conn,
            [
                NewGrant(
                    trainee_id=person,
                    kind=SubsidyKind.TRAINING,
                    cohort_kind=CohortKind.VOCATIONAL,
                    year=(await SubsidyLine.get(claim_id=a)).year,
                    amount_fen=100,
                    policy_code="henan-2022",
                    granted_by="system:test",
                    occupation_code=code,
                    level=5,
                    certificate_kind="skill_level",  # type: ignore[arg-type]
                )
                for code in others[1:]
            ],
        )
    reports = await asyncio.gather(
        notices.close_notice(BUREAU, notice_a, AFTER), notices.close_notice(BUREAU, notice_b, AFTER)
    )
    assert sorted((r.granted, r.returned) for r in reports if r) == [(0, 1), (1, 0)]
    assert await SubsidyGrant.filter(trainee_id=person, reverses_id__isnull=True).count() == 3
    returned = await SubsidyLine.filter(claim_id__in=[a, b], grant_id__isnull=True).first()
    assert returned is not None and returned.flags[-1]["code"] == "ANNUAL_CAP"


async def test_a_higher_level_granted_meanwhile_returns_the_lower_level_line(vault: Vault) -> None:
    """LOWER_LEVEL is judged again at the notice's end, under the person's ledger lock."""
    from registry.core.uow import unit_of_work
    from registry.enums import CohortKind
    from registry.ledger import queries as ledger
    from registry.ledger.rules import NewGrant

    claim_id, notice_id, cohort = await noticed_claim(vault, [Trainee(), Trainee()], published_on=PUBLISHED)
    line = await SubsidyLine.get(claim_id=claim_id, trainee_id=cohort.trainee_ids[0])
    async with unit_of_work(system("test")) as uow:
        await ledger.insert_grants(
            uow.conn,
            [
                NewGrant(
                    trainee_id=cohort.trainee_ids[0], kind=SubsidyKind.TRAINING, cohort_kind=CohortKind.VOCATIONAL,
                    year=line.year - 1, amount_fen=160_000, policy_code="henan-2022", granted_by="system:test",
                    occupation_code=line.occupation_code, level=4, certificate_kind="skill_level",  # type: ignore[arg-type]
                )
            ],
        )  # fmt: skip
    report = await notices.close_notice(BUREAU, notice_id, AFTER)
    assert report is not None and (report.granted, report.returned) == (1, 1)
    back = await SubsidyLine.get(id=line.id)
    assert back.grant_id is None and back.decision is None and back.flags[-1]["code"] == "LOWER_LEVEL"


async def test_one_notice_at_a_time(vault: Vault) -> None:
    claim_id, _, _ = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    with pytest.raises(Conflict) as refused:
        await notices.publish_notice(factories.auditor(), claim_id, today=PUBLISHED)
    assert refused.value.code == "notice_running"


async def test_a_county_auditor_reads_the_audit_trail_of_its_divisions_claims(vault: Vault) -> None:
    from registry.audit.queries import AuditFilters, list_events

    claim_id, _, _ = await noticed_claim(vault, [Trainee()], published_on=PUBLISHED)
    filters = AuditFilters(entity_type="subsidy_claim", entity_id=str(claim_id))
    mine = await list_events(factories.auditor("410305"), filters, 50, 0)
    assert [e.action for e in mine.items][::-1] == [
        "subsidy_claim.file",
        "subsidy_claim.compute",
        "subsidy_claim.decide",
        "subsidy_claim.notice",
    ]
    assert (await list_events(factories.auditor("410311"), filters, 50, 0)).total == 0
