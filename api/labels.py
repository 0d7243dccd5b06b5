"""The words people read on every page (the dashboard now, the workbench and the portal next):
the Chinese labels of the flag codes and of the claim statuses, and money and dates as people
write them (DESIGN.md section 13): ``¥1,560.00``, ``2025年10月13日``.

Plain functions over plain values. The codes stay what the API and the database say; a page
shows a flag as its label with the code beside (:func:`flag_label`: ``出勤不足（ATTENDANCE）``),
so that an auditor can match it with the API, the spreadsheets and docs/subsidy-policy.md.
Divisions are named from the database (the ``division`` table), never here.

For server-rendered pages, :func:`install_filters` adds ``yuan``, ``chinese_date``,
``flag_label``, ``flag_name`` and ``claim_status`` to a Jinja2 environment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from registry.enums import CLAIM_STATUS_NAMES

FLAG_LABELS: dict[str, str] = {
    # The subsidy rules (registry.subsidy.rules, registry.subsidy.policy.KNOWN_RULES).
    "ID_INVALID": "身份证号无效",
    "AGE_RANGE": "年龄不符",
    "ATTENDANCE": "出勤不足",
    "NO_CERTIFICATE": "无对应证书",
    "CERT_WINDOW": "取证超期",
    "CERT_NOT_VALID": "证书已暂停或撤销",
    "SAME_LEVEL_REPEAT": "同级重复补贴",
    "LOWER_LEVEL": "低于已补贴等级",
    "ANNUAL_CAP": "超过年度补贴次数",
    "STARTUP_REPEAT": "重复创业培训补贴",
    "INSTITUTION_NOT_APPROVED": "培训机构未获认定",
    "ASSESSOR_NOT_APPROVED": "评价机构未获认定",
    "PRIORITY_LIST_UNCONFIRMED": "重点工种目录未确认",
    "OVERLAP": "重复参训",
    "SHARED_PHONE": "共用手机号",
    "CLAIM_WINDOW": "超过申领期限",
    "HOURS_MINIMUM": "学时不足",
    "NOT_COMPLETED": "未结业",
    # The notices (registry.notices.service).
    "OBJECTION": "公示异议",
    "CLAWED_BACK": "已追回",
    # The evidence and cross-checks to come (DESIGN.md section 14).
    "ATTENDANCE_UNEVIDENCED": "出勤无佐证",
    "SHARED_DEVICE": "共用签到设备",
    "CHECKIN_BURST": "集中签到异常",
    "DECEASED": "已故人员",
    "PENSIONER": "领取养老金人员",
    "STATE_STAFF": "机关事业单位在编人员",
    "FULL_TIME_STUDENT": "全日制在校生",
    "EMPLOYED_DURING": "培训期间在职",
    "CERT_BATCH_ANOMALY": "证书批次异常",
}
"""Every flag code a line can carry, and its label in Chinese."""

UNKNOWN_FLAG = "其他标记"
"""The label of a code this table does not know yet (the code is shown beside it)."""

CLAIM_STATUS_LABELS: dict[str, str] = {status.value: name for status, name in CLAIM_STATUS_NAMES.items()}
"""Every claim status (:class:`registry.enums.ClaimStatus`) in Chinese."""


def flag_name(code: str) -> str:
    """The Chinese label alone (``出勤不足``); :data:`UNKNOWN_FLAG` for a code not in the table."""
    return FLAG_LABELS.get(code, UNKNOWN_FLAG)


def flag_label(code: str) -> str:
    """The label with the code beside it, as pages show a flag: ``出勤不足（ATTENDANCE）``."""
    return f"{flag_name(code)}（{code}）"


def claim_status(status: str) -> str:
    """A claim status in Chinese (the status itself if unknown)."""
    return CLAIM_STATUS_LABELS.get(str(status), str(status))


def yuan(fen: int) -> str:
    """An amount in fen as people read it: ``156000`` -> ``¥1,560.00``, ``-5`` -> ``-¥0.05``.
    Exact (integer arithmetic, no float)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"an amount is a whole number of fen, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def chinese_date(day: dt.date) -> str:
    """A date as people write it: ``2025年10月13日`` (a datetime: its date)."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def _or_blank(function: Callable[[Any], str]) -> Callable[[Any], str]:
    def filtered(value: Any) -> str:
        return "" if value is None else function(value)

    filtered.__name__ = function.__name__
    return filtered


FILTERS: dict[str, Callable[[Any], str]] = {
    "yuan": _or_blank(yuan),
    "chinese_date": _or_blank(chinese_date),
    "flag_label": _or_blank(flag_label),
    "flag_name": _or_blank(flag_name),
    "claim_status": _or_blank(claim_status),
}
"""The Jinja2 filters (None renders as nothing)."""


def install_filters(environment: Any) -> None:
    """Add :data:`FILTERS` to a Jinja2 environment (``TemplateConfig(engine_callback=...)``
    gives it as ``engine.engine``)."""
    environment.filters.update(FILTERS)


ACTION_LABELS = {
    "subsidy_claim.file": "提交申请",
    "subsidy_claim.compute": "计算补贴",
    "subsidy_claim.fail": "计算失败",
    "subsidy_claim.withdraw": "撤回申请",
    "subsidy_claim.decide": "审核",
    "subsidy_claim.notice": "发布公示",
    "subsidy_claim.objection": "记录公示异议",
    "subsidy_claim.grant": "公示结束，核拨补贴",
    "subsidy_claim.paid": "记录拨付",
    "subsidy_claim.certificate_changed": "证书状态变化",
    "subsidy_claim.clawback": "追回补贴",
    "trainee.reveal_id_number": "查看完整身份证号",
    "trainee.view": "查看人员档案",
    "ledger.reverse": "冲销核拨",
}
"""The audit trail's actions as people read them (the code beside for the rest)."""
