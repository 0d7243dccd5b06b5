"""The app's Jinja2 templates (``api/templates``, autoescaped) and the filters every page uses
to show what people read (DESIGN.md section 13): money as ``¥1,560.00``, dates as
``2025年10月13日``, flags and statuses by their Chinese names with the code beside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from api.labels import ACTION_LABELS, CLAIM_STATUS_LABELS, FILTERS, chinese_date
from registry.certificates.rules import level_label

TEMPLATE_DIRECTORY = Path(__file__).resolve().parent.parent / "templates"


def status_label(status: Any) -> str:
    value = getattr(status, "value", status)
    return CLAIM_STATUS_LABELS.get(str(value), str(value))


def people_words(message: str) -> str:
    """The part of a flag's message that people wrote (an objection's or a revocation's
    reason, after the last ``: ``), when it is Chinese; else nothing (the rules' own words are
    shown from the trace, in Chinese)."""
    tail = message.rsplit(": ", 1)[-1].strip(" ()（）")
    return tail if any("\u4e00" <= c <= "\u9fff" for c in tail) else ""


def chinese_datetime(moment: dt.datetime | None) -> str:
    """2025年10月13日 14:05 in Asia/Shanghai."""
    if moment is None:
        return ""
    from registry.core.clock import BUSINESS_TZ

    local = moment.astimezone(BUSINESS_TZ)
    return f"{chinese_date(local)} {local:%H:%M}"


def _register(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)
    engine.engine.filters.update(
        cn_date=FILTERS["chinese_date"],
        cn_datetime=chinese_datetime,
        status_label=status_label,
        action_label=lambda action: ACTION_LABELS.get(action, action),
        level_label=level_label,
        people_words=people_words,
    )


TEMPLATE_CONFIG = TemplateConfig(
    directory=TEMPLATE_DIRECTORY, engine=JinjaTemplateEngine, engine_callback=_register
)
"""``create_app`` passes it on."""
