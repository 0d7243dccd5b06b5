"""Reports the bureau sends on: the quarterly report to the province (docs/reports.md)."""
