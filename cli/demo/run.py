"""Carry a demo plan out through the services real data goes through.

Order: the reference catalogue (``load_reference``, idempotent) -> institutions
(``create_institution``) -> per cohort: ``create_cohort``, ``open_cohort``, the roster as a
CSV file through ``import_roster`` (attendance and outcomes in its columns), ``close_cohort``
(or ``cancel_cohort``) -> certificates through ``issue_certificates_bulk`` (the same rules
as a single issue, set-based) -> subsidy claims of the closed cohorts (:mod:`cli.demo.claims`:
filed, computed, decided, noticed, granted and paid through the claims and notices services,
so that the demo shows claims in every state; the demo institution's cohorts are left for
``demo-institution`` to claim).

Idempotent and resumable: the demo's records carry a marker (cohort references
``DEMO-<year>-<tag>-...``, certificate numbers ``DEMO<year>...``, institution codes
``..D<year>NNNN.``). A second run of the same year, scale and seed finds everything in
place and says so ("already loaded"); a run cut short is completed (existing cohorts are
found by reference, a roster already imported is recognised by its SHA-256, certificates
already issued are skipped, each claim is taken on from the status it has). Another scale or
seed for a year already loaded is refused.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from cli.demo.claims import claims_for, claims_summary, load_claims, pending, running_notice_note, yuan
from cli.demo.plan import (
    SCALES,
    Occupation,
    Plan,
    PlanInputs,
    build_plan,
    roster_csv,
)
from cli.demo.users import DEMO_ASSESSMENT_USCC_BODY, DEMO_TRAINING_USCC_BODY
from registry.accounts.institutions import InstitutionInput, create_institution
from registry.accounts.rules import uscc_with_check
from registry.certificates.service import CertificateRow, issue_certificates_bulk
from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, FieldError, ValidationFailed
from registry.core.principal import Principal, system
from registry.enums import CohortStatus, InstitutionStatus, Role
from registry.models.institution import Institution
from registry.models.reference import PriorityList
from registry.notices.calendar import seed_from_package
from registry.people.queries import id_index, known_names
from registry.reference.queries import list_occupations, list_priority_trades
from registry.reference.service import load_reference
from registry.subsidy.service import load_shipped_policies
from registry.training.roster.service import import_roster
from registry.training.service import (
    CohortInput,
    cancel_cohort,
    close_cohort,
    create_cohort,
    open_cohort,
)

ACTOR = "demo"
CERTIFICATE_CHUNK = 5000
PROGRESS_SECONDS = 3.0
CANCEL_REASON = "报名人数不足，本期取消"

Say = Callable[[str], None]


@dataclass
class DemoResult:
    year: int
    scale: str
    seed: int
    already_loaded: bool
    seconds: float
    planned: dict[str, Any]
    """:meth:`Plan.stats` of the plan."""
    loaded: dict[str, Any]
    """What the database holds for the demo year (:func:`summarise`)."""
    created: dict[str, int] = field(default_factory=dict)
    """What this run created (institutions, cohorts, enrolments, certificates)."""


CURRENT_YEAR_FROM = (7, 1)
"""(month, day) from which the demo's default year is the current one (before it: last year)."""


def default_year(today: dt.date | None = None) -> int:
    """The year ``registry demo`` (and so ``make up``) loads without ``--year``: last year
    until the end of June, the current year from 1 July.

    The claims need it: a line is claimable for 12 months from its certificate, judged on the
    day the claim is filed (today). Last year's certificates are issued by the end of
    December, so by late November only a few of them (none by mid-December) are still
    inside the window, and the claims that need an approved line (paid, payable, noticed)
    find no cohort. From July half of the current year has passed (cohorts from January to
    mid-June), and every one of its certificates is inside the window until the end of the
    year; before July last year's certificates are (about a third of them by late June
    still)."""
    today = today or business_today()
    return today.year if (today.month, today.day) >= CURRENT_YEAR_FROM else today.year - 1


