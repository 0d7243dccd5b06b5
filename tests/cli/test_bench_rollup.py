"""``registry bench rollup`` as an operator runs it, at a tiny size: ten years generated in
SQL, the rollup and the raw GROUP BY timed in the same run. No timing is asserted."""

from __future__ import annotations

from tests.cli.commands import registry


def test_bench_rollup_smoke(test_env: dict[str, str]) -> None:
    result = registry(
        test_env, "bench", "rollup", "--enrolments", "3000", "--repeat", "1", "--report-only", timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "generating 10 years (2016-2025) of 3,000 enrolments in SQL" in out
    assert "3,000 enrolments" in out and "certificates" in out
    assert "rollup of a year (" in out and "over 3,000 enrolments" in out
    assert "rollup / one raw GROUP BY over the enrolments" in out and "<= 3 x" in out and "<= 5 s" in out
    assert "baseline (same run)" in out
