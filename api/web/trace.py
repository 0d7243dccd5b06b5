"""A line's trace as people read it (the claim page): each rule by its Chinese name, its
inputs as "what: value" in words, its result (通过 / 不符 / 不适用), never JSON.

Pure presentation over the stored trace (registry.subsidy.rules writes it): a key this table
does not know is shown by its own name, and a test (tests/api/web/test_trace.py) keeps every
key the rules write in the table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from api.labels import FLAG_LABELS, chinese_date, yuan

RULE_LABELS = {
    "POLICY": "适用政策",
    "BASE": "补贴标准",
    "UPLIFT": "重点工种上浮",
    "TOTAL": "补贴金额",
    "OUTCOME": "审核结论",
    "NOT_COMPLETED": "结业情况",
    "ATTENDANCE": "出勤学时",
    "HOURS_MINIMUM": "计划学时下限",
    "AGE_RANGE": "年龄",
    "INSTITUTION_NOT_APPROVED": "培训机构认定",
    "ASSESSOR_NOT_APPROVED": "评价机构认定",
    "NO_CERTIFICATE": "证书与班次相符",
    "CERT_NOT_VALID": "证书状态",
    "CERT_WINDOW": "发证时间",
    "CLAIM_WINDOW": "申领期限",
    "SAME_LEVEL_REPEAT": "是否重复享受",
    "LOWER_LEVEL": "是否已享受更高等级",
    "STARTUP_REPEAT": "是否重复创业培训",
    "ANNUAL_CAP": "年度享受次数",
    "ID_INVALID": "身份证号校验",
    "OVERLAP": "同期在其他机构参训",
    "SHARED_PHONE": "手机号共用",
    "PRIORITY_LIST_UNCONFIRMED": "重点工种目录确认",
}
"""Each step of a trace by what it checks (a flag, where it fired, by :data:`FLAG_LABELS`)."""
RESULT_LABELS = {
    "pass": "通过",
    "flag": "不符",
    "not_applicable": "不适用",
    "clean": "无问题",
    "review": "需人工复核",
    "blocked": "不予支付",
}
INPUT_LABELS = {
    "age": "年龄",
    "amount_fen": "标准金额",
    "assessor_approved": "评价机构在认定名单内",
    "assumed": "是否为假定值",
    "attended_hours": "实际出勤学时",
    "base_fen": "基础金额",
    "before_cap_fen": "封顶前金额",
    "birth_date": "出生日期",
    "cap": "每年上限(次)",
    "cap_fen": "封顶金额",
    "certificate": "证书",
    "certificate_kind": "证书类别",
    "certificate_level": "证书等级",
    "claim_date": "申报日期",
    "code": "代码",
    "cohort": "班次要求",
    "cohort_end_date": "班次结束日期",
    "cohort_kind": "班次类别",
    "cohort_start": "班次开始日期",
    "counted_hours": "计入学时",
    "course": "创业课程",
    "direct_recognition": "直接认定",
    "document": "文号",
    "earlier_lines": "本申请中在先的人员行",
    "effective_from": "政策生效日期",
    "effective_to": "政策失效日期",
    "flags": "标记",
    "full_amount_fen": "全额标准",
    "grants_in_year": "当年已享受次数",
    "higher_level_grants": "已享受的更高等级",
    "history": "已享受记录",
    "id_number": "身份证号",
    "institution_approved": "培训机构在认定名单内",
    "institutions": "涉及机构数",
    "issue_date": "发证日期",
    "kind": "类别",
    "latest": "最晚日期",
    "level": "等级",
    "line": "补贴类别",
    "matching": "适用的上浮规则",
    "matching_grants": "相同补贴的记录",
    "max_age": "最大年龄",
    "min_age": "最小年龄",
    "min_hours": "最低学时",
    "min_people": "判定人数",
    "min_percent": "最低出勤比例(%)",
    "months": "月数",
    "months_after_end": "结业后月数",
    "occupation_code": "职业(工种)代码",
    "on": "判定日期",
    "other_cohorts": "同期其他班次",
    "outcome": "结业情况",
    "people_with_this_phone": "使用此手机号的人数",
    "per_hour_fen": "每学时标准",
    "percent": "比例(%)",
    "planned_hours": "计划学时",
    "priority_list": "重点工种目录",
    "priority_list_date": "目录判定日期",
    "priority_trade": "是否重点工种",
    "published": "人社局已发布或确认",
    "renewal": "复审",
    "rounding": "取整方式",
    "since": "起算日期",
    "since_what": "起算依据",
    "source": "依据",
    "special_operation_renewal": "特种作业复审",
    "status": "状态",
    "training_mode": "培训方式",
    "uplift_fen": "上浮金额",
    "uplifts_from_the_list": "来自目录的上浮",
    "year": "年度",
}
VALUE_LABELS = {
    "skill_level": "职业技能等级证书",
    "special_ability": "专项职业能力证书",
    "special_operation": "特种作业操作证",
    "completion": "培训合格证书",
    "startup": "创业培训合格证书",
    "vocational": "职业技能培训",
    "training": "培训补贴",
    "assessment": "评价补贴",
    "general": "普通培训",
    "order_based": "订单式培训",
    "post_based": "定岗式培训",
    "completed": "已结业",
    "withdrawn": "已退出",
    "failed": "未通过",
    "in_progress": "在训",
    "valid": "有效",
    "suspended": "已暂停",
    "revoked": "已撤销",
    "whole yuan, half up": "四舍五入到元",
    "PRIORITY_TRADE": "重点工种上浮",
    "certificate issue date": "发证日期",
    "cohort end date": "班次结束日期",
    "withheld: facts of other institutions, for the bureau": "涉及其他机构的信息，仅人社局可见",
    "checked (GB 11643-1999 check digit and birth date)": "已按GB 11643-1999校验",
}


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Row:
    rule: str
    """The rule's Chinese name."""
    code: str
    result: str
    failed: bool
    facts: list[Fact]


