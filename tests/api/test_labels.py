"""The words every page shares (api/labels.py): every flag code the registry writes has a
Chinese label, every claim status too; amounts and dates as people write them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jinja2
import pytest

from api import labels
from registry.enums import ClaimStatus
from registry.subsidy.policy import KNOWN_RULES
from registry.subsidy.rules import LATER_RULES

ROOT = Path(__file__).resolve().parents[2]


def test_every_flag_code_the_registry_writes_has_a_chinese_label() -> None:
    written = set(KNOWN_RULES) | set(LATER_RULES) | {"OBJECTION", "CLAWED_BACK"}
    in_notices = set(re.findall(r'"code": "([A-Z_]+)"', (ROOT / "registry/notices/service.py").read_text()))
    assert in_notices and in_notices <= set(labels.FLAG_LABELS)
    assert written <= set(labels.FLAG_LABELS), written - set(labels.FLAG_LABELS)
    for code, label in labels.FLAG_LABELS.items():
        assert re.fullmatch(r"[\u4e00-\u9fff]+", label), (code, label)
    assert labels.FLAG_LABELS["ATTENDANCE"] == "出勤不足" and labels.FLAG_LABELS["OVERLAP"] == "重复参训"


def test_a_flag_shows_its_label_with_the_code_beside() -> None:
    assert labels.flag_label("ATTENDANCE") == "出勤不足（ATTENDANCE）"
    assert labels.flag_name("SHARED_PHONE") == "共用手机号"
    assert labels.flag_label("SOMETHING_NEW") == "其他标记（SOMETHING_NEW）"


def test_every_claim_status_has_a_chinese_label() -> None:
    assert set(labels.CLAIM_STATUS_LABELS) == {s.value for s in ClaimStatus}
    assert labels.claim_status(ClaimStatus.PAYABLE) == "待拨付" and labels.claim_status("paid") == "已拨付"


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (156_000, "¥1,560.00"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (-156_099, "-¥1,560.99"),
        (14_700_000_001, "¥147,000,000.01"),
    ],
)
def test_yuan(fen: int, text: str) -> None:
    assert labels.yuan(fen) == text


def test_yuan_takes_whole_fen_only() -> None:
    with pytest.raises(TypeError):
        labels.yuan(15.6)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        labels.yuan(True)


def test_chinese_date() -> None:
    assert labels.chinese_date(dt.date(2025, 10, 13)) == "2025年10月13日"
    assert labels.chinese_date(dt.date(2025, 1, 2)) == "2025年1月2日"
    assert labels.chinese_date(dt.datetime(2025, 10, 13, 23, 59)) == "2025年10月13日"


def test_the_jinja_filters() -> None:
    environment = jinja2.Environment(autoescape=True)
    labels.install_filters(environment)
    template = environment.from_string(
        "{{ fen | yuan }} {{ day | chinese_date }} {{ code | flag_label }} {{ status | claim_status }}|{{ none | yuan }}"
    )
    assert (
        template.render(fen=156_000, day=dt.date(2025, 10, 13), code="OVERLAP", status="noticed", none=None)
        == "¥1,560.00 2025年10月13日 重复参训（OVERLAP） 公示中|"
    )
