"""``api.downloads.content_disposition``: every file the API serves is named by RFC 6266's
two parameters, an ASCII fallback and the UTF-8 ``filename*`` (issue 15, item 15). The
header is Latin-1 (a Chinese name was a 500) and a name cannot add a parameter of its own."""

from __future__ import annotations

import pytest

from api.downloads import ascii_fallback, content_disposition
from tests.api.support import download_name as decoded_name
from tests.api.support import download_parameters as parameters


@pytest.mark.parametrize(
    "name",
    [
        "claim-洛阳2025第一期-1a2b3c4d.xlsx",
        'claim-PRB-"F"; filename=evil.exe-1a2b3c4d.xlsx',
        "claim-a;b,c d e%41'x=(1)-1a2b3c4d.xlsx",
        "quarterly-2025-Q3-410305.xlsx",
    ],
)
def test_the_name_comes_back_whole_and_the_header_is_ascii(name: str) -> None:
    header = content_disposition(name)
    header.encode("ascii")  # what an HTTP header can carry
    assert header.startswith('attachment; filename="')
    assert decoded_name(header) == name
    names = [key for key, _ in parameters(header)]
    assert names == ["filename", "filename*"], header


def test_a_quote_or_semicolon_in_the_name_adds_no_parameter() -> None:
    header = content_disposition('claim-PRB-"F"; filename=evil.exe-1a2b3c4d.xlsx')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "claim-PRB-_F___filename_evil.exe-1a2b3c4d.xlsx"
    assert header.count("filename=") == 1 and header.count("filename*=") == 1
    assert header.count('"') == 2 and header.count(";") == 2


def test_the_ascii_fallback() -> None:
    assert ascii_fallback("claim-洛阳2025-1a2b.xlsx") == "claim-__2025-1a2b.xlsx"
    assert ascii_fallback("notice-1a2b3c4d.xlsx") == "notice-1a2b3c4d.xlsx"
    assert ascii_fallback("../../etc/passwd") == "_.._etc_passwd"
    assert ascii_fallback("") == "download"


def test_path_separators_and_control_characters_never_reach_the_name() -> None:
    header = content_disposition("a/b\\c\r\nSet-Cookie: x=1.xlsx")
    assert "\r" not in header and "\n" not in header
    assert decoded_name(header) == "a_b_c__Set-Cookie: x=1.xlsx"
    assert [key for key, _ in parameters(header)] == ["filename", "filename*"]


def test_a_long_name_keeps_its_extension() -> None:
    name = "claim-" + "长" * 300 + ".xlsx"
    decoded = decoded_name(content_disposition(name))
    assert decoded.endswith(".xlsx") and len(decoded) == 150
