"""``registry notices close-due --date``, as an operator runs it: a date after today
(Asia/Shanghai) is refused, naming today, and nothing changes (a due notice stays running);
today or an earlier date is judged by as before. The notice here ran in March 2025, a span
no other test's notice ends in."""

from __future__ import annotations

import datetime as dt

import pytest

from cli.commands.notices import date_refusal
from registry.core.clock import business_today
from registry.core.crypto import vault_from_settings
from registry.core.settings import Settings
from registry.enums import ClaimStatus
from registry.models.ledger import SubsidyGrant
from registry.models.notice import ClaimNotice
from registry.models.subsidy import SubsidyClaim
from tests.cli.commands import registry
from tests.factories import Trainee, noticed_claim

PUBLISHED = dt.date(2025, 3, 3)  # a Monday: the notice runs 03-04 .. 03-10


def test_today_and_earlier_are_accepted_a_later_day_is_refused() -> None:
    today = dt.date(2026, 12, 8)
    assert date_refusal(None, today) is None
    assert date_refusal(today, today) is None
    assert date_refusal(dt.date(2026, 12, 7), today) is None
    refusal = date_refusal(dt.date(2026, 12, 9), today)
    assert refusal is not None
    assert "2026-12-09 is after today (2026-12-08, Asia/Shanghai)" in refusal
    assert date_refusal(dt.date(2062, 12, 8), today) is not None  # a typo of the year


@pytest.mark.usefixtures("working_day_calendar")
async def test_close_due_refuses_a_date_after_today_and_changes_nothing(
    test_env: dict[str, str], settings: Settings
) -> None:
    claim_id, notice_id, _ = await noticed_claim(
        vault_from_settings(settings), [Trainee(), Trainee()], published_on=PUBLISHED
    )
    notice = await ClaimNotice.get(id=notice_id)
    after_end = notice.runs_to + dt.timedelta(days=1)
    assert after_end < business_today()

    for later in (business_today() + dt.timedelta(days=1), dt.date(2062, 3, 11)):
        refused = registry(test_env, "notices", "close-due", "--date", later.isoformat())
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"--date {later.isoformat()} is after today ({business_today().isoformat()}" in refused.stderr
        assert "notices closed" not in refused.stdout
        # The notice, due by that date, is still running: nothing was granted.
        assert (await ClaimNotice.get(id=notice_id)).status == "running"
        assert (await SubsidyClaim.get(id=claim_id)).status == ClaimStatus.NOTICED
        assert await SubsidyGrant.filter(claim_id=claim_id).count() == 0

    # An earlier date than today is judged by as before: the notice ended then.
    closed = registry(test_env, "notices", "close-due", "--date", after_end.isoformat())
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert f"notice {notice_id} (claim {claim_id}): 2 lines granted" in closed.stdout
    assert (await ClaimNotice.get(id=notice_id)).status == "closed"
    assert await SubsidyGrant.filter(claim_id=claim_id).count() == 2
