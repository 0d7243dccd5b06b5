"""Business time: timestamps are UTC, business dates are calendar dates in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def business_today() -> dt.date:
    """Today's date in Asia/Shanghai: cohort, certificate and report dates are dates there."""
    return dt.datetime.now(BUSINESS_TZ).date()
