"""``registry import-priority-list FILE --name NAME --effective-from YYYY-MM-DD ...``: the older
name of ``registry priority-list load`` (:mod:`cli.commands.priority_list`), kept working
with the same arguments."""

from __future__ import annotations

import argparse

from cli.commands.priority_list import add_load_arguments, run_load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_load_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_load(args)
