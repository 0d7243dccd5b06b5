"""What-if simulations at the service level: requesting one (validated as ``load-policy``
validates a document), running it as the worker does, scope, and that nothing else changes.

The session's database holds other tests' claims of the same year, so each test compares a
simulation run before its own claims with one run after them: the change is its claims'."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tortoise import connections

from registry.core.crypto import Vault
from registry.core.errors import NotFound, PermissionDenied, ValidationFailed
from registry.enums import Role, SubsidyKind
from registry.models.audit import AuditEvent
from registry.models.outbox import OutboxJob
from registry.models.subsidy import PolicySimulation
from registry.subsidy import claims, simulations
from registry.subsidy.simulation import SimulationResult
from tests import factories
from tests.factories import TODAY, Trainee, claimable_cohort, draft_policy

DIVISION = "410327"  # 宜阳县: a county no other test holds cohorts in
YEAR = TODAY.year  # the certificates are issued today


@pytest.fixture(scope="module", autouse=True)
async def reference(database: None) -> None:
    await factories.ensure_priority_reference()


@pytest.fixture(autouse=True)
async def settled(database: None) -> AsyncIterator[None]:
    yield
    await factories.settle_simulations()


async def run(principal: Any, draft: dict[str, Any], year: int = YEAR) -> SimulationResult:
    requested = await simulations.request_simulation(principal, draft, year)
    assert requested.status == "queued" and requested.result is None
    outbox_id = (await PolicySimulation.get(id=requested.id)).outbox_id
    report = await simulations.run_simulation(requested.id, outbox_id=outbox_id)
    assert report is not None and report.status == "done", report
    done = await simulations.get_simulation(principal, requested.id)
    assert done.status == "done" and done.result is not None and done.done_at is not None
    return done.result


async def computed_claim(
    vault: Vault, people: list[Trainee], kind: SubsidyKind = SubsidyKind.TRAINING
) -> Any:
    cohort = await claimable_cohort(vault, people, division_code=DIVISION)
    who = cohort.owner if kind is SubsidyKind.TRAINING else cohort.assessor
    filed = await claims.file_claim(who, cohort.cohort_id, kind)
    report = await factories.compute_filed(vault, filed.id)
    assert report is not None and report.status == "computed", report
    return cohort, await claims.get_claim(who, filed.id)


def entry(breakdown: list[Any], key: str) -> Any:
    return next((b for b in breakdown if b.key == key), None)


async def test_a_50_percent_uplift_costs_what_the_priority_lines_gain(vault: Vault) -> None:
    county = factories.auditor(DIVISION)
    before = await run(county, draft_policy())

    # Two clean people and one blocked (ATTENDANCE) on a priority trade, level 5.
    _, claim = await computed_claim(vault, [Trainee(), Trainee(), Trainee(hours=40)])
    assert claim.lines is not None
    clean = [line for line in claim.lines if line.outcome == "clean"]
    assert len(clean) == 2 and all(line.base_fen == 120_000 for line in clean)
    assert all(line.uplift_fen == 36_000 and line.total_fen == 156_000 for line in clean)  # +30%
    after = await run(county, draft_policy())

    # By hand: 50% instead of 30% of a 1,200-yuan base is 240 yuan more per payable line;
    # the blocked line costs nothing either way but its amount moves by as much.
    gained = 2 * (120_000 * 50 // 100 - 120_000 * 30 // 100)
    assert gained == 48_000
    assert after.difference_fen - before.difference_fen == gained
    assert after.total_fen_in_force - before.total_fen_in_force == 2 * 156_000
    assert after.total_fen_draft - before.total_fen_draft == 2 * 180_000
    assert after.blocked_fen_draft - after.blocked_fen_in_force == (
        before.blocked_fen_draft - before.blocked_fen_in_force + 24_000
    )
    assert after.lines - before.lines == 3 and after.claims - before.claims == 1
    assert after.division_code == DIVISION and after.in_force == ["henan-2022"]
    assert after.draft_code == "draft-uplift-50" and after.year == YEAR
    sector = entry(after.by_sector, "4")
    assert sector is not None and sector.name == "社会生产服务和生活服务人员"
    assert sector.difference_fen - getattr(entry(before.by_sector, "4"), "difference_fen", 0) == gained
    assert [b.key for b in after.by_division] == [DIVISION]
    assert entry(after.by_division, DIVISION).name == "宜阳县"
    groups = [b.key for b in after.by_priority_group]
    assert "none" in groups and groups == sorted(groups)


async def test_the_assessment_line_has_no_uplift_and_the_same_draft_changes_nothing(vault: Vault) -> None:
    county = factories.auditor(DIVISION)
    before = await run(county, draft_policy())
    await computed_claim(vault, [Trainee()], SubsidyKind.ASSESSMENT)
    after = await run(county, draft_policy())
    assert after.difference_fen == before.difference_fen
    assert after.total_fen_in_force - before.total_fen_in_force == 20_000

    unchanged = await run(county, draft_policy("draft-same", uplift_percent=30))
    assert unchanged.difference_fen == 0 and unchanged.outcome_changes == 0
    assert unchanged.total_fen_draft == unchanged.total_fen_in_force


async def _state(claim_ids: list[uuid.UUID]) -> dict[str, Any]:
    conn = connections.get("default")

    async def rows(sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.execute_query_dict(sql, list(args))]

    return {
        "claims": await rows("SELECT * FROM subsidy_claim WHERE id = ANY($1::uuid[]) ORDER BY id", claim_ids),
        "lines": await rows(
            "SELECT * FROM subsidy_line WHERE claim_id = ANY($1::uuid[]) ORDER BY claim_id, seq", claim_ids
        ),
        "counts": await rows(
            "SELECT (SELECT count(*) FROM subsidy_claim) AS claims, (SELECT count(*) FROM subsidy_line) AS lines, "
            "(SELECT count(*) FROM subsidy_grant) AS grants, (SELECT count(*) FROM subsidy_policy) AS policies, "
            "(SELECT max(updated_at) FROM subsidy_claim) AS updated"
        ),
    }


async def test_nothing_but_the_simulation_is_written(vault: Vault) -> None:
    _, claim = await computed_claim(vault, [Trainee(), Trainee(hours=40)])
    before = await _state([claim.id])
    city = factories.auditor()
    requested = await simulations.request_simulation(city, draft_policy("draft-city"), YEAR)
    assert requested.division_code is None
    outbox_id = (await PolicySimulation.get(id=requested.id)).outbox_id
    assert outbox_id is not None and (await OutboxJob.get(id=outbox_id)).name == simulations.SIMULATE_POLICY
    report = await simulations.run_simulation(requested.id, outbox_id=outbox_id)
    assert report is not None and report.status == "done" and report.lines >= 2
    assert await _state([claim.id]) == before
    # A duplicate delivery changes nothing; an already-run simulation is skipped.
    assert await simulations.run_simulation(requested.id, outbox_id=outbox_id) is None
    again = await simulations.run_simulation(requested.id)
    assert again is not None and again.status == "skipped"
    events = await AuditEvent.filter(entity_type="policy_simulation", entity_id=str(requested.id)).order_by(
        "id"
    )
    assert [e.action for e in events] == ["policy_simulation.request", "policy_simulation.done"]
    # The city's result holds every division with lines this year, this claim's among them.
    done = await simulations.get_simulation(city, requested.id)
    assert done.result is not None and DIVISION in [b.key for b in done.result.by_division]
    assert (await PolicySimulation.get(id=requested.id)).draft["code"] == "draft-city"


def _bad(change: Any) -> dict[str, Any]:
    draft = copy.deepcopy(draft_policy())
    change(draft)
    return draft


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda d: d["training"].update(bonus_fen=1), "draft.training.bonus_fen", "unknown_key"),
        (
            lambda d: d["training"]["skill_level"][0].update(amount_fen=-1),
            "draft.training.skill_level[0].amount_fen",
            "invalid",
        ),
        (lambda d: d["uplifts"][0].update(source=None, assumed=False), "draft.uplifts[0]", "missing_source"),
        (lambda d: d.pop("limits"), "draft.limits", "missing_key"),
    ],
    ids=["unknown-key", "negative-amount", "missing-source", "missing-key"],
)
async def test_a_bad_draft_is_refused_naming_the_field_and_nothing_is_written(
    change: Any, field: str, code: str
) -> None:
    count = await PolicySimulation.all().count()
    with pytest.raises(ValidationFailed) as refused:
        await simulations.request_simulation(factories.auditor(), _bad(change), YEAR)
    errors = [(e.field, e.code) for e in refused.value.errors]
    assert (field, code) in errors, errors
    assert refused.value.code == "invalid_policy"
    assert await PolicySimulation.all().count() == count


async def test_every_problem_the_policy_checks_find_is_named() -> None:
    def two(draft: dict[str, Any]) -> None:
        draft["uplifts"][0].update(source=None, assumed=False)
        draft["limits"]["age"].update(source=None, assumed=False)

    with pytest.raises(ValidationFailed) as refused:
        await simulations.request_simulation(factories.auditor(), _bad(two), YEAR)
    fields = {e.field for e in refused.value.errors}
    assert {"draft.uplifts[0]", "draft.limits.age"} <= fields


async def test_a_year_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        await simulations.request_simulation(factories.auditor(), draft_policy(), 1999)
    assert [e.field for e in refused.value.errors] == ["year"]


async def test_a_year_without_claims_gives_an_empty_result() -> None:
    result = await run(factories.auditor(), draft_policy(), 2001)
    assert result.claims == result.lines == result.difference_fen == 0
    assert result.by_sector == result.by_division == result.by_priority_group == []


async def test_only_auditors_and_admins_simulate_and_a_county_sees_its_own() -> None:
    institution = factories.acting_for(await factories.new_institution())
    with pytest.raises(PermissionDenied):
        await simulations.request_simulation(institution, draft_policy(), YEAR)
    assessor = dataclasses.replace(institution, role=Role.ASSESSOR)
    with pytest.raises(PermissionDenied):
        await simulations.request_simulation(assessor, draft_policy(), YEAR)

    city = await simulations.request_simulation(factories.auditor(), draft_policy(), YEAR)
    county = await simulations.request_simulation(factories.auditor(DIVISION), draft_policy(), YEAR)
    assert county.division_code == DIVISION
    admin = dataclasses.replace(factories.auditor(), role=Role.ADMIN)
    assert (await simulations.get_simulation(admin, county.id)).id == county.id
    assert (await simulations.get_simulation(factories.auditor(), county.id)).id == county.id
    assert (await simulations.get_simulation(factories.auditor(DIVISION), county.id)).id == county.id
    with pytest.raises(NotFound):
        await simulations.get_simulation(factories.auditor(DIVISION), city.id)
    with pytest.raises(NotFound):
        await simulations.get_simulation(factories.auditor("410305"), county.id)
    with pytest.raises(NotFound):
        await simulations.get_simulation(factories.auditor(), uuid.uuid4())
    with pytest.raises(PermissionDenied):
        await simulations.get_simulation(institution, county.id)


async def test_a_simulation_that_cannot_be_run_is_marked_failed_with_the_reason() -> None:
    """A stored draft no longer valid (written by hand here): failed, once, with the reason."""
    requested = await simulations.request_simulation(factories.auditor(), draft_policy(), YEAR)
    row = await PolicySimulation.get(id=requested.id)
    await PolicySimulation.filter(id=row.id).update(draft={"code": "broken"})
    report = await simulations.run_simulation(row.id, outbox_id=row.outbox_id)
    assert report is not None and report.status == "failed"
    failed = await simulations.get_simulation(factories.auditor(), row.id)
    assert failed.status == "failed" and failed.result is None and "draft" in failed.error
    assert (await OutboxJob.get(id=row.outbox_id)).done_at is not None
    assert await simulations.run_simulation(row.id, outbox_id=row.outbox_id) is None
