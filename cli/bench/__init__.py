"""The performance benchmarks behind ``registry bench`` (DESIGN.md section 10).

Each benchmark runs in a scratch database it creates and drops, on the server that
``DATABASE_URL`` names, or on an embedded PostgreSQL started for the run when it is unset.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured metric against its budget."""

    metric: str
    measured: float
    unit: str
    budget: float | None
    higher_is_better: bool
    compared_with: str = ""
    ratio: float | None = None
    baseline: str = ""
    """The baseline measured in the same run, as printed (e.g. ``59,067 rows/s``)."""

    @property
    def passed(self) -> bool | None:
        if self.budget is None:
            return None
        return self.measured >= self.budget if self.higher_is_better else self.measured <= self.budget


def format_table(figures: list[Figure]) -> str:
    header = ("metric", "measured", "budget", "baseline (same run)", "ratio", "result")
    rows = [header]
    for f in figures:
        budget = (
            "-" if f.budget is None else f"{'>=' if f.higher_is_better else '<='} {f.budget:,.0f} {f.unit}"
        )
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x {f.compared_with}".strip()
        result = {True: "PASS", False: "FAIL", None: "info"}[f.passed]
        measured = f"{f.measured:,.2f} {f.unit}" if f.unit == "x" else f"{f.measured:,.1f} {f.unit}"
        rows.append((f.metric, measured, budget, f.baseline or "-", ratio, result))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
