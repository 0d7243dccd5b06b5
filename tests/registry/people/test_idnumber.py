from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core.errors import ValidationFailed
from registry.people.rules.idnumber import (
    IdNumber,
    IdNumberError,
    age_on,
    check_digit,
    is_valid,
    looks_like_spreadsheet_number,
    make_number,
    mask,
    normalise,
    validate,
)

TODAY = date(2025, 6, 1)
KNOWN = "11010519491231002X"  # the GB 11643-1999 example number

address_codes = st.from_regex(r"[1-9][0-9]{5}", fullmatch=True)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def test_known_example_number() -> None:
    parsed = validate(KNOWN, today=TODAY)
    assert parsed == IdNumber(KNOWN, date(1949, 12, 31), "F", "110105")


@given(address_codes, births, sequences)
def test_generated_numbers_validate_and_round_trip(address: str, birth: date, sequence: int) -> None:
    number = make_number(address, birth, sequence)
    parsed = validate(number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if sequence % 2 else "F")
    assert parsed.address_code == address


@given(address_codes, births, sequences, st.integers(0, 17), st.integers(1, 9))
def test_any_single_digit_change_breaks_the_checksum(
    address: str, birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_number(address, birth, sequence)
    char = number[position]
    replacement = str(shift) if char == "X" else str((int(char) + shift) % 10)
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdNumberError) as info:
        validate(changed, today=TODAY)
    assert info.value.code == "id_checksum"
    assert changed not in info.value.message


@given(address_codes, births, sequences)
def test_lower_case_x_full_width_and_spaces_are_normalised(address: str, birth: date, sequence: int) -> None:
    number = make_number(address, birth, sequence)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number.lower())
    spaced = f"\u3000{full_width[:6]} {full_width[6:14]}\t{full_width[14:]} "
    assert normalise(spaced) == number
    assert validate(spaced, today=TODAY).number == number
    assert validate(number.lower(), today=TODAY).number == number


def test_lower_case_x_accepted() -> None:
    assert validate(KNOWN.lower(), today=TODAY).number == KNOWN
    assert validate("１１０１０５１９４９１２３１００２ｘ", today=TODAY).number == KNOWN


def test_text_wrappers_from_spreadsheets_are_dropped() -> None:
    assert normalise("'" + KNOWN) == KNOWN
    assert normalise(f'="{KNOWN}"') == KNOWN
    assert normalise(f"\ufeff{KNOWN}\u200b") == KNOWN


@pytest.mark.parametrize(
    "code", ["410381", "410306", "410307", "410322", "410308", "810000", "820000", "830000"]
)
def test_retired_unknown_and_residence_permit_codes_are_valid(code: str) -> None:
    for sequence in (1, 2, 123, 998):
        number = make_number(code, date(1990, 1, 1), sequence)
        assert validate(number, today=TODAY).address_code == code


def test_unknown_address_code_is_never_refused() -> None:
    assert is_valid(make_number("999999", date(2000, 2, 29), 5), today=TODAY)
    assert is_valid(make_number("000000", date(2000, 2, 29), 5), today=TODAY)


def test_first_generation_15_digit_numbers_are_refused() -> None:
    with pytest.raises(IdNumberError) as info:
        validate("410302900101123")
    assert info.value.code == "id_first_generation"
    assert "15-digit" in info.value.message and "18-digit" in info.value.message
    assert "410302900101123" not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_required"),
        ("   ", "id_required"),
        ("4103021990", "id_length"),
        ("4103021990010112345", "id_length"),
        ("41030219900101123", "id_length"),
        ("41030219900101123A", "id_format"),
        ("4103021990010X1234", "id_format"),
        ("41030219900101-234", "id_format"),
    ],
)
def test_shape_errors(raw: str, code: str) -> None:
    with pytest.raises(IdNumberError) as info:
        validate(raw, today=TODAY)
    assert info.value.code == code
    assert isinstance(info.value, ValidationFailed)
    if raw.strip():
        assert raw.strip() not in info.value.message