def tag_of(scale: str, seed: int) -> str:
    return f"{scale[0].upper()}{seed}"


def institution_principal(institution_id: uuid.UUID) -> Principal:
    """The demo acting as one institution: the services apply that institution's tenancy."""
    return Principal(kind="system", id=None, role=Role.INSTITUTION, institution_id=institution_id, name=ACTOR)


# --- the catalogue as plan inputs --------------------------------------------------------------


async def _trades_on(day: dt.date) -> list[Occupation]:
    out: list[Occupation] = []
    while True:
        page = await list_priority_trades(day, limit=500, offset=len(out))
        items, total = page.items, page.total
        out += [Occupation(i.code, i.name) for i in items]
        if not items or len(out) >= total:
            return out


async def catalogue_occupations(year: int) -> tuple[list[Occupation], list[Occupation]]:
    """The priority trades in force on 1 January of the year (else the earliest list, for a
    year before any list), and every other level-4 occupation."""
    trades = await _trades_on(dt.date(year, 1, 1))
    if not trades:
        earliest = await PriorityList.all().order_by("effective_from").first()
        if earliest is not None:
            trades = await _trades_on(earliest.effective_from)
    on_list = {o.code for o in trades}
    others: list[Occupation] = []
    offset = 0
    while True:
        page = await list_occupations(level=4, limit=500, offset=offset)
        items, total = page.items, page.total
        offset += len(items)
        others += [Occupation(i.code, i.name) for i in items if i.code not in on_list]
        if not items or offset >= total:
            break
    return trades, others


async def _demo_bodies(year: int) -> tuple[str | None, str | None]:
    """The demo institution (when it may open cohorts in the year) and the demo body."""
    training = uscc_with_check(DEMO_TRAINING_USCC_BODY)
    assessment = uscc_with_check(DEMO_ASSESSMENT_USCC_BODY)
    inst = await Institution.get_or_none(uscc=training)
    body = await Institution.get_or_none(uscc=assessment)
    training_ok = (
        inst is not None
        and inst.status == InstitutionStatus.ACTIVE
        and "training" in inst.kinds
        and year in inst.approved_years
    )
    assessment_ok = (
        body is not None and body.status == InstitutionStatus.ACTIVE and "assessment" in body.kinds
    )
    return (training if training_ok else None), (assessment if assessment_ok else None)


def demo_institution_keys(plan: Plan) -> set[int]:
    """The plan's keys of the demo institution (its cohorts are not claimed by the demo)."""
    training = uscc_with_check(DEMO_TRAINING_USCC_BODY)
    return {i.key for i in plan.institutions if i.uscc == training}


async def plan_for(year: int, scale: str, seed: int, today: dt.date | None = None) -> Plan:
    """The plan of ``year`` from the catalogue in the database (loaded first if need be)."""
    today = today or business_today()
    if scale not in SCALES:
        raise ValidationFailed(f"unknown scale {scale!r}; one of {', '.join(SCALES)}", code="bad_scale")
    if year > today.year:
        raise ValidationFailed(f"{year} has not happened yet: the demo builds a past year", code="bad_year")
    last_day = min(dt.date(year, 12, 31), today - dt.timedelta(days=1))
    if last_day.year != year or last_day < dt.date(year, 4, 15):
        raise ValidationFailed(
            f"too little of {year} has passed for a demo year; choose an earlier year", code="bad_year"
        )
    trades, others = await catalogue_occupations(year)
    training, assessment = await _demo_bodies(year)
    inputs = PlanInputs(
        priority_trades=trades,
        other_occupations=others,
        demo_training_uscc=training,
        demo_assessment_uscc=assessment,
        last_day=last_day,
    )
    return build_plan(inputs, year=year, scale=SCALES[scale], seed=seed)


# --- what is there already ---------------------------------------------------------------------


async def loaded_tags(year: int) -> set[str]:
    """The tags (scale letter + seed) of demo runs already loaded for ``year``."""
    _, rows = await connections.get("default").execute_query(
        "SELECT DISTINCT split_part(reference, '-', 3) AS tag FROM cohort WHERE reference LIKE $1",
        [f"DEMO-{year}-%"],
    )
    return {r["tag"] for r in rows}


