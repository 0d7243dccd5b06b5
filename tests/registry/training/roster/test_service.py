"""Roster import: messy files, both modes, re-uploads, identity, capacity, limits, tenancy.

The database is shared by the whole run and not cleaned: every test makes its own
institution, cohort and people (fresh ID numbers), so the order does not matter.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

from registry.core.clock import business_today
from registry.core.crypto import Vault
from registry.core.errors import Conflict, NotFound, ValidationFailed
from registry.core.principal import Principal
from registry.enums import CohortKind, CohortStatus
from registry.models.audit import AuditEvent
from registry.models.institution import Institution
from registry.models.training import Cohort, Enrolment, ImportBatch, Trainee
from registry.people.queries import id_index
from registry.training.roster import service
from registry.training.roster.refused import ERROR_COLUMN
from tests.factories import acting_for as principal_of
from tests.factories import csv_bytes, make_cohort, new_institution, xlsx_bytes
from tests.factories import new_id_number as new_number


@pytest.fixture
async def setting(divisions: None) -> tuple[Institution, Cohort, Principal]:
    institution = await new_institution()
    cohort = await make_cohort(institution)
    return institution, cohort, principal_of(institution)


HEADER = ["序号", "姓名", "身份证号码", "手机号", "户籍县区", "重点群体"]


async def enrolled_count(cohort: Cohort) -> int:
    return await Enrolment.filter(cohort_id=cohort.id).count()


async def test_a_messy_gbk_csv_is_imported(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting
    a, b = new_number(), new_number("410381")
    data = csv_bytes(
        [
            ["2025年洛阳市职业技能培训花名册"],
            [],
            HEADER,
            [1, "张伟", a, "13812345678", "涧西区", "农民工、退役军人"],
            [2, " 李娜 ", f"'{b.lower()}", "", "新安", ""],
            [3],
            ["合计", "2人"],
        ],
        encoding="gbk",
    )
    report = await service.import_roster(principal, vault, cohort.id, data, "花名册.csv")
    assert report.status == "imported"
    assert (report.rows_read, report.accepted, report.refused, report.already_enrolled) == (2, 2, 0, 0)
    assert report.errors == [] and not report.unchanged
    assert await enrolled_count(cohort) == 2
    trainee = await Trainee.get(id_index=id_index(vault, a))
    assert trainee.name == "张伟" and trainee.household_division_id == "410305"  # type: ignore[attr-defined]
    assert sorted(trainee.groups) == ["migrant_worker", "veteran"]
    enrolment = await Enrolment.get(cohort_id=cohort.id, trainee_id=trainee.id)
    assert enrolment.import_batch_id == report.batch_id  # type: ignore[attr-defined]
    batch = await ImportBatch.get(id=report.batch_id)
    assert batch.status == "imported" and batch.accepted == 2 and batch.actor == principal.actor
    event = await AuditEvent.filter(action="roster.import", entity_id=str(report.batch_id)).first()
    assert event is not None and event.after["accepted"] == 2 and event.after["sha256"] == report.sha256
    assert a not in str(event.after) and b not in str(event.after)


async def test_all_or_nothing_refuses_the_whole_file_and_names_every_bad_row(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting
    good, dup = new_number(), new_number()
    data = xlsx_bytes(
        [
            HEADER,
            [1, "王芳", good, None, None, None],
            [2, "赵六", int(dup[:17] + "0") if dup[17] != "X" else 410305199001011230, None, None, None],
            [3, "钱七", good, None, None, None],
            [4, "孙八", new_number(), "12345", "火星区", "外星人"],
        ]
    )
    report = await service.import_roster(principal, vault, cohort.id, data, "roster.xlsx")
    assert report.status == "refused"
    assert (report.rows_read, report.accepted, report.refused, report.duplicate_in_file) == (4, 0, 3, 1)
    where = {(e["row"], e["column"], e["code"]) for e in report.errors}
    assert (3, "身份证号码", "id_stored_as_number") in where
    assert (4, "身份证号码", "duplicate_in_file") in where
    assert (5, "手机号", "phone_format") in where or any(
        e["row"] == 5 and e["column"] == "手机号" for e in report.errors
    )
    assert any(e["row"] == 5 and e["column"] == "户籍县区" for e in report.errors)
    assert any(e["row"] == 5 and e["column"] == "重点群体" for e in report.errors)
    assert all(good not in e["message"] for e in report.errors)
    assert await enrolled_count(cohort) == 0
    assert not await Trainee.exists(id_index=id_index(vault, good))
    batch = await ImportBatch.get(id=report.batch_id)
    assert batch.status == "refused" and batch.refused == 3
    assert not report.refused_rows_file
    with pytest.raises(NotFound):
        await service.refused_rows_xlsx(principal, vault, cohort.id, batch.id)


async def test_valid_rows_imports_the_good_ones_and_offers_the_refused_rows_as_xlsx(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting
    good, other = new_number(), new_number()
    data = csv_bytes(
        [
            ["姓名", "身份证号", "学时"],
            ["周杰", good, "40学时"],
            ["吴刚", other[:17] + ("1" if other[17] != "1" else "2"), "12"],  # wrong check digit
            ["郑和", '=HYPERLINK("x")', "abc"],
        ]
    )
    report = await service.import_roster(principal, vault, cohort.id, data, "r.csv", mode="valid_rows")
    assert report.status == "partial"
    assert (report.accepted, report.refused) == (1, 2)
    assert report.refused_rows_file
    assert await enrolled_count(cohort) == 1
    enrolment = await Enrolment.get(cohort_id=cohort.id)
    assert enrolment.attended_hours == 40
    content = await service.refused_rows_xlsx(principal, vault, cohort.id, report.batch_id)  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["原行号 (row)", "姓名", "身份证号", "学时", ERROR_COLUMN]
    assert [r[0] for r in rows[1:]] == [3, 4]
    assert rows[1][1] == "吴刚" and isinstance(rows[1][2], str) and len(rows[1][2]) == 18
    assert "身份证号:" in rows[1][4] and "check digit" in rows[1][4]
    assert rows[2][2] == '=HYPERLINK("x")'  # stored as text, never as a formula
    assert sheet.cell(row=3, column=3).data_type == "s" and sheet.cell(row=3, column=3).quotePrefix
    assert "学时:" in rows[2][4]
    # the refused cells are stored encrypted, never in plain text
    batch = await ImportBatch.get(id=report.batch_id)
    assert "吴刚" not in str(batch.errors) and other[:17] not in str(batch.errors)
    assert batch.refused_cells is not None and "吴刚".encode() not in batch.refused_cells
    assert all(not str(e.get("field", "")).startswith("_") for e in batch.errors)
    # the refused-rows file is for this cohort's caller only
    stranger = principal_of(await new_institution())
    with pytest.raises(NotFound):
        await service.refused_rows_xlsx(stranger, vault, cohort.id, report.batch_id)  # type: ignore[arg-type]


async def test_attended_hours_beyond_the_cohort_rule_are_refused_in_the_hours_column(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting  # 80 planned hours: at most 120 attended
    ok, over, precise = new_number(), new_number(), new_number()
    data = csv_bytes(
        [
            ["姓名", "身份证号", "学时", "结果"],
            ["甲一", ok, "120", "合格"],
            ["甲二", over, "120.5", ""],
            ["甲三", precise, "10.25", ""],
        ]
    )
    report = await service.import_roster(principal, vault, cohort.id, data, "hours.csv")
    assert report.status == "refused" and (report.accepted, report.refused) == (0, 2)
    where = {(e["row"], e["column"], e["field"], e["code"]) for e in report.errors}
    assert where == {
        (3, "学时", "attended_hours", "out_of_range"),
        (4, "学时", "attended_hours", "too_precise"),
    }
    assert "120" in next(e["message"] for e in report.errors if e["code"] == "out_of_range")
    assert await enrolled_count(cohort) == 0

    partial = await service.import_roster(principal, vault, cohort.id, data, "hours.csv", mode="valid_rows")
    assert partial.status == "partial" and (partial.accepted, partial.refused) == (1, 2)
    enrolment = await Enrolment.get(cohort_id=cohort.id)
    assert enrolment.attended_hours == 120 and enrolment.outcome == "completed"
    content = await service.refused_rows_xlsx(principal, vault, cohort.id, partial.batch_id)  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [r[0] for r in rows[1:]] == [3, 4]
    assert rows[1][1] == "甲二" and rows[1][-1].startswith("学时:")


async def test_an_outcome_the_cohort_does_not_allow_yet_is_refused(divisions: None, vault: Vault) -> None:
    institution = await new_institution()
    principal = principal_of(institution)
    start = business_today() + dt.timedelta(days=30)
    cohort = await Cohort.create(
        institution=institution,
        reference=f"R-{uuid.uuid4().hex[:10]}",
        kind=CohortKind.VOCATIONAL,
        division_id="410305",
        planned_hours=80,
        start_date=start,
        end_date=start + dt.timedelta(days=30),
        capacity=10,
        status=CohortStatus.OPEN,
    )
    passed, attended, withdrew, plain = new_number(), new_number(), new_number(), new_number()
    data = csv_bytes(
        [
            ["姓名", "身份证号", "学时", "培训结果"],
            ["乙一", passed, "", "合格"],
            ["乙二", attended, "8", ""],
            ["乙三", withdrew, "", "退学"],
            ["乙四", plain, "0", "在训"],
        ]
    )
    report = await service.import_roster(principal, vault, cohort.id, data, "early.csv")
    assert report.status == "refused"
    where = {(e["row"], e["column"], e["code"]) for e in report.errors}
    assert where == {(2, "培训结果", "cohort_not_started"), (3, "学时", "cohort_not_started")}
    assert await enrolled_count(cohort) == 0

    partial = await service.import_roster(principal, vault, cohort.id, data, "early.csv", mode="valid_rows")
    assert (partial.status, partial.accepted, partial.refused) == ("partial", 2, 2)
    outcomes = sorted(await Enrolment.filter(cohort_id=cohort.id).values_list("outcome", flat=True))
    assert outcomes == ["in_progress", "withdrawn"]


async def test_the_same_file_again_changes_nothing_and_says_so(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting
    data = csv_bytes([["姓名", "身份证号"], ["陈一", new_number()], ["陈二", new_number()]])
    first = await service.import_roster(principal, vault, cohort.id, data, "a.csv")
    batches = await ImportBatch.filter(cohort_id=cohort.id).count()
    again = await service.import_roster(principal, vault, cohort.id, data, "renamed.csv")
    assert again.unchanged and "nothing changed" in again.message
    assert again.batch_id == first.batch_id and again.accepted == 2
    assert await ImportBatch.filter(cohort_id=cohort.id).count() == batches
    assert await enrolled_count(cohort) == 2


async def test_a_corrected_file_after_a_partial_import_skips_who_is_enrolled(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, principal = setting
    a, b = new_number(), new_number()
    first = csv_bytes([["姓名", "身份证号"], ["林一", a], ["林二", b[:17] + ("0" if b[17] != "0" else "1")]])
    report = await service.import_roster(principal, vault, cohort.id, first, "a.csv", mode="valid_rows")
    assert (report.accepted, report.refused) == (1, 1)
    corrected = csv_bytes([["姓名", "身份证号"], ["林一", a], ["林二", b]])
    report = await service.import_roster(principal, vault, cohort.id, corrected, "a.csv")
    assert report.status == "imported"
    assert (report.accepted, report.already_enrolled, report.refused) == (1, 1, 0)
    assert report.skipped[0]["row"] == 2 and report.skipped[0]["code"] == "already_enrolled"
    assert await enrolled_count(cohort) == 2
    batch = await ImportBatch.get(id=report.batch_id)
    assert batch.already_enrolled == 1 and batch.refused_cells is None
    stored = await service.import_report(principal, cohort.id, report.batch_id)  # type: ignore[arg-type]
    assert stored.already_enrolled == 1 and stored.errors == [] and not stored.refused_rows_file


async def test_an_id_number_registered_under_another_name_is_refused(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    institution, cohort, principal = setting
    number = new_number()
    other_cohort = await make_cohort(institution)
    await service.import_roster(
        principal, vault, other_cohort.id, csv_bytes([["姓名", "身份证号"], ["马超", number]]), "x.csv"
    )
    data = csv_bytes([["姓名", "身份证号"], ["马云", number], ["黄忠", new_number()]])
    refused = await service.import_roster(principal, vault, cohort.id, data, "y.csv")
    assert refused.status == "refused"
    assert refused.errors == [
        {
            "field": "name",
            "code": "identity_mismatch",
            "row": 2,
            "column": "姓名",
            "message": refused.errors[0]["message"],
        }
    ]
    assert "马超" not in refused.errors[0]["message"]
    partial = await service.import_roster(principal, vault, cohort.id, data, "y.csv", mode="valid_rows")
    assert (partial.status, partial.accepted, partial.refused) == ("partial", 1, 1)
    content = await service.refused_rows_xlsx(principal, vault, cohort.id, partial.batch_id)  # type: ignore[arg-type]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == (2, "马云", number) and "姓名:" in str(rows[1][3])


async def test_capacity_counts_existing_and_new_enrolments(divisions: None, vault: Vault) -> None:
    institution = await new_institution()
    cohort = await make_cohort(institution, capacity=3)
    principal = principal_of(institution)
    await service.import_roster(
        principal,
        vault,
        cohort.id,
        csv_bytes([["姓名", "身份证号"], ["甲乙", new_number()], ["丙丁", new_number()]]),
        "1.csv",
    )
    too_many = csv_bytes([["姓名", "身份证号"], ["戊己", new_number()], ["庚辛", new_number()]])
    with pytest.raises(Conflict) as caught:
        await service.import_roster(principal, vault, cohort.id, too_many, "2.csv")
    assert caught.value.code == "capacity_exceeded" and "room for 3" in caught.value.message
    assert await enrolled_count(cohort) == 2


async def test_a_cohort_that_takes_no_enrolments_is_a_conflict(divisions: None, vault: Vault) -> None:
    institution = await new_institution()
    cohort = await make_cohort(institution, status=CohortStatus.CLOSED)
    with pytest.raises(Conflict):
        await service.import_roster(
            principal_of(institution),
            vault,
            cohort.id,
            csv_bytes([["姓名", "身份证号"], ["甲乙", new_number()]]),
            "1.csv",
        )


async def test_limits_on_size_and_rows(
    setting: tuple[Institution, Cohort, Principal], vault: Vault, tmp_path: Path
) -> None:
    _, cohort, principal = setting
    data = csv_bytes([["姓名", "身份证号"], *[["张三", new_number()] for _ in range(5)]])
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, data, "a.csv", max_bytes=100)
    assert caught.value.code == "file_too_large"
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, path, "big.csv", max_bytes=100)
    assert caught.value.code == "file_too_large"
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, data, "a.csv", max_rows=4)
    assert caught.value.code == "too_many_rows"
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, b"x,y\n1,2\n", "a.csv")
    assert caught.value.code == "no_header"
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, data, "a.xls")
    assert caught.value.code == "unsupported_file_type"
    with pytest.raises(ValidationFailed) as caught:
        await service.import_roster(principal, vault, cohort.id, data, "a.csv", mode="some")
    assert caught.value.code == "bad_mode"
    assert await enrolled_count(cohort) == 0


async def test_another_institution_cannot_import_into_the_cohort(
    setting: tuple[Institution, Cohort, Principal], vault: Vault
) -> None:
    _, cohort, _ = setting
    stranger = principal_of(await new_institution())
    data = csv_bytes([["姓名", "身份证号"], ["张三", new_number()]])
    with pytest.raises(NotFound):
        await service.import_roster(stranger, vault, cohort.id, data, "a.csv")
    with pytest.raises(NotFound):
        await service.import_roster(stranger, vault, uuid.uuid4(), data, "a.csv")
    assert await enrolled_count(cohort) == 0


async def test_a_large_file_goes_through_copy(
    setting: tuple[Institution, Cohort, Principal], vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.training import queries as enrolments
    from registry.training.roster import queries as roster_queries

    _, cohort, principal = setting
    monkeypatch.setattr(enrolments, "COPY_THRESHOLD", 5)
    monkeypatch.setattr(roster_queries, "PEOPLE_CHUNK", 7)
    rows = [["姓名", "身份证号", "结果"], *[["郭靖", new_number(), "合格"] for _ in range(30)]]
    report = await service.import_roster(principal, vault, cohort.id, xlsx_bytes(rows), "big.xlsx")
    assert report.accepted == 30 and await enrolled_count(cohort) == 30
    assert await Enrolment.filter(cohort_id=cohort.id, outcome="completed").count() == 30


async def test_the_people_look_up_in_several_chunks(
    setting: tuple[Institution, Cohort, Principal], vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known people, people already enrolled and a name mismatch found in every chunk of
    the look-up, not only in the first (the one that also answers the capacity count)."""
    from registry.training.roster import queries as roster_queries

    _, cohort, principal = setting
    monkeypatch.setattr(roster_queries, "LOOKUP_CHUNK", 4)
    numbers = [new_number() for _ in range(10)]
    first = [["姓名", "身份证号"], *[["黄蓉", n] for n in numbers[:3]], ["黄蓉", numbers[8]]]
    report = await service.import_roster(principal, vault, cohort.id, csv_bytes(first), "a.csv")
    assert report.accepted == 4
    again = [["姓名", "身份证号"], *[["黄蓉", n] for n in numbers[:8]], ["洪七公", numbers[8]]]
    report = await service.import_roster(
        principal, vault, cohort.id, csv_bytes(again), "b.csv", mode="valid_rows"
    )
    assert (report.accepted, report.already_enrolled, report.refused) == (5, 3, 1)
    assert report.errors[0]["row"] == 10 and report.errors[0]["column"] == "姓名"
    assert await enrolled_count(cohort) == 9
