"""A per-process memo of recent answers, for the hottest reads (DESIGN.md section 10).

:class:`Recent` keeps what an async function answered for a key for ``seconds`` and hands it
to every caller asking for that key meanwhile; callers that arrive while it is being computed
wait for that one computation (so 50 clients asking at once cause one computation, not 50).
An exception is never kept: the next caller computes again. ``seconds <= 0`` keeps nothing
(every call computes). Entries are bounded (``max_entries``, the oldest dropped first).

It is per process (each API worker has its own), so what it keeps may be up to ``seconds``
old; :meth:`forget` drops one key at once in this process (sign-out, deactivation). Where it
is used and how stale each use may be is in docs/performance.md ("What a worker keeps, and
for how long").
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_MAX_ENTRIES = 4096


class Recent(Generic[T]):
    def __init__(
        self,
        seconds: float,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._kept: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[T]] = {}
        self._generation = 0

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The answer kept for ``key`` if it is fresh, else ``await compute()`` (once for all
        the callers asking meanwhile)."""
        if self.seconds <= 0:
            return await compute()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        running = self._running.get(key)
        if running is not None:
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not running.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The caller computing it was cancelled, not this one: compute it here.
                return await self.get(key, compute)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        generation = self._generation
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result(value)
            if generation == self._generation:  # nothing was forgotten while it was computed
                self._keep(key, value)
            return value
        finally:
            if self._running.get(key) is future:
                del self._running[key]

    def _keep(self, key: Hashable, value: T) -> None:
        self._kept[key] = (self._clock() + self.seconds, value)
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def forget(self, key: Hashable | None = None) -> None:
        """Drop ``key`` (every key when None) in this process; an answer being computed while
        this is called is handed to its waiters but not kept."""
        self._generation += 1
        if key is None:
            self._kept.clear()
        else:
            self._kept.pop(key, None)

    def __len__(self) -> int:
        return len(self._kept)
