"""Which priority list is in force, and whether the bureau published it (issue 15, item 10),
against a real PostgreSQL.

The database is shared by the whole suite and never cleaned: the shipped reference selection
(``reference-2025-01-01``) is never confirmed here (the claims tests confirm it as the bureau would);
a stand-in for it is created at a far-future date of this file's own (2092-03 to 2092-12).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from tortoise import connections

from registry.core.errors import NotFound, ValidationFailed
from registry.core.principal import system
from registry.models.audit import AuditEvent
from registry.models.reference import PriorityList
from registry.reference import queries
from registry.reference.catalogue import REFERENCE_LIST_EFFECTIVE_FROM
from registry.reference.queries import PriorityListInForce, list_priority_trades, priority_list_facts
from registry.reference.rules import PriorityRow
from registry.reference.service import confirm_priority_list, import_priority_list, load_reference
from tests.factories import CONFIRMED_AS

PRINCIPAL = system("test-confirm")
BUREAU = system("bureau")


@pytest.fixture(scope="module")
async def reference(database: None) -> None:
    await load_reference(PRINCIPAL)


async def events_of(list_id: uuid.UUID) -> list[dict[str, Any]]:
    return await (
        AuditEvent.filter(entity_type="priority_list", entity_id=str(list_id))
        .order_by("id")
        .values("action", "actor", "before", "after")
    )


async def stand_in_reference_selection(day: dt.date) -> PriorityList:
    """A list as ``load_reference`` creates the shipped selection (unconfirmed, no document),
    at a date of its own, with two trades."""
    created = await PriorityList.create(
        code=f"reference-{day.isoformat()}",
        name=f"参考目录 {day.isoformat()}",
        effective_from=day,
        is_reference_selection=True,
    )
    await queries.insert_entries(
        connections.get("default"),
        created.id,
        [
            PriorityRow(row=2, code="6-31-01-03", sector="制造"),
            PriorityRow(row=3, code="4-10-01-05", sector="养老"),
        ],
    )
    return created


def csv_of(*codes: str) -> bytes:
    return ("code\n" + "\n".join(codes) + "\n").encode()


async def test_the_shipped_selection_has_a_code_and_is_not_confirmed(reference: None) -> None:
    """Loaded, the shipped selection is unconfirmed (the stand-ins below are made the same
    way); the suite's claims tests confirm it as the bureau would
    (:func:`tests.factories.confirm_reference_list`): then it names that document."""
    facts = await priority_list_facts(REFERENCE_LIST_EFFECTIVE_FROM)
    assert facts is not None
    assert (facts.code, facts.reference_selection) == ("reference-2025-01-01", True)
    stored = await PriorityList.get(code="reference-2025-01-01")
    if facts.confirmed:
        assert (facts.document, stored.confirmed_by) == (CONFIRMED_AS, "system:test")
    else:
        assert facts.document == "" and (stored.confirmed_at, stored.confirmed_by) == (None, None)
    page = await list_priority_trades(REFERENCE_LIST_EFFECTIVE_FROM, limit=1, offset=0)
    item = page.items[0]
    assert (item.list_code, item.list_document, item.list_confirmed) == (
        "reference-2025-01-01",
        facts.document,
        facts.confirmed,
    )


async def test_confirm_records_the_document_the_time_and_who_and_audits(reference: None) -> None:
    day = dt.date(2092, 3, 1)
    stand_in = await stand_in_reference_selection(day)
    before = await priority_list_facts(dt.date(2092, 3, 15))
    assert before == PriorityListInForce(
        code="reference-2092-03-01",
        name="参考目录 2092-03-01",
        document="",
        confirmed=False,
        reference_selection=True,
    )

    started = dt.datetime.now(dt.UTC)
    report = await confirm_priority_list(
        BUREAU, " reference-2092-03-01 ", document="  洛人社〔2092〕3号 \u200b"
    )
    assert (report.code, report.document, report.confirmed_by, report.unchanged) == (
        "reference-2092-03-01",
        "洛人社〔2092〕3号",
        "system:bureau",
        False,
    )
    assert report.reference_selection and report.list_id == stand_in.id
    stored = await PriorityList.get(id=stand_in.id)
    assert stored.document == "洛人社〔2092〕3号" and stored.confirmed_by == "system:bureau"
    assert stored.confirmed_at is not None and started <= stored.confirmed_at <= dt.datetime.now(dt.UTC)
    assert stored.is_reference_selection  # still the shipped selection, now published by the bureau

    after = await priority_list_facts(dt.date(2092, 3, 15))
    assert after == PriorityListInForce(
        code="reference-2092-03-01",
        name="参考目录 2092-03-01",
        document="洛人社〔2092〕3号",
        confirmed=True,
        reference_selection=True,
    )
    page = await list_priority_trades(dt.date(2092, 3, 15), limit=10, offset=0)
    assert page.total == 2
    assert {(i.list_code, i.list_document, i.list_confirmed) for i in page.items} == {
        ("reference-2092-03-01", "洛人社〔2092〕3号", True)
    }

    events = await events_of(stand_in.id)
    assert [(e["action"], e["actor"]) for e in events] == [("priority_list.confirm", "system:bureau")]
    assert events[0]["before"] == {"document": "", "confirmed_at": None, "confirmed_by": None}
    assert events[0]["after"]["document"] == "洛人社〔2092〕3号"
    assert events[0]["after"]["code"] == "reference-2092-03-01"
    assert events[0]["after"]["is_reference_selection"] is True

    # The same confirmation again changes nothing; another document is recorded (and audited).
    again = await confirm_priority_list(BUREAU, "reference-2092-03-01", document="洛人社〔2092〕3号")
    assert again.unchanged and again.confirmed_at == stored.confirmed_at
    assert len(await events_of(stand_in.id)) == 1
    corrected = await confirm_priority_list(PRINCIPAL, "reference-2092-03-01", document="洛人社〔2092〕4号")
    assert not corrected.unchanged and corrected.confirmed_by == "system:test-confirm"
    events = await events_of(stand_in.id)
    assert len(events) == 2 and events[1]["before"]["document"] == "洛人社〔2092〕3号"
    assert (await priority_list_facts(dt.date(2092, 3, 15))).document == "洛人社〔2092〕4号"  # type: ignore[union-attr]


async def test_confirm_refuses_an_unknown_code_and_a_blank_document(reference: None) -> None:
    stand_in = await stand_in_reference_selection(dt.date(2092, 5, 1))
    with pytest.raises(NotFound) as unknown:
        await confirm_priority_list(BUREAU, "reference-2092-05-02", document="洛人社〔2092〕5号")
    assert unknown.value.code == "unknown_priority_list"
    assert "'reference-2092-05-02'" in unknown.value.message
    latest = await PriorityList.all().order_by("-effective_from").first()
    assert latest is not None and f"the latest lists: {latest.code}" in unknown.value.message
    for blank in ("", "   ", " \u200b\u3000", "\t\n"):
        with pytest.raises(ValidationFailed) as refused:
            await confirm_priority_list(BUREAU, "reference-2092-05-01", document=blank)
        assert [(e.field, e.code) for e in refused.value.errors] == [("document", "required")]
    with pytest.raises(ValidationFailed) as too_long:
        await confirm_priority_list(BUREAU, "reference-2092-05-01", document="号" * 201)
    assert [(e.field, e.code) for e in too_long.value.errors] == [("document", "too_long")]
    # Nothing was written.
    stored = await PriorityList.get(id=stand_in.id)
    assert (stored.document, stored.confirmed_at, stored.confirmed_by) == ("", None, None)
    assert await events_of(stand_in.id) == []
    assert not (await priority_list_facts(dt.date(2092, 5, 1))).confirmed  # type: ignore[union-attr]


async def test_a_list_the_bureau_loads_is_confirmed_at_load(reference: None) -> None:
    day = dt.date(2092, 7, 1)
    started = dt.datetime.now(dt.UTC)
    report = await import_priority_list(
        BUREAU,
        csv_of("6-31-01-03", "6-18-02-04"),
        "bureau.csv",
        name="洛阳市重点工种目录 2092",
        effective_from=day,
        code="luoyang-2092",
        document=" 洛人社〔2092〕7号 ",
    )
    assert (report.code, report.document) == ("luoyang-2092", "洛人社〔2092〕7号")
    assert await priority_list_facts(dt.date(2092, 7, 31)) == PriorityListInForce(
        code="luoyang-2092",
        name="洛阳市重点工种目录 2092",
        document="洛人社〔2092〕7号",
        confirmed=True,
        reference_selection=False,
    )
    stored = await PriorityList.get(id=report.list_id)
    assert stored.confirmed_by == "system:bureau"
    assert stored.confirmed_at is not None and stored.confirmed_at >= started
    (event,) = await events_of(report.list_id)
    assert event["action"] == "priority_list.import"
    assert (event["after"]["code"], event["after"]["document"], event["after"]["confirmed_by"]) == (
        "luoyang-2092",
        "洛人社〔2092〕7号",
        "system:bureau",
    )

    # Loaded again with another file and no --code: the list keeps its code.
    replaced = await import_priority_list(
        BUREAU, csv_of("4-10-01-05"), "bureau-2.csv", name="洛阳市重点工种目录 2092", effective_from=day
    )
    assert replaced.replaced and replaced.code == "luoyang-2092" and replaced.document == ""
    assert (await priority_list_facts(day)).confirmed  # type: ignore[union-attr]

    # Without a code (and no list that day), the code comes from the effective date.
    derived = await import_priority_list(
        BUREAU, csv_of("4-10-01-05"), "b.csv", name="目录 2092 下半年", effective_from=dt.date(2092, 8, 1)
    )
    assert derived.code == "list-2092-08-01"
    facts = await priority_list_facts(dt.date(2092, 8, 1))
    assert facts is not None and (facts.code, facts.document, facts.confirmed) == (
        "list-2092-08-01",
        "",
        True,
    )


async def test_loading_refuses_a_bad_or_taken_code_and_a_blank_document(reference: None) -> None:
    day = dt.date(2092, 10, 1)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"code": "luoyang-2092"}, "code", "code_taken"),  # the list of 2092-07-01's
        ({"code": "reference-2092-10-01"}, "code", "reserved_code"),
        ({"code": "洛阳 2092"}, "code", "malformed_code"),
        ({"code": ""}, "code", "malformed_code"),
        ({"document": " \u200b "}, "document", "required"),
    ]
    for extra, field, code in cases:
        with pytest.raises(ValidationFailed) as refused:
            await import_priority_list(
                BUREAU, csv_of("4-10-01-05"), "x.csv", name="x", effective_from=day, **extra
            )
        assert [(e.field, e.code) for e in refused.value.errors] == [(field, code)], extra
    assert not await PriorityList.filter(effective_from=day).exists()


async def test_the_bureau_replacing_the_shipped_selection_publishes_it(reference: None) -> None:
    day = dt.date(2092, 12, 1)
    stand_in = await stand_in_reference_selection(day)
    report = await import_priority_list(
        BUREAU,
        csv_of("4-10-01-05"),
        "b.csv",
        name="公布目录",
        effective_from=day,
        document="洛人社〔2092〕12号",
    )
    assert report.replaced and report.list_id == stand_in.id and report.code == "list-2092-12-01"
    assert await priority_list_facts(day) == PriorityListInForce(
        code="list-2092-12-01",
        name="公布目录",
        document="洛人社〔2092〕12号",
        confirmed=True,
        reference_selection=False,
    )
    (event,) = await events_of(stand_in.id)
    assert event["action"] == "priority_list.replace"
    assert (event["before"]["code"], event["before"]["is_reference_selection"]) == (
        "reference-2092-12-01",
        True,
    )


async def test_the_list_in_force_follows_the_dates(reference: None) -> None:
    assert await priority_list_facts(dt.date(1990, 1, 1)) is None  # before any list
    for code, day in (("jia", dt.date(2092, 11, 1)), ("yi", dt.date(2092, 11, 15))):
        loaded = await import_priority_list(
            BUREAU, csv_of("4-10-01-05"), f"{code}.csv", name=code, effective_from=day, code=code
        )
        assert loaded.code == code
    earlier = await priority_list_facts(dt.date(2092, 10, 31))
    assert earlier is None or earlier.code not in ("jia", "yi")
    on = {dt.date(2092, 11, 1): "jia", dt.date(2092, 11, 14): "jia", dt.date(2092, 11, 15): "yi"}
    for day, code in on.items():
        facts = await priority_list_facts(day)
        assert facts is not None and facts.code == code, day
        # The same rule as IN_FORCE: the list whose id IN_FORCE gives.
        in_force = await queries.priority_list_in_force(day)
        assert in_force is not None and in_force.code == facts.code
