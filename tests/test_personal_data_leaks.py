"""No ID number in any log the suite wrote, nor in any error answer it received (runs last;
see tests/leaks.py)."""

from __future__ import annotations

import logging

from tests import leaks


def test_no_id_number_in_any_log_or_error_answer() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    found = leaks.leaks()
    assert not found, "ID numbers leaked:\n" + "\n".join(found[:50])


def test_the_check_finds_a_leak_when_there_is_one(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """The check itself can fail: a log holding an ID number is found."""
    from tests.factories import new_id_number

    folder = tmp_path_factory.mktemp("leak-probe")
    number = new_id_number()
    (folder / "probe.log").write_text(f"oops {number}\n", encoding="utf-8")
    saved = list(leaks.LOG_ROOTS)
    leaks.LOG_ROOTS[:] = [folder]
    try:
        assert any(number[-4:] in line for line in leaks.leaks())
    finally:
        leaks.LOG_ROOTS[:] = saved
