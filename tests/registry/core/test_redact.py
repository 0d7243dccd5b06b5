"""An error never quotes a value shaped like an ID number (issue 7, section 6): the domain's
errors mask such values wherever a message is made, so neither an answer nor a stored
import report nor a log line repeats one."""

from __future__ import annotations

from registry.core.errors import FieldError, ValidationFailed
from registry.core.redact import mask_id_numbers_in
from registry.training.roster.rules import parse_roster
from registry.training.rules import EnrolmentRequest, parse_enrolments
from tests.factories import TODAY, new_id_number


def test_the_mask_keeps_the_shape_and_hides_the_middle() -> None:
    number = new_id_number("410305")
    assert (
        mask_id_numbers_in(f"'{number}' is not a district")
        == f"'{number[:6]}********{number[-4:]}' is not a district"
    )
    assert mask_id_numbers_in("cohort 12345 row 7") == "cohort 12345 row 7"


def test_errors_mask_what_they_are_given() -> None:
    number = new_id_number()
    assert number not in FieldError("f", "c", f"bad {number}").message
    assert number not in ValidationFailed(f"bad {number}").message
    assert number not in str(ValidationFailed(f"bad {number}"))


def test_a_roster_with_an_id_number_in_other_columns_never_quotes_it() -> None:
    number, other = new_id_number(), new_id_number()
    parse = parse_roster(
        [
            (1, ["姓名", "身份证号", "户籍县区", "重点群体", "结果"]),
            (2, ["张三", number, other, other, other]),
            (3, ["李四", new_id_number(), "涧西区", "", float(other[:17] + "0")]),
        ],
        divisions={"涧西区": "410305"},
        today=TODAY,
    )
    assert parse.errors, "the bad cells are refused"
    text = repr([e.as_dict() for e in parse.errors])
    assert other not in text and other[:17] not in text


def test_an_enrolment_with_an_id_number_as_a_group_never_quotes_it() -> None:
    number = new_id_number()
    _, errors = parse_enrolments(
        [
            EnrolmentRequest(
                id_number=new_id_number(), name="张三", groups=(number,), household_division=number
            )
        ],
        divisions={"410305": "410305", "涧西区": "410305"},
        today=TODAY,
        as_list=False,
    )
    assert errors
    assert number not in repr([e.as_dict() for e in errors])
