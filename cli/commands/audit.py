"""``registry verify-audit``: walk the keyed hash chain against the checkpoints; exit 1 and
name the first broken row (or the checkpoint the chain falls short of).

It runs with the configuration of ``registry up``: without ``DATABASE_URL`` it finds the
embedded database and the key files under ``REGISTRY_HOME``, as every command does
(:func:`cli.runtime.run_with_db`).
When the chain is intact it appends a checkpoint of its head to the checkpoint file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.runtime import run_with_db
from registry.audit.service import ChainReport, verify_and_record
from registry.core.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> tuple[ChainReport, Path]:
        return await verify_and_record(checked_by="cli:verify-audit"), settings.audit_checkpoint_path

    report, checkpoints = run_with_db(work)
    print(report.message)
    if report.ok and report.head_id is not None:
        print(f"checkpoint: audit event {report.head_id} appended to {checkpoints}")
    return 0 if report.ok else 1
