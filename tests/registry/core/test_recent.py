"""The per-process memo of recent answers (:class:`registry.core.recent.Recent`): kept for
its window, one computation for callers arriving at once, an exception never kept, forgotten
on request, bounded. No database: a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from registry.core.recent import Recent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting() -> tuple[list[int], Callable[[], Awaitable[int]]]:
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        await asyncio.sleep(0)
        return len(calls)

    return calls, compute


async def test_an_answer_is_kept_for_its_window_then_computed_again() -> None:
    clock = Clock()
    recent: Recent[int] = Recent(10, clock=clock)
    calls, compute = counting()
    assert await recent.get("k", compute) == 1
    clock.now += 9.9
    assert await recent.get("k", compute) == 1
    assert await recent.get("other", compute) == 2
    clock.now += 0.2
    assert await recent.get("k", compute) == 3
    assert len(calls) == 3


async def test_callers_arriving_at_once_share_one_computation() -> None:
    recent: Recent[int] = Recent(10)
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return 42

    waiting = [asyncio.create_task(recent.get("k", slow)) for _ in range(50)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*waiting) == [42] * 50
    assert calls == 1


async def test_an_exception_reaches_every_waiter_and_is_never_kept() -> None:
    recent: Recent[int] = Recent(10)
    release = asyncio.Event()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        raise LookupError("not found")

    waiting = [asyncio.create_task(recent.get("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results) and calls == 1
    with pytest.raises(LookupError):
        await recent.get("k", failing)
    assert calls == 2 and len(recent) == 0


async def test_forget_drops_a_key_and_what_was_being_computed_meanwhile() -> None:
    recent: Recent[int] = Recent(10)
    _, compute = counting()
    await recent.get("a", compute)
    await recent.get("b", compute)
    recent.forget("a")
    assert await recent.get("a", compute) == 3
    assert await recent.get("b", compute) == 2

    release = asyncio.Event()

    async def old_answer() -> int:
        await release.wait()
        return -1

    pending = asyncio.create_task(recent.get("c", old_answer))
    await asyncio.sleep(0)
    recent.forget("c")  # e.g. a sign-out while the session was being looked up
    release.set()
    assert await pending == -1  # its caller gets it ...
    assert await recent.get("c", compute) == 4  # ... nobody after
    recent.forget()
    assert len(recent) == 0


async def test_zero_seconds_keeps_nothing_and_entries_are_bounded() -> None:
    calls, compute = counting()
    never: Recent[int] = Recent(0)
    assert [await never.get("k", compute) for _ in range(3)] == [1, 2, 3]
    bounded: Recent[int] = Recent(10, max_entries=2)
    for key in "abc":
        await bounded.get(key, compute)
    assert len(bounded) == 2
    before = len(calls)
    await bounded.get("a", compute)  # the oldest was dropped
    assert len(calls) == before + 1


async def test_a_cancelled_computation_is_computed_again_by_those_waiting_for_it() -> None:
    recent: Recent[int] = Recent(10)
    started = asyncio.Event()

    async def never() -> int:
        started.set()
        await asyncio.Event().wait()
        return -1

    async def soon() -> int:
        return 7

    first = asyncio.create_task(recent.get("k", never))
    await started.wait()
    waiting = asyncio.create_task(recent.get("k", soon))
    await asyncio.sleep(0)
    first.cancel()  # e.g. the worker shutting down under the first caller
    assert await waiting == 7
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await recent.get("k", never) == 7  # the waiter's answer was kept
