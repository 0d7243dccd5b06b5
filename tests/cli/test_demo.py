"""``registry demo`` as an operator (and ``make up``) runs it: a subprocess of the installed
``registry`` script against the suite's database. Year 2008 is the demo's own here."""

from __future__ import annotations

from registry.models.training import Cohort
from tests.cli.commands import registry


async def test_demo_command_loads_once(test_env: dict[str, str], database: None) -> None:
    first = registry(test_env, "demo", "--scale", "tiny", "--year", "2008")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "demo year 2008, scale tiny, seed 1: loaded in" in out
    assert "cohorts: startup/closed 2, vocational/cancelled 1, vocational/closed 4" in out
    assert "distinct level-3+ holders (high-skill):" in out
    assert "anomalies planted:" in out and "anomalies found in the database:" in out
    count = await Cohort.filter(reference__startswith="DEMO-2008-T1-").count()
    assert count == 7

    again = registry(test_env, "demo", "--scale", "tiny", "--year", "2008")
    assert again.returncode == 0, again.stderr
    assert "already loaded" in again.stdout
    assert await Cohort.filter(reference__startswith="DEMO-2008-T1-").count() == count

    other = registry(test_env, "demo", "--scale", "small", "--year", "2008")
    assert other.returncode == 2
    assert "already loaded with another scale or seed" in other.stderr


async def test_demo_command_refuses_a_future_year(test_env: dict[str, str], database: None) -> None:
    result = registry(test_env, "demo", "--scale", "tiny", "--year", "2099")
    assert result.returncode == 2
    assert "has not happened yet" in result.stderr