def _money(key: str) -> bool:
    return key.endswith("_fen")


def words(value: Any, key: str = "") -> str:
    """One input's value in words: yes/no, dates, money, lists and records."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if _money(key):
        try:
            return yuan(int(float(value)))
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return chinese_date(dt.date.fromisoformat(value))
            except ValueError:
                pass
        if ":" in value and value.split(":", 1)[0] in FLAG_LABELS:  # "ATTENDANCE:block"
            code, severity = value.split(":", 1)
            return f"{FLAG_LABELS[code]}（{'不予支付' if severity == 'block' else '需复核'}）"
        return VALUE_LABELS.get(value, FLAG_LABELS.get(value, value))
    if isinstance(value, dict):
        return "；".join(f"{INPUT_LABELS.get(k, k)}：{words(v, k)}" for k, v in value.items()) or "—"
    if isinstance(value, (list, tuple)):
        return "、".join(words(v, key) for v in value) or "无"
    return str(value)


def readable(trace: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for step in trace:
        code = str(step.get("rule", ""))
        result = step.get("result")
        if code in ("BASE", "TOTAL", "UPLIFT"):
            shown = words(result, "amount_fen")
        elif code == "POLICY":
            shown = str(result)
        else:
            shown = RESULT_LABELS.get(str(result), words(result))
        rows.append(
            Row(
                rule=RULE_LABELS.get(code, code),
                code=code,
                result=shown,
                failed=result in ("flag", "blocked"),
                facts=[
                    Fact(INPUT_LABELS.get(k, k), words(v, k)) for k, v in (step.get("inputs") or {}).items()
                ],
            )
        )
    return rows


def explanations(trace: list[dict[str, Any]]) -> dict[str, str]:
    """Each flagged rule's facts in words (what a flag chip explains): code -> text. Only the
    steps that flagged are put into words (a claim's page explains every flagged line)."""
    failed = [step for step in trace if step.get("result") == "flag"]
    return {
        row.code: "；".join(f"{fact.label}：{fact.value}" for fact in row.facts) for row in readable(failed)
    }
