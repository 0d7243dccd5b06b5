"""``registry policy-doc CODE``: the policy reference (docs/subsidy-policy.md) generated from
the catalogue's document ``registry/catalogue/policies/CODE.yaml``; no database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from registry import catalogue
from registry.subsidy.doc import render_policy
from registry.subsidy.policy import parse_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", help="the policy code (henan-2022)")
    parser.add_argument("-o", "--output", type=Path, help="write here (default: standard output)")


def run(args: argparse.Namespace) -> int:
    path = catalogue.POLICIES_DIR / f"{args.code}.yaml"
    if not path.is_file():
        print(f"error: no policy document {path.name} in the catalogue", file=sys.stderr)
        return 2
    text = render_policy(parse_policy(path.read_text(encoding="utf-8"), path.name))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
