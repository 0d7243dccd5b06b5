"""The workbench's notices (公示, issue 16) over HTTP: running and ended notices of the claims
in the caller's scope, newest first, each with its claim, days, lines, amount, public page
and spreadsheet; one notice with its lines masked; a county auditor sees only its county's,
an institution's session gets 404; no full ID number on any page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from api.dashboard import session
from registry.core.crypto import Vault
from registry.core.principal import system
from registry.notices import service as notices
from tests.api.support import Make
from tests.api.workbench.test_pages import FULL_ID, browser
from tests.factories import Trainee, new_id_number, noticed_claim

pytestmark = pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")


async def two_notices(vault: Vault) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, Any]:
    """An ended notice (published first) and a running one (published later), both in
    410305: (ended id, running id, running claim id, a person's ID number on it, its cohort)."""
    _, ended, _ = await noticed_claim(vault, [Trainee()], published_on=dt.date(2026, 11, 2))
    await notices.close_notice(system("test"), ended, dt.date(2026, 11, 10))
    number = new_id_number(working_age=True)
    claim_id, running, cohort = await noticed_claim(
        vault, [Trainee(id_number=number), Trainee()], published_on=dt.date(2026, 11, 30)
    )
    return ended, running, claim_id, number, cohort


async def test_an_institutions_session_gets_404_on_the_notices(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault, app: Any
) -> None:
    _, running, _, _, cohort = await two_notices(vault)
    actor = await password_sign_in("institution", institution=cohort.institution)
    started = await session.start(app.state.redis, actor.principal)
    client.cookies.clear()
    client.cookies.set("registry_session", started.session_id)
    for path in ("/workbench/notices", "/workbench/notices?status=running", f"/workbench/notices/{running}"):
        answer = await client.get(path)
        assert answer.status_code == 404 and "页面不存在" in answer.text, path


async def test_the_notices_running_and_ended_newest_first_with_their_links(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    ended, running, claim_id, number, cohort = await two_notices(vault)
    await browser(client, password_sign_in)
    listed = await client.get("/workbench/notices")
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    text = listed.text
    assert f'id="notice-{running}"' in text and f'id="notice-{ended}"' in text
    assert text.index(f'id="notice-{running}"') < text.index(f'id="notice-{ended}"')  # newest first
    row = text.split(f'id="notice-{running}"', 1)[1].split("</tr>", 1)[0]
    assert f'href="/notices/{running}"' in row and f'href="/notices/{running}/notice.xlsx"' in row
    assert f'href="/workbench/claims/{claim_id}"' in row and f'href="/workbench/notices/{running}"' in row
    assert "2026年12月1日" in row and "公示中" in row and cohort.institution.name in row
    assert "涧西区" in row and "¥" in row and "5 个工作日" in row
    closed = text.split(f'id="notice-{ended}"', 1)[1].split("</tr>", 1)[0]
    assert "已结束" in closed and "核拨 1 人" in closed
    assert not FULL_ID.search(text) and "style=" not in text

    only_running = await client.get("/workbench/notices", params={"status": "running"})
    assert str(running) in only_running.text and str(ended) not in only_running.text
    only_ended = await client.get("/workbench/notices", params={"status": "closed"})
    assert str(ended) in only_ended.text and str(running) not in only_ended.text
    bad = await client.get("/workbench/notices", params={"status": "open", "offset": "x"})
    assert bad.status_code == 200 and "不是可选的状态" in bad.text

    one = await client.get(f"/workbench/notices/{running}")
    assert one.status_code == 200 and one.headers["cache-control"] == "no-store"
    lines = one.text.split('id="notice-lines"', 1)[1].split("</table>", 1)[0]
    assert lines.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>") == 2  # two people
    assert "合计 2 人" in lines
    assert f"{number[:6]}********{number[-4:]}" in lines and number not in one.text
    assert "张*" in lines and "无人机驾驶员" in lines and "五级/初级工" in lines
    assert f'href="/notices/{running}"' in one.text and f'href="/notices/{running}/notice.xlsx"' in one.text
    assert "2026年12月1日" in one.text and not FULL_ID.search(one.text)
    public = await client.get(f"/notices/{running}")
    assert public.status_code == 200
    assert (await client.get(f"/workbench/notices/{uuid.uuid4()}")).status_code == 404


async def test_a_county_auditor_sees_only_its_countys_notices(
    client: httpx.AsyncClient, password_sign_in: Make, vault: Vault
) -> None:
    ended, running, _, _, _ = await two_notices(vault)  # claims held in 410305
    await browser(client, password_sign_in, division="410302")
    listed = await client.get("/workbench/notices")
    assert listed.status_code == 200 and str(running) not in listed.text and str(ended) not in listed.text
    assert (await client.get(f"/workbench/notices/{running}")).status_code == 404
    await browser(client, password_sign_in, division="410305")
    listed = await client.get("/workbench/notices")
    assert str(running) in listed.text and str(ended) in listed.text
    assert (await client.get(f"/workbench/notices/{ended}")).status_code == 200
