"""docs/subsidy-policy.md is generated from the policy document (``registry policy-doc``)."""

from __future__ import annotations

from pathlib import Path

from registry.subsidy.doc import render_policy
from registry.subsidy.policy import parse_policy
from registry.subsidy.service import shipped_policy_files

DOC = Path(__file__).resolve().parents[3] / "docs" / "subsidy-policy.md"


def test_committed_policy_doc_matches_the_document() -> None:
    henan = next(p for p in shipped_policy_files() if p.name == "henan-2022.yaml")
    policy = parse_policy(henan.read_text(encoding="utf-8"))
    assert DOC.read_text(encoding="utf-8") == render_policy(policy), (
        "docs/subsidy-policy.md is stale: run `registry policy-doc henan-2022 -o docs/subsidy-policy.md`"
    )


def test_doc_names_every_amount_and_rule() -> None:
    henan = next(p for p in shipped_policy_files() if p.name == "henan-2022.yaml")
    policy = parse_policy(henan.read_text(encoding="utf-8"))
    text = render_policy(policy)
    for rule in policy.rules:
        assert f"| `{rule.code}` | {rule.severity} |" in text
    for amount in ("1,200", "1,600", "2,000", "4,000", "5,000", "800", "300", "700", "1,300", "1,500", "380"):
        assert f"| {amount} |" in text
    assert "*assumed*" in text
