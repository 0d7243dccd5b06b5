"""Chinese labels the pages share (provisional: replaced by the dashboard branch's fuller table)."""

from __future__ import annotations

import datetime as dt

from registry.enums import CLAIM_STATUS_NAMES

FLAG_LABELS = {
    "ID_INVALID": "身份证号无效",
    "AGE_RANGE": "年龄不符",
    "ATTENDANCE": "出勤不足",
    "NO_CERTIFICATE": "无对应证书",
    "CERT_WINDOW": "证书时间不符",
    "CERT_NOT_VALID": "证书已暂停或撤销",
    "SAME_LEVEL_REPEAT": "重复享受",
    "LOWER_LEVEL": "已享受更高等级",
    "ANNUAL_CAP": "超过年度次数",
    "STARTUP_REPEAT": "重复创业培训",
    "INSTITUTION_NOT_APPROVED": "机构未获认定",
    "ASSESSOR_NOT_APPROVED": "评价机构未获认定",
    "PRIORITY_LIST_UNCONFIRMED": "重点工种目录未经确认",
    "OVERLAP": "重复参训",
    "SHARED_PHONE": "共用手机号",
    "CLAIM_WINDOW": "超过申领期限",
    "HOURS_MINIMUM": "计划学时不足",
    "NOT_COMPLETED": "未结业",
    "OBJECTION": "公示异议",
    "CLAWED_BACK": "已追回",
}
CLAIM_STATUS_LABELS = {status.value: name for status, name in CLAIM_STATUS_NAMES.items()}


def yuan(fen: int) -> str:
    """Fen as people read money: ¥1,560.00."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def chinese_date(day: dt.date | dt.datetime | None) -> str:
    """2025年10月13日."""
    if day is None:
        return ""
    return f"{day.year}年{day.month}月{day.day}日"


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
