"""Publishing policies against a real PostgreSQL, as the application's role.

The database is shared by the suite and never cleaned: the test policies here have codes of
their own and periods in the 1990s, far from henan-2022 (2022-03-31, open-ended)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest
from tortoise import connections

from registry.core.errors import Conflict, ValidationFailed
from registry.core.principal import system
from registry.enums import CertificateKind, CohortKind, EnrolmentOutcome
from registry.models.subsidy import SubsidyPolicy
from registry.subsidy.rules import CertificateFacts, CohortFacts, PersonFacts
from registry.subsidy.service import (
    choose_policy,
    evaluate_facts,
    get_policy,
    load_policy,
    load_shipped_policies,
    shipped_policy_files,
)

PRINCIPAL = system("test")
HENAN = next(p for p in shipped_policy_files() if p.name == "henan-2022.yaml").read_text(encoding="utf-8")


def variant(code: str, start: str, end: str | None, level5_fen: int = 120000) -> str:
    text = HENAN.replace("code: henan-2022", f"code: {code}", 1)
    text = text.replace("effective_from: 2022-03-31", f"effective_from: {start}")
    text = text.replace("effective_to: null", f"effective_to: {end or 'null'}")
    return text.replace("{level: 5, amount_fen: 120000,", f"{{level: 5, amount_fen: {level5_fen},", 1)


async def audit_count(code: str) -> int:
    _, rows = await connections.get("default").execute_query(
        "SELECT count(*) AS n FROM audit_event WHERE action = 'subsidy_policy.load' AND entity_id = $1",
        [code],
    )
    return int(rows[0]["n"])


async def test_shipped_policies_load_once(database: None) -> None:
    await load_shipped_policies(PRINCIPAL)
    again = await load_shipped_policies(PRINCIPAL)
    assert [(r.code, r.status) for r in again] == [("henan-2022", "unchanged")]
    row = await get_policy("henan-2022")
    assert row.effective_from == dt.date(2022, 3, 31) and row.effective_to is None
    assert row.document["training"]["skill_level"][0] == {
        "source": "豫人社规〔2022〕2号",
        "assumed": False,
        "note": "初级工",
        "level": 5,
        "amount_fen": 120000,
    }
    assert "豫人社规〔2022〕2号" in row.source_note
    assert await audit_count("henan-2022") == 1


async def test_same_code_same_content_is_a_no_op_other_content_refused(database: None) -> None:
    text = variant("test-1991", "1991-01-01", "1991-12-31")
    first = await load_policy(PRINCIPAL, text, "a.yaml")
    assert first.status == "loaded"
    assert (await load_policy(PRINCIPAL, "# relaid\n" + text, "b.yaml")).status == "unchanged"
    with pytest.raises(Conflict) as caught:
        await load_policy(PRINCIPAL, variant("test-1991", "1991-01-01", "1991-12-31", 130000), "c.yaml")
    assert caught.value.code == "policy_immutable"
    row = await get_policy("test-1991")
    assert row.sha256 == first.sha256
    assert row.document["training"]["skill_level"][0]["amount_fen"] == 120000
    assert await audit_count("test-1991") == 1


@pytest.mark.parametrize(
    ("start", "end"), [("1992-06-01", "1993-01-31"), ("1992-12-31", None), ("1990-01-01", "1992-01-01")]
)
async def test_overlapping_periods_refused_nothing_loaded(
    database: None, start: str, end: str | None
) -> None:
    await load_policy(PRINCIPAL, variant("test-1992", "1992-01-01", "1992-12-31"), "x.yaml")
    with pytest.raises(ValidationFailed) as caught:
        await load_policy(PRINCIPAL, variant("test-overlap", start, end), "y.yaml")
    assert caught.value.code == "overlapping_policy"
    assert "test-1992" in caught.value.message
    assert caught.value.errors[0].field == "$.effective_from"
    assert not await SubsidyPolicy.filter(code="test-overlap").exists()


async def test_an_open_ended_policy_after_henan_overlaps_it(database: None) -> None:
    await load_shipped_policies(PRINCIPAL)
    with pytest.raises(ValidationFailed) as caught:
        await load_policy(PRINCIPAL, variant("henan-2030", "2030-01-01", None), "h.yaml")
    assert "henan-2022" in caught.value.message


async def test_a_published_policy_cannot_be_updated_or_deleted(
    database: None, owner: asyncpg.Connection
) -> None:
    await load_shipped_policies(PRINCIPAL)
    conn = connections.get("default")
    with pytest.raises(Exception, match="never changes"):
        await conn.execute_query("UPDATE subsidy_policy SET source_note = 'x' WHERE code = 'henan-2022'")
    with pytest.raises(asyncpg.PostgresError, match="never changes"):
        await owner.execute("DELETE FROM subsidy_policy WHERE code = 'henan-2022'")


def facts(end: dt.date) -> PersonFacts:
    start = end - dt.timedelta(days=30)
    return PersonFacts(
        cohort=CohortFacts(
            CohortKind.VOCATIONAL, 80, start, end, "6-02-06-04", CertificateKind.SKILL_LEVEL, 5
        ),
        birth_date=dt.date(1960, 1, 1),
        attended_hours=Decimal(80),
        outcome=EnrolmentOutcome.COMPLETED,
        claim_date=end + dt.timedelta(days=20),
        certificate=CertificateFacts(
            CertificateKind.SKILL_LEVEL, end + dt.timedelta(days=5), 5, "6-02-06-04"
        ),
    )


async def test_the_policy_in_force_on_the_end_date_computes(database: None) -> None:
    await load_policy(PRINCIPAL, variant("test-1994", "1994-01-01", "1994-12-31", 99900), "z.yaml")
    evaluation = await evaluate_facts(facts(dt.date(1994, 12, 31)))
    assert evaluation.policy_code == "test-1994"
    assert evaluation.lines[0].total_fen == 99900  # the amount is the document's, not the code's
    assert (await choose_policy(dt.date(1994, 1, 1))).code == "test-1994"
    with pytest.raises(ValidationFailed) as caught:
        await evaluate_facts(facts(dt.date(1995, 1, 1)))
    assert caught.value.code == "no_policy_in_force" and "1995-01-01" in caught.value.message
