"""``registry bench pages``: its wrk script and its judgement of the figures, then a tiny run
as an operator runs it (the tiny demo year, a 40-line big claim, 3 sessions, 1 s a path):
every path answered 200 with what it is (a page its Chinese title), under wrk too. No timing
is asserted."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from cli.bench import pages
from tests.cli.commands import registry


def test_the_wrk_script_gives_each_thread_its_session_and_checks_every_answer() -> None:
    script = pages.wrk_script(["/workbench"], ["<title>工作台"], [{"Cookie": "s=1"}, {"Cookie": "s=2"}])
    # wrk's LuaJIT has no \u escape: the title's UTF-8 bytes, escaped one by one.
    title = "".join(f"\\{b:03d}" for b in "工作台".encode())
    assert f'local markers = {{"<title>{title}"}}' in script
    assert 'local sessions = {{["Cookie"] = "s=1"}, {["Cookie"] = "s=2"}}' in script
    assert 'thread:set("number", counter)' in script and "sessions[(number - 1) % #sessions + 1]" in script
    assert "status ~= 200" in script and "string.find(body, markers[last], 1, true)" in script
    assert "latency:percentile(95)" in script and "WRKJSON" in script
    with pytest.raises(ValueError):
        pages.wrk_script(["/a", "/b"], ["only one"], [{}])


def _run(p95: float, per_second: float = 100.0) -> pages.Run:
    return pages.Run(
        p50_ms=p95 / 2,
        p95_ms=p95,
        p99_ms=p95 * 1.2,
        requests=int(per_second * 10),
        seconds=10.0,
        client_cpu_share=0.1,
    )


def test_the_figures_judge_each_page_and_its_twin() -> None:
    home, *_, big = pages.PAGES
    data = pages.Data(
        typical=uuid.uuid4(),
        typical_reference="DEMO-1",
        typical_lines=26,
        big=uuid.uuid4(),
        big_reference="CLAIM-00000",
        big_lines=500,
        claims=30,
        computed=3,
    )
    measured = pages.Measured(
        runs=[(home, _run(120), _run(50)), (big, _run(390), _run(300))],
        data=data,
        connections=10,
        workers=2,
    )
    figures = {f.metric.strip(): f for f in pages.figures_of(measured)}
    assert figures["GET /workbench, p95 (10 sessions, 2 workers)"].passed is True
    twin = figures["GET /workbench, p95 against its JSON twin"]
    assert twin.measured == 2.4 and twin.budget == 2 and twin.passed is False
    assert "GET /api/v1/claims?limit=50: p95 50.0 ms" in twin.baseline
    big_p95 = figures["GET /workbench/claims/{id} (500 lines), p95 (10 sessions, 2 workers)"]
    assert big_p95.budget == 400 and big_p95.passed is True
    assert figures["GET /workbench/claims/{id} (500 lines), p95 against its JSON twin"].passed is True


def test_the_workbench_pages_are_issue_16_s_and_the_portal_has_its_place() -> None:
    assert [p.page.name for p in pages.WORKBENCH_PAGES] == [
        "GET /workbench",
        "GET /workbench/claims",
        "GET /workbench/claims?status=computed&sort=amount",
        "GET /workbench/claims/{id} (the demo's typical claim)",
        "GET /workbench/claims/{id} (<lines> lines)",
    ]
    assert all(p.twin.name.startswith("GET /api/v1/claims") for p in pages.WORKBENCH_PAGES)
    assert pages.PORTAL_PAGES == ()  # the portal (/portal) is not built yet
    assert [p.budget_ms for p in pages.PAGES] == [150, 150, 150, 150, 400]


needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="needs wrk (apt-get install wrk); under CI the benchmark fails without it",
)


@needs_wrk
def test_bench_pages_smoke(test_env: dict[str, str]) -> None:
    result = registry(
        test_env, "bench", "pages", "--pages-scale", "tiny", "--pages-seconds", "1",
        "--pages-big-lines", "40", "--pages-connections", "3", "--pages-workers", "1",
        "--report-only", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "registry demo's year" in out and "at scale tiny" in out
    assert "the big one, CLAIM-00000, 40 lines" in out
    # Each path fetched once before the load: 200, and what it is.
    assert "GET /workbench: 200, text/html" in out and "holds '<title>工作台 · 审核工作台 ·'" in out
    assert "GET /workbench/claims: 200, text/html" in out and "holds '<title>补贴申请 · 审核工作台 ·'" in out
    assert "GET /workbench/claims/{id} (the demo's typical claim): 200, text/html" in out
    assert (
        "holds '<title>补贴申请 DEMO-" in out and "holds '<title>补贴申请 CLAIM-00000 · 审核工作台 ·'" in out
    )
    assert "GET /api/v1/claims/{id} (40 lines): 200, application/json" in out
    # Under wrk every answer was checked (200 and its title or claim), one session a thread.
    assert "wrk, 3 threads of one connection, one session each" in out
    assert out.count("all 200 with their marker") == 2 * len(pages.PAGES)
    # The report: every page's p95 and its ratio to its twin, against the budgets.
    table = out.split("\nmachine: ", 1)[1].split("\n\n", 1)[0]
    assert table.count("p95 against its JSON twin") == len(pages.PAGES)
    assert table.count(" PASS") + table.count(" FAIL") == 2 * len(pages.PAGES)
    assert "GET /workbench, p95 (3 sessions, 1 workers)" in out and "<= 150 ms" in out
    assert "GET /workbench/claims/{id} (40 lines), p95 (3 sessions, 1 workers)" in out and "<= 400 ms" in out
    assert "<= 2 x" in table
    assert "baseline (same run)" in out and "GET /api/v1/claims?status=computed&limit=50: p95" in out
