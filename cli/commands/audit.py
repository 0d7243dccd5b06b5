"""``registry verify-audit``: walk the keyed hash chain against the checkpoints; exit 1 and
name the first broken row (or the checkpoint the chain falls short of).

It runs with the configuration of ``registry up``: without ``DATABASE_URL`` it finds the
embedded database and the key files under ``REGISTRY_HOME`` (:func:`cli.runtime.local_settings`).
When the chain is intact it appends a checkpoint of its head to the checkpoint file.
"""

from __future__ import annotations

import argparse

from cli.runtime import local_settings, run_with_db
from registry.audit.service import ChainReport, verify_and_record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    async def work(_settings: object) -> ChainReport:
        return await verify_and_record(checked_by="cli:verify-audit")

    with local_settings() as settings:
        report = run_with_db(work, settings)
    print(report.message)
    if report.ok and report.head_id is not None:
        print(f"checkpoint: audit event {report.head_id} appended to {settings.audit_checkpoint_path}")
    return 0 if report.ok else 1
