"""``registry load-policy`` and ``registry policy-doc`` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from registry.models.subsidy import SubsidyPolicy
from registry.subsidy.service import shipped_policy_files
from tests.cli.commands import registry

HENAN = next(p for p in shipped_policy_files() if p.name == "henan-2022.yaml")
DOC = Path(__file__).resolve().parents[2] / "docs" / "subsidy-policy.md"


def variant(code: str, start: str, end: str) -> str:
    text = HENAN.read_text(encoding="utf-8").replace("code: henan-2022", f"code: {code}", 1)
    return text.replace("effective_from: 2022-03-31", f"effective_from: {start}").replace(
        "effective_to: null", f"effective_to: {end}"
    )


async def test_load_policy_command(test_env: dict[str, str], database: None, tmp_path: Path) -> None:
    good = tmp_path / "cli-1996.yaml"
    good.write_text(variant("cli-1996", "1996-01-01", "1996-12-31"), encoding="utf-8")
    first = registry(test_env, "load-policy", str(good))
    assert first.returncode == 0, first.stderr
    assert "policy cli-1996 (1996-01-01 to 1996-12-31): loaded" in first.stdout
    again = registry(test_env, "load-policy", str(good))
    assert again.returncode == 0 and "unchanged" in again.stdout

    bad = tmp_path / "cli-1997.yaml"
    text = variant("cli-1997", "1997-01-01", "1997-12-31").replace(
        "    cap_fen: 70000\n", "    cap_fen: -5\n"
    )
    bad.write_text(text, encoding="utf-8")
    refused = registry(test_env, "load-policy", str(bad))
    assert refused.returncode == 2
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "cap_fen: -5" in row)
    assert f"row {line}, $.training.completion.cap_fen:" in refused.stderr
    assert "nothing loaded" in refused.stderr
    assert not await SubsidyPolicy.filter(code="cli-1997").exists()

    missing = registry(test_env, "load-policy", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


async def test_load_reference_loads_the_shipped_policies(test_env: dict[str, str], database: None) -> None:
    result = registry(test_env, "load-reference")
    assert result.returncode == 0, result.stderr
    assert "subsidy policy henan-2022:" in result.stdout
    assert await SubsidyPolicy.filter(code="henan-2022").exists()


def test_policy_doc_command_prints_the_committed_doc() -> None:
    result = registry(None, "policy-doc", "henan-2022")
    assert result.returncode == 0, result.stderr
    assert result.stdout == DOC.read_text(encoding="utf-8")
    assert registry(None, "policy-doc", "nope").returncode == 2