async def _is_complete(plan: Plan) -> bool:
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT count(*) AS n FROM cohort WHERE reference LIKE $1 AND status IN ('closed', 'cancelled')",
        [f"{plan.reference_prefix}{plan.tag}-%"],
    )
    if int(rows[0]["n"]) != len(plan.cohorts):
        return False
    _, rows = await conn.execute_query(
        "SELECT count(*) AS n FROM certificate WHERE number LIKE $1", [f"{plan.certificate_prefix}%"]
    )
    return int(rows[0]["n"]) >= len(plan.certificates)


# --- running -------------------------------------------------------------------------------------


class _Progress:
    def __init__(self, say: Say, every: float = PROGRESS_SECONDS):
        self.say = say
        self.every = every
        self.started = time.monotonic()
        self.last = self.started

    def tick(self, message: Callable[[], str], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            self.say(f"  [{now - self.started:6.1f}s] {message()}")


async def _institutions(plan: Plan, created: dict[str, int]) -> dict[int, uuid.UUID]:
    admin = system(ACTOR)
    ids: dict[int, uuid.UUID] = {}
    for planned in plan.institutions:
        inst = await Institution.get_or_none(uscc=planned.uscc)
        if inst is None:
            if planned.existing:
                raise Conflict(f"{planned.name} ({planned.uscc}) is not registered", code="demo_body_missing")
            inst = await create_institution(
                admin,
                InstitutionInput(
                    uscc=planned.uscc,
                    name=planned.name,
                    division_code=planned.division_code,
                    kinds=list(planned.kinds),
                    approved_years=list(planned.approved_years),
                ),
            )
            created["institutions"] += 1
        ids[planned.key] = inst.id
    return ids


def _facts(plan: Plan, index: int) -> CohortInput:
    c = plan.cohorts[index]
    return CohortInput(
        reference=c.reference,
        kind=c.kind,
        division_code=c.division_code,
        planned_hours=c.planned_hours,
        start_date=c.start_date,
        end_date=c.end_date,
        capacity=c.capacity,
        name=c.name,
        occupation_code=c.occupation.code if c.occupation else None,
        certificate_kind=c.certificate_kind if c.kind == "vocational" else "startup",
        certificate_level=c.certificate_level,
        startup_course=c.startup_course,
        training_mode=c.training_mode,
        delivery=c.delivery,
    )


async def _cohorts(
    plan: Plan,
    vault: Vault,
    institution_ids: dict[int, uuid.UUID],
    created: dict[str, int],
    progress: _Progress,
) -> dict[int, uuid.UUID]:
    ids: dict[int, uuid.UUID] = {}
    total = len(plan.cohorts)
    done = 0

    def message() -> str:
        return (
            f"cohorts {done}/{total} ({created['cohorts']} new), "
            f"enrolments imported {created['enrolments']:,}"
        )

    for cohort in plan.cohorts:
        principal = institution_principal(institution_ids[cohort.institution])
        view, new = await create_cohort(principal, _facts(plan, cohort.index))
        created["cohorts"] += int(new)
        cohort_id = view.cohort.id
        ids[cohort.index] = cohort_id
        status = view.status
        if status is CohortStatus.DRAFT:
            status = (await open_cohort(principal, cohort_id)).status
        if cohort.cancelled:
            if status not in (CohortStatus.CANCELLED, CohortStatus.CLOSED):
                await cancel_cohort(principal, cohort_id, CANCEL_REASON)
        elif status in (CohortStatus.OPEN, CohortStatus.RUNNING):
            report = await import_roster(
                principal, vault, cohort_id, roster_csv(plan, cohort), f"{cohort.reference}.csv"
            )
            if report.status == "refused":
                raise ValidationFailed(
                    f"the roster of {cohort.reference} was refused: {report.message}",
                    code="demo_roster_refused",
                    errors=[
                        FieldError(
                            str(e.get("field")),
                            str(e.get("code")),
                            str(e.get("message")),
                            e.get("row"),
                            e.get("column"),
                        )
                        for e in report.errors[:20]
                    ],
                )
            created["enrolments"] += report.accepted
            await close_cohort(principal, cohort_id)
        done += 1
        progress.tick(message)
    progress.tick(message, force=True)
    return ids


async def _certificates(
    plan: Plan,
    vault: Vault,
    institution_ids: dict[int, uuid.UUID],
    cohort_ids: dict[int, uuid.UUID],
    created: dict[str, int],
    progress: _Progress,
) -> None:
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT number FROM certificate WHERE number LIKE $1", [f"{plan.certificate_prefix}%"]
    )
    issued = {r["number"] for r in rows}
    todo = [c for c in plan.certificates if c.number not in issued]
    if not todo:
        return
    people = sorted({c.person for c in todo})
    indexes = {p: id_index(vault, plan.people[p].id_number) for p in people}
    trainees: dict[str, uuid.UUID] = {}
    wanted = list(indexes.values())
    for start in range(0, len(wanted), 20_000):
        found = await known_names(conn, wanted[start : start + 20_000])
        trainees.update({index: tid for index, (tid, _name) in found.items()})
    for start in range(0, len(todo), CERTIFICATE_CHUNK):
        chunk = todo[start : start + CERTIFICATE_CHUNK]
        batch = [
            CertificateRow(
                number=c.number,
                trainee_id=trainees.get(indexes[c.person]),
                kind=c.kind,
                issuer_id=institution_ids[c.issuer],
                issue_date=c.issue_date,
                occupation_code=c.occupation_code,
                level=c.level,
                cohort_id=cohort_ids[c.cohort],
            )
            for c in chunk
        ]
        async with in_transaction() as tx:
            created["certificates"] += await issue_certificates_bulk(tx, batch, actor=f"system:{ACTOR}")
        progress.tick(lambda: f"certificates {created['certificates']:,}/{len(todo):,}")
    progress.tick(lambda: f"certificates {created['certificates']:,}/{len(todo):,}", force=True)