def _with_birth(text: str) -> str:
    first17 = f"410302{text}123"
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    ("birth", "fragment"),
    [
        ("19900230", "not a real date"),
        ("19901301", "not a real date"),
        ("20230229", "not a real date"),
        ("00000000", "not a real date"),
        ("20250602", "future"),
        ("20990101", "future"),
        ("18991231", "before 1900"),
    ],
)
def test_birth_date_errors(birth: str, fragment: str) -> None:
    number = _with_birth(birth)
    with pytest.raises(IdNumberError) as info:
        validate(number, today=TODAY)
    assert info.value.code == "id_birth_date"
    assert fragment in info.value.message
    assert number not in info.value.message


def test_birth_date_bounds_are_inclusive() -> None:
    assert validate(_with_birth("19000101"), today=TODAY).birth_date == date(1900, 1, 1)
    assert validate(_with_birth("20250601"), today=TODAY).birth_date == TODAY
    assert validate(_with_birth("20000229"), today=TODAY).birth_date == date(2000, 2, 29)


def test_checksum_is_checked_before_the_birth_date() -> None:
    number = _with_birth("19900230")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(IdNumberError) as info:
        validate(wrong, today=TODAY)
    assert info.value.code == "id_checksum"


@given(st.text(max_size=30))
def test_validate_only_raises_id_number_errors_without_the_input(raw: str) -> None:
    try:
        validate(raw, today=TODAY)
    except IdNumberError as exc:
        cleaned = normalise(raw)
        if len(cleaned) >= 4:
            assert cleaned not in exc.message
            assert cleaned not in str(exc)


def test_repr_masks_the_number() -> None:
    parsed = validate(KNOWN, today=TODAY)
    assert KNOWN not in repr(parsed)
    assert parsed.masked in repr(parsed)


def test_mask() -> None:
    assert mask("41030219900101123X") == "410302********123X"
    assert mask(KNOWN) == "110105********002X"
    assert mask("12345") == "*****"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1990, 6, 15), date(2025, 6, 14), 34),
        (date(1990, 6, 15), date(2025, 6, 15), 35),
        (date(2000, 2, 29), date(2025, 2, 28), 24),
        (date(2000, 2, 29), date(2025, 3, 1), 25),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2000, 1, 1), date(2000, 1, 1), 0),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


def test_age_on_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


@pytest.mark.parametrize(
    "cell",
    [
        4.10302199001011e17,
        410302199001011200,
        410302199001011,
        Decimal("410302199001011234"),
        "4.10302E+17",
        "4.10302e17",
        " 4.10302199001011E+17 ",
        "４.１０３０２Ｅ＋１７",
    ],
)
def test_spreadsheet_numbers_are_recognised(cell: object) -> None:
    assert looks_like_spreadsheet_number(cell)


@pytest.mark.parametrize(
    "cell", [KNOWN, "410302199001011200", "410302199001011000", None, True, "", "E+17", "abc"]
)
def test_text_is_not_a_spreadsheet_number(cell: object) -> None:
    assert not looks_like_spreadsheet_number(cell)


def test_make_number_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        make_number("4103", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_number("410302", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError):
        make_number("410302", date(1990, 1, 1), -1)
    assert make_number("410302", date(1990, 1, 1), 7)[14:17] == "007"


def test_the_multiplication_sign_is_read_as_x() -> None:
    # Input methods and Word documents turn the X of a check digit into × (U+00D7).
    number = make_number("410302", date(1990, 1, 1), 0)
    while not number.endswith("X"):
        number = make_number("410302", date(1990, 1, 1), int(number[14:17]) + 1)
    typed = number[:17] + "×"
    assert normalise(typed) == number
    assert validate(typed, today=date(2025, 6, 1)).number == number


@pytest.mark.parametrize("cell", ["410302199001011000.0", "410302199001011000.00", " 4103021990010110.0 "])
def test_a_float_written_out_as_text_is_a_spreadsheet_number(cell: str) -> None:
    assert looks_like_spreadsheet_number(cell)
