"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright), against
a live server on the test database: sign in, every chart drawn on a non-empty canvas, the
numbers the API gives, a county auditor's county only, an institution refused, sign-out ends
the session; on a tiny demo year (its planted overlaps, shared phones and attendance
shortfalls) at 1366x768: no console error and no failed request, every word in Chinese (a flag
code only beside its label, a division by its name), every legend clear of its chart's grid
and axis labels, the links into the workbench. Screenshots go to ``test-artifacts/`` (kept by
CI). Under ``CI=true`` a missing browser fails the run."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.labels import FLAG_LABELS
from registry.accounts.users import UserInput, create_user
from registry.core.clock import business_today
from registry.core.principal import system
from tests.api.support import PASSWORD, live_server
from tests.factories import new_institution

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHARTS = ("chart-trend", "chart-county", "chart-sector", "chart-group", "chart-claims")

pytestmark = pytest.mark.browser


def demo_year() -> int:
    """A year the demo plans claims for (its certificates inside the claim window)."""
    import datetime as dt

    today = business_today()
    return today.year if today >= dt.date(today.year, 4, 16) else today.year - 1


@pytest.fixture(scope="module")
async def figures(database: None, settings: Any) -> None:
    """This year's figures: the plan's targets, people who completed a cohort that ended this
    month in two divisions, a tiny demo year with its claims and risk flags, and the day's
    rollup (what the cards show)."""
    import datetime as dt

    from cli.demo.run import run_demo
    from registry.core.crypto import vault_from_settings
    from registry.progress.service import rollup
    from registry.progress.targets import load_catalogue_targets
    from tests.factories import ended_cohort, enrolment_row, ensure_catalogue, person_row

    await ensure_catalogue()
    await load_catalogue_targets(system("test"))
    today = business_today()
    end = max(dt.date(today.year, 1, 2), today - dt.timedelta(days=1))
    for division, people in (("410305", 3), ("410323", 2)):
        cohort = await ended_cohort(await new_institution(division), end, division=division)
        for _ in range(people):
            await enrolment_row(cohort, await person_row(("veteran",)), groups=("veteran",))
    await run_demo(
        # The seed tests/cli/demo/test_run.py loads for the same year: the shared database
        # holds one demo per year, so whichever test runs first loads it, the other finds it.
        vault_from_settings(settings),
        year=demo_year(),
        scale="tiny",
        seed=3,
        say=lambda _m: None,
    )
    await rollup(system("test"), today)


@pytest.fixture(scope="module")
def server(test_env: dict[str, str], figures: None) -> Iterator[str]:
    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM}: apt-get install chromium chromium-driver fonts-noto-cjk"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with live_server(test_env) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def user(role: str, division: str | None = None) -> str:
    import uuid

    institution = await new_institution() if role == "institution" else None
    username = f"web-{role}-{uuid.uuid4().hex[:8]}"
    await create_user(
        system("test"),
        UserInput(
            username=username,
            password=PASSWORD,
            role=role,
            institution_id=institution.id if institution else None,
            division_code=division,
        ),
    )
    return username


