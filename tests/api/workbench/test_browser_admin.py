"""The administration in a real headless Chromium (Debian's package, driven by Playwright)
against a live server on the test database, at 1366x768: an administrator's day (the
overview, an institution registered and suspended with a reason, a user created with its
temporary password shown once, the API keys, a targets file with bad rows reported by row
and column), then the new user signs in with the temporary password and changes it. No
console error and no failed request on any page. Screenshots go to ``test-artifacts/``
(``workbench-admin-*.png``). Under ``CI=true`` a missing browser fails the run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from registry.accounts.users import UserInput, create_user
from registry.core.principal import system
from tests.api.support import PASSWORD
from tests.api.workbench.test_browser import ARTIFACTS, FULL_ID, VIEWPORT, Watched
from tests.factories import csv_bytes, make_uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("divisions")]


class Shots(Watched):
    """Watched, where a unified social credit code (18 characters, public) may be shown: no
    full ID number in the rest of the page."""

    async def shot(self, name: str) -> str:
        ARTIFACTS.mkdir(exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)
        text = str(await self.page.inner_text("body"))
        codes = await self.page.locator("td.mono").all_inner_texts()
        rest = text
        for code in codes:
            rest = rest.replace(code, "")
        assert not FULL_ID.search(rest), f"a full ID number on {name}"
        return text


async def signed_in(browser: Any, server: str, username: str, password: str, landing: str) -> Shots:
    context = await browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    watched = Shots(await context.new_page())
    await watched.page.goto(f"{server}{landing}")
    assert "/dashboard/sign-in" in watched.page.url
    await watched.page.fill("#username", username)
    await watched.page.fill("#password", password)
    async with watched.page.expect_navigation():
        await watched.page.click("#sign-in")
    assert watched.page.url == f"{server}{landing}", await watched.page.inner_text("body")
    return watched


async def administrator() -> str:
    username = f"wb-admin-{uuid.uuid4().hex[:8]}"
    await create_user(system("test"), UserInput(username=username, password=PASSWORD, role="admin"))
    return username


async def test_an_administrators_day(browser: Any, server: str, tmp_path: Any) -> None:
    watched = await signed_in(browser, server, await administrator(), PASSWORD, "/workbench/admin")
    page = watched.page
    text = await watched.shot("admin-home")
    assert "培训机构与评价机构" in text and "导入局方文件" in text

    # An institution registered, then suspended with a reason.
    await page.click("nav.submenu a[href='/workbench/admin/institutions']")
    name = f"洛阳浏览器测试培训学校{uuid.uuid4().hex[:4]}"
    await page.fill("#i-name", name)
    await page.fill("#i-uscc", "123")
    await page.select_option("#i-division", "410305")
    await page.check("#i-kind-training")
    async with page.expect_navigation():
        await page.click("#create-institution")
    assert "统一社会信用代码为 18 位" in await page.inner_text("#institution-form")
    assert await page.input_value("#i-name") == name
    await page.fill("#i-uscc", make_uscc())
    await page.fill("#i-years", "2025, 2026")
    async with page.expect_navigation():
        await page.click("#create-institution")
    assert "机构已登记" in await page.inner_text("#done")
    row = page.locator("tr", has_text=name)
    await row.locator("summary").click()
    await row.locator("input[name=reason]").fill("年度检查发现虚报学员")
    async with page.expect_navigation():
        await row.locator("button", has_text="暂停").click()
    text = await watched.shot("admin-institutions")
    assert "机构已暂停" in text and "已暂停" in text

    # A user with a temporary password, shown once.
    await page.click("nav.submenu a[href='/workbench/admin/users']")
    username = f"wb-new-{uuid.uuid4().hex[:6]}"
    await page.fill("#u-username", username)
    await page.fill("#u-name", "李审核")
    await page.select_option("#u-role", "auditor")
    await page.select_option("#u-division", "410305")
    async with page.expect_navigation():
        await page.click("#create-user")
    temporary = (await page.inner_text("#temporary-password")).strip()
    text = await watched.shot("admin-users")
    assert "只在这里显示一次" in text and "涧西区" in text

    await page.click("nav.submenu a[href='/workbench/admin/api-keys']")
    await watched.shot("admin-api-keys")

    # A targets file with bad rows: every problem by row and column, nothing loaded.
    await page.click("nav.submenu a[href='/workbench/admin/files']")
    bad = tmp_path / "targets.csv"
    bad.write_bytes(
        csv_bytes(
            [
                ["年度", "县区", "指标", "目标"],
                [2098, "涧西区", "trainees_trained", 100],
                [2098, "不存在区", "trainees_trained", 100],
                [2098, "410302", "no_such_metric", 5],
            ]
        )
    )
    await page.set_input_files("#t-file", str(bad))
    async with page.expect_navigation():
        await page.click("#load-targets")
    text = await watched.shot("admin-files")
    assert "未导入任何内容" in text
    problems = await page.inner_text("#file-problems")
    assert "县区" in problems and "指标" in problems
    assert watched.problems == [], watched.problems

    # The new user signs in with the temporary password and changes it.
    theirs = await signed_in(browser, server, username, temporary, "/workbench/password")
    text = await theirs.shot("admin-password")
    assert "临时密码" in text
    await theirs.page.fill("#current-password", temporary)
    await theirs.page.fill("#new-password", "my-own-password-9")
    await theirs.page.fill("#repeat-password", "my-own-password-9")
    async with theirs.page.expect_navigation():
        await theirs.page.click("#change")
    text = await theirs.shot("admin-password-changed")
    assert "密码已修改" in text and "临时密码" not in text
    assert theirs.problems == [], theirs.problems
