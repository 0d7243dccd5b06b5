"""CPU-bound work (parsing an uploaded file) off the event loop.

An upload must never hold up other users' requests: a server process runs every request on
one event loop, and parsing a large roster in it stalled every other request for seconds.
:func:`run_off_loop` runs a plain function elsewhere:

- small inputs (at most ``THREAD_MAX_BYTES``) in a thread: it costs a few milliseconds and
  no process start, so a 60-row roster stays fast; the loop gets the GIL back every few
  milliseconds meanwhile;
- larger inputs in a separate process (a small pool, started on first use with ``spawn``
  so that no event loop, pool or lock is inherited), whose address space is capped at
  ``PROCESS_MEMORY_BYTES``: a file that would need more fails there (``file_too_large``)
  instead of growing the server.

The function and its arguments must be picklable (a module-level function over bytes and
plain values), and so must its result.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from registry.core.errors import ValidationFailed

T = TypeVar("T")

THREAD_MAX_BYTES = 512 * 1024
PROCESS_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
"""The address-space limit of a parsing process (parsing a 200,000-row XLSX peaks near 400 MB)."""
PROCESS_WORKERS = 2

_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _get_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            atexit.register(shutdown)  # before the interpreter tears the pool's modules down
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=PROCESS_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit_memory,
                initargs=(PROCESS_MEMORY_BYTES,),
            )
        return _pool


def shutdown() -> None:
    """Stop the parsing processes (at the end of a server's or a test session's life)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


async def run_off_loop(size: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` off the event loop: in a thread when ``size`` (the input's
    bytes) is small, else in a memory-capped process."""
    if size <= THREAD_MAX_BYTES:
        return await asyncio.to_thread(fn, *args, **kwargs)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_get_pool(), _call, fn, args, kwargs)
    except MemoryError:
        raise ValidationFailed(
            "the file needs more memory to read than one upload may use; split it into smaller files",
            code="file_too_large",
        ) from None
    except concurrent.futures.process.BrokenProcessPool:
        shutdown()  # the next upload starts a fresh pool
        raise ValidationFailed(
            "the file could not be read within the memory one upload may use; split it into smaller files",
            code="file_too_large",
        ) from None


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return fn(*args, **kwargs)