async def bearer(server: str) -> dict[str, str]:
    """An admin's bearer token, to ask the API the same questions."""
    import httpx

    name = await user("admin")
    async with httpx.AsyncClient() as client:
        token = (
            await client.post(f"{server}/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


class Watched:
    """What went wrong in a page: console errors, uncaught exceptions, failed requests and
    answers of 400 or more (the API's refusals the test asks for itself are not watched)."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text} {message.location}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and "/api/v1/" not in response.url:
            self.problems.append(f"{response.status}: {response.url}")


async def signed_in_page(
    browser: Any, server: str, username: str, viewport: tuple[int, int] = (1400, 1800)
) -> Any:
    context = await browser.new_context(
        locale="zh-CN", viewport={"width": viewport[0], "height": viewport[1]}
    )
    page = await context.new_page()
    page.watched = Watched(page)
    await page.goto(f"{server}/dashboard")
    assert page.url.endswith("/dashboard/sign-in")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#sign-in")
    return page


async def canvas_has_pixels(page: Any, chart: str) -> bool:
    return bool(
        await page.evaluate(
            """(id) => {
                const canvas = document.querySelector(`#${id} canvas`);
                if (!canvas || !canvas.width || !canvas.height) return false;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
                return false;
            }""",
            chart,
        )
    )


LEGEND_CLEAR = """(id) => {
    // The legend's boxes against the grid and every text of the chart that is not the
    // legend's (axis labels, axis names): none may overlap.
    const chart = echarts.getInstanceByDom(document.getElementById(id));
    const legends = chart._componentsViews.filter((v) => v.type && v.type.startsWith("legend")).map((v) => v.group);
    const inLegend = (el) => { for (let p = el; p; p = p.parent) if (legends.includes(p)) return true; return false; };
    const box = (el) => {
        const r = el.getBoundingRect().clone();
        const m = el.getComputedTransform();
        if (m) r.applyTransform(m);
        return r;
    };
    const shown = chart.getZr().storage.getDisplayList(true).filter((el) => !el.invisible && !el.ignore);
    const mine = shown.filter(inLegend).map(box).filter((r) => r.width > 0 && r.height > 0);
    if (!mine.length) return ["no legend drawn"];
    const grids = [];
    chart.getModel().eachComponent("grid", (g) => grids.push(g.coordinateSystem.getRect()));
    // zrender draws a label as the tspans of a text element: those are in the display list.
    const texts = shown
        .filter((el) => (el.type === "tspan" || el.type === "text") && !inLegend(el) && el.style.text)
        .map((el) => [el.style.text, box(el)]);
    const clash = [];
    for (const r of mine) {
        grids.forEach((g) => { if (r.intersect(g)) clash.push("grid"); });
        texts.forEach(([text, t]) => { if (r.intersect(t)) clash.push(String(text)); });
    }
    return clash;
}"""


def codes_unlabelled(text: str) -> list[str]:
    """Flag codes in ``text`` not beside their Chinese label (``出勤不足（ATTENDANCE）``)."""
    found = []
    for match in re.finditer(r"[A-Z][A-Z_]{2,}", text):
        code = match.group(0)
        label = FLAG_LABELS.get(code)
        if label is None or not text[: match.start()].endswith(f"{label}（"):
            found.append(code)
    return found


async def test_the_demo_year_reads_in_chinese_with_no_console_error(server: str, browser: Any) -> None:
    """Issue 16: the dashboard on the demo data at 1366x768."""
    ARTIFACTS.mkdir(exist_ok=True)
    year = demo_year()
    page = await signed_in_page(browser, server, await user("auditor"), viewport=(1366, 768))
    await page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    await page.goto(f"{server}/dashboard?year={year}")
    await page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    assert await page.get_attribute("body", "data-error") is None
    for chart in CHARTS:
        await page.wait_for_selector(f"#{chart}[data-drawn='1']", timeout=20_000)
        assert await page.evaluate(LEGEND_CLEAR, chart) == [], chart
    data = await (await page.request.get(f"{server}/dashboard/data?year={year}")).json()
    assert data["risk"], "the demo's planted flags rank institutions"
    text = await page.inner_text("body")
    assert codes_unlabelled(text) == []
    assert re.findall(r"(?<![\d,.])\d{6}(?![\d,.])", text) == []  # no division code, no unformatted number
    latin = {w for w in re.findall(r"[A-Za-z][A-Za-z_]+", text)} - set(FLAG_LABELS)
    assert latin == set(), latin
    divisions = await page.eval_on_selector_all(
        "#risk tbody td.division", "cells => cells.map(c => c.textContent)"
    )
    assert divisions and all(re.fullmatch(r"[\u4e00-\u9fff]+", d) for d in divisions), divisions
    flags = await page.eval_on_selector_all("#risk tbody .flag", "chips => chips.map(c => c.textContent)")
    assert any("（OVERLAP）" in f or "（SHARED_PHONE）" in f or "（ATTENDANCE）" in f for f in flags), flags
    # The links into the workbench: each card to its claims, each institution to its list.
    cards = await page.eval_on_selector_all(
        ".card a.claims", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(cards) == len(data["cards"]) and all(
        href.startswith("/workbench/claims?") and f"year={year}" in href for href in cards
    ), cards
    institutions = await page.eval_on_selector_all(
        "#risk tbody a.institution", "links => links.map(a => a.getAttribute('href'))"
    )
    assert institutions == [f"/workbench/claims?institution={r['institution_id']}" for r in data["risk"]]
    await page.screenshot(path=str(ARTIFACTS / "dashboard-demo-1366.png"))
    await page.screenshot(path=str(ARTIFACTS / "dashboard-demo-1366-full.png"), full_page=True)
    await page.reload()
    await page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    assert page.watched.problems == []
    await page.context.close()


async def test_an_auditor_sees_every_chart_drawn_and_signs_out(server: str, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = await signed_in_page(browser, server, await user("auditor"))
    await page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    assert await page.get_attribute("body", "data-error") is None
    for chart in CHARTS:
        await page.wait_for_selector(f"#{chart}[data-drawn='1']", timeout=20_000)
        assert await canvas_has_pixels(page, chart), chart
    data = await (await page.request.get(f"{server}/dashboard/data")).json()
    shown = await page.eval_on_selector_all(
        ".card",
        "cards => cards.map(c => [c.dataset.metric, Number(c.querySelector('.value').dataset.value)])",
    )
    assert shown == [[card["metric"], card["value"]] for card in data["cards"]]
    assert len(shown) == 5 and dict(shown)["trainees_trained"] >= 5 and dict(shown)["veterans_trained"] >= 5
    api = await page.request.get(
        f"{server}/api/v1/progress?year={data['year']}", headers=await bearer(server)
    )
    by_api = {m["metric"]: m["value"] for m in (await api.json())["metrics"]}
    assert all(by_api[metric] == value for metric, value in shown)
    targets = await page.eval_on_selector_all(".card .target", "nodes => nodes.map(n => n.textContent)")
    assert any("147,000" in text or "147000" in text for text in targets), targets
    rows = await page.eval_on_selector_all("#risk tbody tr", "rows => rows.length")
    assert rows == len(data["risk"])
    await page.screenshot(path=str(ARTIFACTS / "dashboard-city.png"), full_page=True)

    await page.click("#sign-out")
    await page.wait_for_url("**/dashboard/sign-in")
    await page.goto(f"{server}/dashboard")
    assert page.url.endswith("/dashboard/sign-in")
    assert page.watched.problems == []
    await page.context.close()


async def test_a_county_auditor_sees_its_county(server: str, browser: Any) -> None:
    page = await signed_in_page(browser, server, await user("auditor", "410305"))
    await page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    data = await (await page.request.get(f"{server}/dashboard/data")).json()
    assert data["scope"]["division_code"] == "410305"
    assert all(row["division_code"] == "410305" for row in data["risk"])
    assert [item["key"] for item in data["by_county"]] in ([], ["410305"])
    city = await (
        await page.request.get(
            f"{server}/api/v1/progress?year={data['year']}&division=410305", headers=await bearer(server)
        )
    ).json()
    assert {c["metric"]: c["value"] for c in data["cards"]} == {
        m["metric"]: m["value"]
        for m in city["metrics"]
        if m["metric"] in {c["metric"] for c in data["cards"]}
    }
    await page.screenshot(path=str(ARTIFACTS / "dashboard-county.png"), full_page=True)
    assert page.watched.problems == []
    await page.context.close()


async def test_an_institution_user_is_refused(server: str, browser: Any) -> None:
    """Refused at the sign-in form (issue 16): no bureau session, the reason in Chinese, and
    the dashboard still sends it to sign in."""
    page = await signed_in_page(browser, server, await user("institution"))
    assert page.url.endswith("/dashboard/sign-in")
    assert "机构端" in await page.inner_text("#error")
    answer = await page.goto(f"{server}/dashboard")
    assert answer is not None and page.url.endswith("/dashboard/sign-in")
    await page.context.close()
