"""The workbench in a real headless Chromium (Debian's package, driven by Playwright) against a
live server on the test database, at 1366x768: an auditor's day on a claim (sign in, the
home, the claims list filtered, the claim, every line decided with reasons, the notice
published behind its confirmation, an objection, the notice's end through ``registry notices
close-due``, the payment, the audit timeline); a county auditor sees only its county. No
console error and no failed request on any page, no full ID number outside the reveal.
Screenshots of every page go to ``test-artifacts/`` (kept by CI). Under ``CI=true`` a
missing browser fails the run."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry.accounts.users import UserInput, create_user
from registry.core.principal import system
from registry.enums import ClaimStatus
from registry.models.subsidy import SubsidyClaim, SubsidyLine
from registry.subsidy import claims
from tests.api.support import PASSWORD
from tests.factories import Trainee, claimable_cohort, compute_filed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
REGISTRY = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "registry"
FULL_ID = re.compile(r"\b\d{17}[\dXx]\b")
VIEWPORT = {"width": 1366, "height": 768}

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("subsidy_policies", "working_day_calendar")]


async def auditor(division: str | None = None) -> str:
    username = f"wb-auditor-{uuid.uuid4().hex[:8]}"
    await create_user(
        system("test"),
        UserInput(username=username, password=PASSWORD, role="auditor", division_code=division),
    )
    return username


class Watched:
    """A page whose console errors and failed requests are collected (none is allowed)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status}: {r.url}")
                if r.status >= 400 and not r.url.endswith("/decisions")
                else None
            ),
        )

    async def shot(self, name: str) -> str:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)
        text = await self.page.inner_text("body")
        assert not FULL_ID.search(text) or name == "reveal", f"a full ID number on {name}"
        return str(text)


async def signed_in(browser: Any, server: str, username: str, landing: str = "/workbench") -> Watched:
    context = await browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    watched = Watched(await context.new_page())
    page = watched.page
    await page.goto(f"{server}{landing}")
    assert "/dashboard/sign-in" in page.url
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    async with page.expect_navigation():
        await page.click("#sign-in")
    if page.url != f"{server}{landing}":
        await watched.shot("sign-in-failed")
        raise AssertionError(f"signed in to {page.url}: {await page.inner_text('body')}")
    return watched


async def end_the_notice_today(owner_url: str, claim_id: uuid.UUID, env: dict[str, str]) -> None:
    """The notice's five working days pass (its days moved into the past, as the owner), then
    ``registry notices close-due`` ends it as beat would."""
    from registry.core import db

    conn = await asyncpg.connect(**db.credentials_from_url(owner_url))
    try:
        await conn.execute(
            "UPDATE claim_notice SET runs_from = runs_from - 30, runs_to = current_date - 1, "
            "published_on = published_on - 30 WHERE claim_id = $1 AND status = 'running'",
            claim_id,
        )
    finally:
        await conn.close()
    done = subprocess.run(
        [str(REGISTRY), "notices", "close-due"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_an_auditors_day_on_a_claim(
    browser: Any, server: str, vault: Any, test_env: dict[str, str], servers: Any
) -> None:
    cohort = await claimable_cohort(vault, [Trainee(), Trainee(), Trainee(hours=10)])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await compute_filed(vault, filed.id)
    claim_id = filed.id
    watched = await signed_in(browser, server, await auditor())
    page = watched.page
    text = await watched.shot("home")
    assert "待办的补贴申请" in text and "已计算" in text

    await page.click("a[href='/workbench/claims']")
    await page.select_option("#f-status", "computed")
    await page.select_option("#f-sort", "amount")
    await page.click("#apply-filters")
    await page.wait_for_selector("#claims")
    text = await watched.shot("claims")
    assert "涧西区" in text and cohort.institution.name in text

    await page.goto(f"{server}/workbench/claims/{claim_id}")
    await page.click("summary")  # the first line's trace, in words, loaded when opened (htmx)
    await page.wait_for_selector("details[open] table.trace")
    text = await watched.shot("claim")
    assert "补贴标准" in text and "出勤不足" in text

    await page.click("#approve-clean button")
    await page.wait_for_selector("#message")
    blocked = await SubsidyLine.get(claim_id=claim_id, outcome="blocked")
    await page.select_option(f"select[name='decision:{blocked.id}']", "rejected")
    await page.click("#save-decisions")  # no reason: the error beside the line, the choice kept
    await page.wait_for_selector(f"#error-{blocked.id}")
    text = await watched.shot("claim-reason-missing")
    assert await page.input_value(f"select[name='decision:{blocked.id}']") == "rejected"
    await page.fill(f"input[name='reason:{blocked.id}']", "出勤记录不实")
    await page.click("#save-decisions")
    await page.wait_for_selector("#message")
    assert (await SubsidyClaim.get(id=claim_id)).status is ClaimStatus.DECIDED

    await page.click("#publish")
    await page.wait_for_selector("#notice-preview")
    text = await watched.shot("notice-confirm")
    assert "5 个工作日" in text
    await page.click("#confirm-notice button")
    await page.wait_for_selector("#objection")
    text = await watched.shot("claim-noticed")
    assert "公示已发布" in text and "公示中" in text
    first = await SubsidyLine.filter(claim_id=claim_id, decision="approved").order_by("seq").first()
    assert first is not None
    await page.fill("#objection-seq", str(first.seq))
    await page.fill("#objection-reason", "群众反映此人未实际参训")
    await page.click("#objection button")
    await page.wait_for_selector("#message")

    await end_the_notice_today(servers.owner_url, claim_id, test_env)
    await page.goto(f"{server}/workbench/claims/{claim_id}")
    await page.wait_for_selector("#payment")
    await watched.shot("claim-payable")
    await page.fill("#batch-reference", "LY-2026-12-B1")
    await page.click("#payment button")
    await page.wait_for_selector("#message")
    text = await watched.shot("claim-paid")
    assert "拨付已记录" in text
    await page.click("#line-1 a.person")  # the person behind a line: enrolments, certificates, grants
    await page.wait_for_selector("h1")
    text = await watched.shot("claim-person")
    assert "证书" in text and "补贴" in text
    await page.go_back()
    timeline = await page.inner_text("#timeline")
    for step in (
        "提交申请",
        "计算补贴",
        "审核",
        "发布公示",
        "记录公示异议",
        "公示结束，核拨补贴",
        "记录拨付",
    ):
        assert step in timeline, step
    assert watched.problems == [], watched.problems


async def test_a_county_auditor_sees_only_its_county(browser: Any, server: str, vault: Any) -> None:
    cohort = await claimable_cohort(vault, [Trainee()])
    filed = await claims.file_claim(cohort.owner, cohort.cohort_id, claims.SubsidyKind.TRAINING)
    await compute_filed(vault, filed.id)
    watched = await signed_in(browser, server, await auditor("410302"))
    page = watched.page
    await page.goto(f"{server}/workbench/claims")
    assert str(filed.id) not in await page.content()
    answer = await page.goto(f"{server}/workbench/claims/{filed.id}")
    assert answer is not None and answer.status == 404
    assert "页面不存在" in await page.inner_text("body")