async def run_demo(
    vault: Vault,
    *,
    year: int,
    scale: str,
    seed: int = 1,
    say: Say = print,
    today: dt.date | None = None,
    claims: bool = True,
) -> DemoResult:
    """Generate the year and load it through the services (see the module's documentation);
    ``claims=False`` stops before the subsidy claims."""
    started = time.monotonic()
    if scale not in SCALES:
        raise ValidationFailed(f"unknown scale {scale!r}; one of {', '.join(SCALES)}", code="bad_scale")
    tag = tag_of(scale, seed)
    others = await loaded_tags(year) - {tag}
    if others:
        raise Conflict(
            f"demo data for {year} is already loaded with another scale or seed "
            f"(tag {', '.join(sorted(others))}); choose another --year",
            code="demo_other_run",
        )
    report = await load_reference(system(ACTOR))
    if report.changed:
        say(f"reference catalogue: {report.summary}")
    if claims:
        # What the claims need, idempotent, as ``make up`` loads them: the policies and the
        # working-day calendar the notices run on.
        for loaded in await load_shipped_policies(system(ACTOR)):
            if loaded.status == "loaded":
                say(f"subsidy policy {loaded.code} loaded")
        seeded = await seed_from_package(system(ACTOR))
        if seeded.seeded:
            say(f"working-day calendar: {min(seeded.seeded)}-{max(seeded.seeded)} seeded")
    say(f"planning {year} at scale {scale} (seed {seed}) ...")
    plan = await plan_for(year, scale, seed, today)
    planned = plan.stats()
    say(
        f"plan: {planned['institutions']} institutions, {len(plan.cohorts):,} cohorts, "
        f"{planned['vocational_enrolments'] + planned['startup_enrolments']:,} enrolments, "
        f"{len(plan.certificates):,} certificates"
    )
    created = {
        "institutions": 0,
        "cohorts": 0,
        "enrolments": 0,
        "certificates": 0,
        "claims": 0,
        "claim_steps": 0,
    }
    planned_claims = (
        await claims_for(plan, demo_institution_keys(plan), today or business_today()) if claims else []
    )
    if (note := await running_notice_note(plan, planned_claims, today or business_today())) is not None:
        say(note)
    if await _is_complete(plan) and not await pending(plan, planned_claims):
        say(f"demo data for {year} (scale {scale}, seed {seed}) is already loaded; nothing to do")
        return DemoResult(
            year, scale, seed, True, time.monotonic() - started, planned, await summarise(plan), created
        )
    progress = _Progress(say)
    institution_ids = await _institutions(plan, created)
    say(f"institutions: {len(institution_ids)} ({created['institutions']} new)")
    cohort_ids = await _cohorts(plan, vault, institution_ids, created, progress)
    await _certificates(plan, vault, institution_ids, cohort_ids, created, progress)
    created.update(await load_claims(plan, vault, planned_claims, today=today, tick=progress.tick))
    progress.tick(lambda: f"claims: {created['claims']} filed, {created['claim_steps']} steps", force=True)
    return DemoResult(
        year, scale, seed, False, time.monotonic() - started, planned, await summarise(plan), created
    )


