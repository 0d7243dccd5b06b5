"""``registry bench api``'s pieces that need no server: the wrk script, and no slow client."""

from __future__ import annotations

import uuid

import pytest

from cli.bench import api


def test_the_wrk_script_cycles_through_the_paths_with_the_headers() -> None:
    script = api.wrk_script(["/a", '/b"c'], {"Authorization": "Bearer t"})
    assert 'local paths = {"/a", "/b\\"c"}' in script
    assert 'local headers = {["Authorization"] = "Bearer t"}' in script
    assert "latency:percentile(99)" in script and "WRKJSON" in script


def test_every_endpoint_has_paths_and_a_known_user() -> None:
    data = api.Data(cohorts=[uuid.uuid4()], claims=[uuid.uuid4()])
    for endpoint in api.ENDPOINTS:
        assert endpoint.user in {"institution", "admin", "admin-session"}
        assert all(path.startswith(("/api/v1/", "/dashboard/")) for path in endpoint.paths(data)), (
            endpoint.label
        )


def test_the_budgeted_reads_are_design_s_three() -> None:
    budgeted = [e.label for e in api.ENDPOINTS if e.budgeted]
    assert budgeted == [
        "GET /api/v1/cohorts/{id}",
        "GET /api/v1/progress?year=",
        "GET /dashboard/data (session)",
    ]


def _run(per_second: float, p99: float = 10.0) -> api.Run:
    return api.Run(p50_ms=1.0, p99_ms=p99, requests=int(per_second * 10), seconds=10.0, client_cpu_share=0.2)


def test_the_figures_judge_the_budgeted_reads_against_the_mean_hello_world() -> None:
    cohort, progress, *_, claim = api.ENDPOINTS
    measured = api.Measured(
        hello=[_run(9_000), _run(11_000)],
        healthz=_run(8_000),
        runs=[(cohort, _run(2_900, p99=60)), (progress, _run(3_100)), (claim, _run(100))],
        uncached=[(progress, _run(500))],
    )
    figures = {f.metric.strip(): f for f in api.figures_of(measured, connections=50, workers=2)}
    throughput = figures["GET /api/v1/cohorts/{id}, throughput (p50 1.0 ms)"]
    assert throughput.budget == 3_000 and throughput.ratio == 0.29 and throughput.passed is False
    assert figures["GET /api/v1/cohorts/{id}, p99 (50 connections, 2 workers)"].passed is False
    assert figures["GET /api/v1/progress?year=, throughput (p50 1.0 ms)"].passed is True
    # The reads beyond DESIGN's three, and every uncached one, are information.
    assert figures["GET /api/v1/claims/{id}, throughput (p50 1.0 ms)"].passed is None
    uncached = figures["GET /api/v1/progress?year=, uncached, throughput (p50 1.0 ms)"]
    assert uncached.passed is None and uncached.ratio == 0.05


def test_without_wrk_it_fails_under_ci_and_never_uses_a_slow_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="needs wrk"):
        api.find_wrk()
    monkeypatch.delenv("CI")
    assert api.find_wrk() is None
