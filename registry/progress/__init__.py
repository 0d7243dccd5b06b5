"""Targets, the nightly rollup, pace and forecast (DESIGN.md section 7; docs/progress.md)."""