# --- what the database holds -------------------------------------------------------------------


async def summarise(plan: Plan) -> dict[str, Any]:
    """The demo year as the database holds it (read back, not taken from the plan)."""
    conn = connections.get("default")
    refs = f"{plan.reference_prefix}{plan.tag}-%"
    numbers = f"{plan.certificate_prefix}%"

    async def rows(sql: str, *params: Any) -> list[dict[str, Any]]:
        _, result = await conn.execute_query(sql, list(params))
        return [dict(r) for r in result]

    cohorts = await rows(
        "SELECT kind, status, count(*) AS n FROM cohort WHERE reference LIKE $1 GROUP BY 1, 2 ORDER BY 1, 2",
        refs,
    )
    outcomes = await rows(
        "SELECT c.kind, e.outcome, count(*) AS n FROM enrolment e JOIN cohort c ON c.id = e.cohort_id "
        "WHERE c.reference LIKE $1 GROUP BY 1, 2 ORDER BY 1, 2",
        refs,
    )
    people = await rows(
        "SELECT c.kind, count(DISTINCT e.trainee_id) AS trained, "
        "count(DISTINCT e.trainee_id) FILTER (WHERE e.groups ? 'veteran') AS veterans "
        "FROM enrolment e JOIN cohort c ON c.id = e.cohort_id "
        "WHERE c.reference LIKE $1 AND e.outcome = 'completed' GROUP BY 1",
        refs,
    )
    certificates = await rows(
        "SELECT kind, level, count(*) AS n FROM certificate WHERE number LIKE $1 GROUP BY 1, 2 ORDER BY 1, 2",
        numbers,
    )
    high = await rows(
        "SELECT count(DISTINCT trainee_id) AS n FROM certificate "
        "WHERE number LIKE $1 AND kind = 'skill_level' AND level <= 3 AND status = 'valid'",
        numbers,
    )
    institutions = await rows(
        "SELECT count(*) AS n FROM institution WHERE uscc = ANY($1::text[])",
        [i.uscc for i in plan.institutions],
    )
    overlaps = await rows(
        "SELECT count(DISTINCT e1.trainee_id) AS n FROM enrolment e1 "
        "JOIN cohort c1 ON c1.id = e1.cohort_id "
        "JOIN enrolment e2 ON e2.trainee_id = e1.trainee_id AND e2.cohort_id <> e1.cohort_id "
        "JOIN cohort c2 ON c2.id = e2.cohort_id "
        "WHERE c1.reference LIKE $1 AND c2.reference LIKE $1 AND c1.institution_id <> c2.institution_id "
        "AND c1.start_date <= c2.end_date AND c2.start_date <= c1.end_date",
        refs,
    )
    phones = await rows(
        "SELECT count(DISTINCT t.id) AS n FROM trainee t JOIN enrolment e ON e.trainee_id = t.id "
        "JOIN cohort c ON c.id = e.cohort_id WHERE c.reference LIKE $1 AND t.phone_index IS NOT NULL "
        "GROUP BY t.phone_index ORDER BY n DESC LIMIT 1",
        refs,
    )
    shortfalls = await rows(
        "SELECT count(*) AS n FROM enrolment e JOIN cohort c ON c.id = e.cohort_id "
        "WHERE c.reference LIKE $1 AND e.outcome = 'completed' AND e.attended_hours < 0.8 * c.planned_hours",
        refs,
    )
    trained = {r["kind"]: r for r in people}
    return {
        "institutions": int(institutions[0]["n"]),
        "cohorts": {f"{r['kind']}/{r['status']}": int(r["n"]) for r in cohorts},
        "enrolments": {f"{r['kind']}/{r['outcome']}": int(r["n"]) for r in outcomes},
        "trainees_trained": int(trained.get("vocational", {}).get("trained", 0)),
        "startup_trained": int(trained.get("startup", {}).get("trained", 0)),
        "veterans_trained": int(trained.get("vocational", {}).get("veterans", 0)),
        "certificates": {
            f"{r['kind']}" + (f"/level {r['level']}" if r["level"] is not None else ""): int(r["n"])
            for r in certificates
        },
        "high_skill_holders": int(high[0]["n"]),
        "anomalies_found": {
            "people_in_overlapping_cohorts_at_two_institutions": int(overlaps[0]["n"]),
            "most_trainees_sharing_one_phone": int(phones[0]["n"]) if phones else 0,
            "completed_with_attendance_below_80_percent": int(shortfalls[0]["n"]),
        },
        "claims": await claims_summary(plan),
    }


