"""``registry bench claims`` as an operator runs it, at a tiny size: the city year by COPY,
claims filed, real Celery workers computing them, the pure rule's baseline and its check
of every claim's total. No timing is asserted."""

from __future__ import annotations

import pytest

from tests.cli.commands import registry


@pytest.mark.worker
def test_bench_claims_smoke(test_env: dict[str, str]) -> None:
    result = registry(
        test_env, "bench", "claims", "--lines", "200", "--cohort-size", "20", "--workers", "1",
        "--report-only", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "10 claims computed in" in out
    assert "every claim's lines and total match the stored ones" in out
    assert "claim computation, 200 lines in 10 claims, 1 workers" in out
    assert "claim computation, time against the pure rule" in out
    assert ">= 10,000 lines/s" in out and "<= 3 x" in out
    assert "baseline (same run)" in out and "pure rule" in out
