"""Spreadsheets of claims and notices (XLSX, Chinese headers): plain rows in, bytes out.

- :func:`claim_workbook`: ``GET /claims/{id}/export.xlsx`` for auditors, one row per line:
  序号, 姓名, 身份证号 (masked), 职业/课程, 等级, 证书编号, 基础补贴(元), 上浮(元), 合计(元),
  标记, 审核结果, 理由.
- :func:`notice_workbook`: the public notice's XLSX (masked names and ID numbers).

Amounts are fen in the registry; the sheets show yuan with two decimals (numbers, not text).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from registry.core.spreadsheet import text_cell

CLAIM_HEADERS = (
    "序号",
    "姓名",
    "身份证号",
    "职业/课程",
    "等级",
    "证书编号",
    "基础补贴(元)",
    "上浮(元)",
    "合计(元)",
    "标记",
    "审核结果",
    "理由",
)
NOTICE_HEADERS = ("序号", "姓名", "身份证号", "职业/课程", "等级", "证书编号", "补贴金额(元)")
DECISIONS = {"approved": "通过", "rejected": "不通过", None: "待审核"}
YUAN = "#,##0.00"


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _workbook(
    title: str, heading: Sequence[str], headers: Sequence[str], rows: Iterable[Sequence[Any]], money: set[int]
) -> bytes:
    """Every cell written by :func:`registry.core.spreadsheet.text_cell`: the names, reasons,
    references and headings people wrote are text, never formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title)
    for line in heading:
        sheet.append([text_cell(sheet, line)])
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        cell = text_cell(sheet, text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells: list[Any] = []
        for index, value in enumerate(row):
            if index in money and value is not None:
                cell = text_cell(sheet, yuan(int(value)))
                cell.number_format = YUAN
                cells.append(cell)
            else:
                cells.append(text_cell(sheet, value))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def flag_text(flags: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{flag['code']}({flag['severity']})" for flag in flags)


def claim_workbook(heading: Sequence[str], lines: Iterable[dict[str, Any]]) -> bytes:
    """``lines``: seq, name, id_masked, subject, level, certificate_number, base_fen,
    uplift_fen, total_fen, flags, decision, reason."""
    rows = (
        (
            line["seq"],
            line["name"],
            line["id_masked"],
            line["subject"],
            line["level"],
            line["certificate_number"],
            line["base_fen"],
            line["uplift_fen"],
            line["total_fen"],
            flag_text(line["flags"]),
            DECISIONS.get(line["decision"], str(line["decision"])),
            line["reason"],
        )
        for line in lines
    )
    return _workbook("补贴申请明细", heading, CLAIM_HEADERS, rows, money={6, 7, 8})


def notice_workbook(heading: Sequence[str], lines: Iterable[Any]) -> bytes:
    """``lines``: :class:`registry.notices.service.PublicLine` (already masked)."""
    rows = (
        (
            line.seq,
            line.name,
            line.id_number,
            line.subject,
            line.level,
            line.certificate_number,
            line.total_fen,
        )
        for line in lines
    )
    return _workbook("公示名单", heading, NOTICE_HEADERS, rows, money={6})


LIST_HEADERS = (
    "培训机构",
    "班次编号",
    "班次名称",
    "县区",
    "类别",
    "状态",
    "人数",
    "申报金额(元)",
    "已核拨(元)",
    "已追回(元)",
    "已拨付(元)",
    "申报时间",
)


def claims_workbook(heading: Sequence[str], claims: Iterable[Sequence[Any]]) -> bytes:
    """A list of claims, one row each in :data:`LIST_HEADERS` order (amounts in fen)."""
    return _workbook("补贴申请列表", heading, LIST_HEADERS, claims, money={7, 8, 9, 10})
