from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core.errors import ValidationFailed
from registry.people.rules.personal import (
    PersonalDataError,
    mask_name,
    mask_phone,
    normalise_name,
    normalise_phone,
    validate_name,
    validate_phone,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "008613812345678",
        "86 13812345678",
        "１３８１２３４５６７８",
        "(+86) 138-1234-5678",
        "\u3000138\u30001234\u30005678 ",
    ],
)
def test_phone_forms_are_normalised(raw: str) -> None:
    assert validate_phone(raw) == "13812345678"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_every_mobile_number_validates(phone: str) -> None:
    assert validate_phone(phone) == phone
    assert validate_phone("+86 " + phone) == phone


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "phone_required"),
        (" - ", "phone_required"),
        ("12812345678", "phone_format"),
        ("1381234567", "phone_format"),
        ("138123456789", "phone_format"),
        ("1381234567a", "phone_format"),
        ("0379-6123456", "phone_not_mobile"),
        ("037961234567", "phone_not_mobile"),
    ],
)
def test_bad_phones(raw: str, code: str) -> None:
    with pytest.raises(PersonalDataError) as info:
        validate_phone(raw)
    assert info.value.code == code
    assert isinstance(info.value, ValidationFailed)
    if normalise_phone(raw):
        assert normalise_phone(raw) not in info.value.message


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("123") == "***"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("张三", "张三"),
        ("  张三 ", "张三"),
        ("张　三", "张三"),
        ("张  三", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 • 买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("John   Smith", "John Smith"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"),
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
    ],
)
def test_names_are_normalised(raw: str, name: str) -> None:
    assert normalise_name(raw) == name
    assert validate_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "name_required"),
        ("   ", "name_required"),
        ("张", "name_length"),
        ("张" * 51, "name_length"),
        ("张三1", "name_digits"),
        ("张三２", "name_digits"),
        ("张三@", "name_characters"),
        ("·张三", "name_characters"),
        ("张三·", "name_characters"),
        ("张·· 三", "name_characters"),
        ("张三（男）", "name_characters"),
    ],
)
def test_bad_names(raw: str, code: str) -> None:
    with pytest.raises(PersonalDataError) as info:
        validate_name(raw)
    assert info.value.code == code


def test_name_length_bounds() -> None:
    assert validate_name("张" * 50) == "张" * 50
    assert validate_name("张三") == "张三"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("王小明", "王**"), ("欧阳娜娜", "欧***"), ("阿依古丽·买买提", "阿*******"), ("", "")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["李〇", "王〇〇", "〇一明"])
def test_the_ideographic_zero_is_a_letter_of_real_names(name: str) -> None:
    # 〇 (U+3007) is a character of names (李〇); Unicode files it as a number (Nl).
    assert validate_name(name) == name
