"""The reference data shipped with the product (see README.md here for sources and licences)."""

from __future__ import annotations

from pathlib import Path

CATALOGUE_DIR = Path(__file__).resolve().parent
OCCUPATIONS_FILE = CATALOGUE_DIR / "occupations_2022.csv"
DIVISIONS_FILE = CATALOGUE_DIR / "luoyang_divisions.csv"
DIVISION_ALIASES_FILE = CATALOGUE_DIR / "luoyang_division_aliases.csv"
STREETS_FILE = CATALOGUE_DIR / "luoyang_streets.csv"
PRIORITY_TRADES_REFERENCE_FILE = CATALOGUE_DIR / "priority_trades_reference.csv"
POLICIES_DIR = CATALOGUE_DIR / "policies"
"""Subsidy policy documents (YAML), one per policy code: loaded by ``registry load-reference``."""