def format_summary(result: DemoResult) -> str:
    loaded = result.loaded
    planned = result.planned
    lines = [
        f"demo year {result.year}, scale {result.scale}, seed {result.seed}: "
        + ("already loaded" if result.already_loaded else f"loaded in {result.seconds:.0f} s"),
    ]
    if not result.already_loaded:
        lines.append(
            "  created now: "
            + ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in result.created.items())
        )
    lines.append(f"  institutions: {loaded['institutions']}")
    lines.append("  cohorts: " + ", ".join(f"{k} {n:,}" for k, n in loaded["cohorts"].items()))
    lines.append("  enrolments: " + ", ".join(f"{k} {n:,}" for k, n in loaded["enrolments"].items()))
    voc = sum(n for k, n in loaded["enrolments"].items() if k.startswith("vocational/"))
    completed = loaded["enrolments"].get("vocational/completed", 0)
    lines.append(
        f"  vocational: {voc:,} enrolments, {completed:,} completed, "
        f"{loaded['trainees_trained']:,} people trained; startup: {loaded['startup_trained']:,} people trained"
    )
    lines.append("  certificates: " + ", ".join(f"{k} {n:,}" for k, n in loaded["certificates"].items()))
    lines.append(f"  distinct level-3+ holders (high-skill): {loaded['high_skill_holders']:,}")
    lines.append(f"  veterans trained: {loaded['veterans_trained']:,}")
    lines.append(
        f"  priority-trade share of vocational cohorts (plan): {planned['priority_cohort_share']:.0%}"
    )
    lines.append(
        "  anomalies planted: "
        + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in planned["anomalies"].items())
    )
    lines.append(
        "  anomalies found in the database: "
        + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in loaded["anomalies_found"].items())
    )
    claims = loaded["claims"]
    lines.append(
        "  training claims: "
        + (", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in claims["by_status"].items()) or "none")
    )
    lines.append(
        f"  subsidy: claimed {yuan(claims['claimed_fen'])}, granted {yuan(claims['granted_fen'])}, "
        f"paid {yuan(claims['paid_fen'])}"
    )
    return "\n".join(lines)
