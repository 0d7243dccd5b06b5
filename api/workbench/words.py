"""What the administration's pages say in Chinese: roles, an institution's kinds and standing,
and the services' refusals by their codes (the services speak English to the API; people
read these). A code this table does not know reads 内容不符合要求 with the code beside."""

from __future__ import annotations

from dataclasses import dataclass

from registry.core.errors import RegistryError

ROLE_LABELS = {
    "admin": "人社局管理员",
    "auditor": "审核员",
    "institution": "培训机构用户",
    "assessor": "评价机构用户",
}
KIND_LABELS = {"training": "培训机构", "assessment": "评价机构"}
STATUS_LABELS = {"active": "正常", "suspended": "已暂停", "blacklisted": "已列入黑名单"}
FILE_LABELS = {
    "priority_list": "重点工种目录",
    "targets": "目标任务分解",
    "calendar": "工作日历",
    "policy": "补贴政策",
}
CALENDAR_ORIGINS = {"package": "内置日历", "bureau": "局方导入", "file": "局方导入"}

ERROR_WORDS = {
    # accounts
    "required": "必填",
    "invalid_format": "用户名为 3-64 位小写字母、数字或 . _ -",
    "too_short": "至少 10 个字符",
    "unchanged": "新密码不能与当前密码相同",
    "wrong_password": "当前密码不正确",
    "mismatch": "两次输入的新密码不一致",
    "duplicate": "已存在，不能重复",
    "unknown_institution": "没有这个机构",
    "wrong_kind": "该角色需要选择对应类别的机构（培训机构或评价机构）",
    "not_allowed": "该角色不需要填写这一项",
    "unknown_division": "不是洛阳市的县区",
    "own_account": "不能停用自己的账号，请由其他管理员操作",
    "invalid_transition": "机构当前状态不能执行此操作",
    "uscc_length": "统一社会信用代码为 18 位",
    "uscc_format": "统一社会信用代码含有不允许的字符",
    "uscc_checksum": "统一社会信用代码校验位不正确",
    "uscc_invalid": "不是有效的统一社会信用代码",
    "invalid_choice": "不是可选的值",
    "out_of_range": "超出允许的范围",
    "too_long": "内容过长",
    "not_a_year": "请填写年份（如 2025）",
    "not_a_date": "请填写日期",
    # files
    "empty_file": "文件为空或未选择文件",
    "too_large": "文件不能超过 10 MB",
    "not_utf8": "文件不是 UTF-8 编码的文本",
    "missing_columns": "缺少表头：县区、指标、目标（及年度）",
    "missing_code_column": "缺少工种代码列",
    "missing_code": "缺少工种代码",
    "malformed_code": "工种代码格式不正确",
    "unknown_code": "工种代码不在职业分类大典中",
    "duplicate_code": "工种代码重复",
    "code_taken": "目录编号已被其他目录使用",
    "reserved_code": "这个编号留给内置目录使用",
    "reserved": "这个编号留给内置目录使用",
    "empty_list": "目录中没有工种",
    "cell_too_long": "单元格内容过长",
    "too_many_rows": "行数过多",
    "unknown_metric": "不是可选的指标",
    "unknown_breakdown": "不是可选的分解方式",
    "not_a_dimension": "不是可选的分解维度",
    "year_out_of_range": "年度超出范围",
    "invalid": "内容不符合要求",
    "invalid_value": "取值不符合要求",
    "missing": "缺少这一项",
    "missing_source": "缺少来源（文件依据）",
    "invalid_yaml": "文件不是有效的 YAML",
    "unknown_rule": "不是已知的规则",
    "unknown_policy": "没有这个政策",
    "policy_immutable": "同一编号的政策已发布且内容不同；已发布的政策不能修改",
    "overlapping_policy": "执行期与已发布的政策重叠",
    "before_start": "结束日期早于开始日期",
    "reused": "编号已被使用",
    "unknown_kind": "日期类别不是节假日或调休工作日",
    "duplicate_date": "日期重复",
    "outside_year": "日期不在该年度内",
    "not_weekend": "调休工作日应为周六或周日",
    "invalid_date": "日期格式不正确",
    "unknown_column": "未知的列",
    "unknown_key": "未知的字段",
    "unknown_field": "未知的字段",
    "negative": "金额不能为负数",
    "not_integer": "请填写整数",
}


def words(code: str) -> str:
    return ERROR_WORDS.get(code, "内容不符合要求")


def field_errors(exc: RegistryError, rename: dict[str, str] | None = None) -> dict[str, str]:
    """Each field's refusal in Chinese (the first for a field), under the page's field name."""
    out: dict[str, str] = {}
    for error in exc.errors:
        name = (rename or {}).get(error.field, error.field)
        out.setdefault(name, words(error.code))
    return out


@dataclass(frozen=True)
class FileProblem:
    """One problem of a file: its row and column (or key) when known, in Chinese, the code beside."""

    row: int | None
    column: str | None
    field: str
    text: str
    code: str


def file_problems(exc: RegistryError) -> list[FileProblem]:
    return [
        FileProblem(
            row=error.row,
            column=error.column,
            field=error.field,
            text=words(error.code),
            code=error.code,
        )
        for error in exc.errors
    ]


def refusal(exc: RegistryError) -> str:
    """What the page says above its fields for a refused action."""
    return words(exc.errors[0].code) if exc.errors else words(exc.code)
