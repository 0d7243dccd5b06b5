"""Defect: birth dates were judged against the server's local date, not Asia/Shanghai's.

The process's time zone is moved (``TZ`` + ``time.tzset``) so that its local date differs
from the date in Shanghai; every rule that bounds a birth date must still judge by
Shanghai's. Which way the dates differ depends on the hour, so the test picks a zone that
is a day behind Shanghai (before 20:00 there) or a day ahead (from 18:00 there)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from registry.core.clock import BUSINESS_TZ, business_today
from registry.core.errors import ValidationFailed
from registry.people.rules import idnumber
from registry.people.rules.idnumber import make_number
from registry.training.roster.rules import RosterParser, parse_roster


@contextmanager
def server_zone(zone: str) -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _case() -> tuple[str, dt.date, bool]:
    """(zone, birth date, accepted?) for a birth date on the local/Shanghai boundary."""
    shanghai = dt.datetime.now(BUSINESS_TZ)
    if shanghai.hour < 19:
        # UTC-12: the server's date is still yesterday; born "today" in Shanghai is fine.
        return "Etc/GMT+12", shanghai.date(), True
    # UTC+14: the server's date is already tomorrow; born "tomorrow" is in the future.
    return "Pacific/Kiritimati", shanghai.date() + dt.timedelta(days=1), False


def test_the_server_zone_really_moves_the_local_date() -> None:
    zone, _, _ = _case()
    with server_zone(zone):
        assert dt.date.today() != business_today()


def test_an_id_number_is_judged_by_the_shanghai_date() -> None:
    zone, birth, accepted = _case()
    number = make_number("410305", birth, 17)
    with server_zone(zone):
        if accepted:
            assert idnumber.validate(number).birth_date == birth
        else:
            with pytest.raises(ValidationFailed):
                idnumber.validate(number)


def test_a_roster_is_judged_by_the_shanghai_date() -> None:
    zone, birth, accepted = _case()
    number = make_number("410305", birth, 17)
    with server_zone(zone):
        assert RosterParser({"涧西区": "410305"}).today == business_today()
        parse = parse_roster(
            [(1, ["姓名", "身份证号"]), (2, ["张三", number])], divisions={"涧西区": "410305"}
        )
    assert (len(parse.rows) == 1) is accepted, parse.errors
