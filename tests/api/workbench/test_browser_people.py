"""The workbench's people and notices pages in a real headless Chromium (Debian's package,
driven by Playwright) against a live server on the test database, at 1366x768: an auditor
looks a person up by ID number (posted: the number never in the address), reads the record,
reveals the full number with a reason, finds the person by name, then reads the notices and
one notice. No console error and no failed request, no full ID number outside the reveal,
nothing wider than the window. Screenshots go to ``test-artifacts/`` (workbench-person.png,
workbench-person-flags.png, workbench-person-reveal.png, workbench-people.png,
workbench-notices.png, workbench-notice.png). Under ``CI=true`` a
missing browser fails the run."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from registry.core.principal import system
from registry.models.subsidy import SubsidyLine
from registry.models.training import Trainee as TraineeRow
from registry.notices import service as notices
from tests.api.workbench.test_browser import VIEWPORT, auditor, signed_in
from tests.api.workbench.test_people import unique_name
from tests.factories import Trainee, new_id_number, noticed_claim

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
FULL_ID = re.compile(r"\b\d{17}[\dXx]\b")

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")]


async def shot(page: Any, name: str, *, full_number_allowed: bool = False) -> str:
    """The page's screenshot as ``workbench-<name>.png``; its text (no full ID number unless
    this is the reveal) and nothing wider than the window."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)
    text = str(await page.inner_text("body"))
    assert full_number_allowed or not FULL_ID.search(text), f"a full ID number on {name}"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{name} is {width} pixels wide"
    return text


async def test_an_auditor_reads_a_person_and_the_notices(browser: Any, server: str, vault: Any) -> None:
    number = new_id_number(working_age=True)
    claim_id, ended, cohort = await noticed_claim(
        vault, [Trainee(id_number=number), Trainee(hours=10)], published_on=dt.date(2026, 11, 2)
    )
    await notices.close_notice(system("test"), ended, dt.date(2026, 11, 10))
    _, running, _ = await noticed_claim(vault, [Trainee(), Trainee()], published_on=dt.date(2026, 11, 30))
    # The factory decides with an English reason; an auditor types Chinese (it is shown as typed).
    await SubsidyLine.filter(claim_id=claim_id, decision="rejected").update(reason="出勤记录不实")
    trainee_id = cohort.trainee_ids[0]
    name = unique_name()
    await TraineeRow.filter(id=trainee_id).update(name=name)

    watched = await signed_in(browser, server, await auditor(), landing="/workbench/people")
    page = watched.page
    addresses: list[str] = []
    page.on("request", lambda r: addresses.append(r.url))
    await page.fill("#lookup-id", number)
    async with page.expect_navigation():
        await page.click("#lookup button")
    assert page.url == f"{server}/workbench/people/{trainee_id}"
    text = await shot(page, "person")
    assert name in text and "参训记录" in text and "1 / 3 次" in text and "已核拨（待拨付）" in text
    assert "职业技能等级证书" in text and "无人机驾驶员" in text

    other = cohort.trainee_ids[1]  # attended 10 of 80 hours: its line rejected, flagged
    await page.goto(f"{server}/workbench/people/{other}")
    text = await shot(page, "person-flags")
    assert "出勤不足" in text and "不予支付" in text
    await page.goto(f"{server}/workbench/people/{trainee_id}")

    await page.fill("#reveal-reason", "电话核实本人身份")
    async with page.expect_navigation():
        await page.click("#reveal button")
    await page.wait_for_selector("#revealed")
    assert await page.inner_text("#revealed") == number
    await shot(page, "person-reveal", full_number_allowed=True)

    await page.click("a[href='/workbench/people']")
    await page.fill("#search-name", name)
    async with page.expect_navigation():
        await page.click("#by-name button")
    text = await shot(page, "people")
    assert name in text and "共 1 条" in text

    await page.click("nav a[href='/workbench/notices']")
    await page.wait_for_selector("#notices")
    text = await shot(page, "notices")
    assert "公示中" in text and "已结束" in text and cohort.institution.name in text
    await page.click(f"#notice-{running} a[href='/workbench/notices/{running}']")
    await page.wait_for_selector("#notice-lines")
    text = await shot(page, "notice")
    assert "5 个工作日" in text and "合计 2 人" in text

    await page.goto(f"{server}/workbench/notices/{ended}")
    await page.wait_for_selector("#notice-facts")
    assert "已结束" in await page.inner_text("#notice-facts")
    assert all(number not in address for address in addresses), "an ID number in an address"
    assert str(claim_id) in await page.content()
    assert watched.problems == [], watched.problems
