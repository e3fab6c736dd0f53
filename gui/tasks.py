"""Async slots that are tracked, so none is garbage-collected mid-flight or lost at quit.

``qasync.asyncSlot`` fires a task and forgets it; the event loop only keeps
weak references to tasks. :func:`async_slot` adds the running task to a set,
and :func:`drain` lets the shutdown path wait for whatever is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import qasync

_RUNNING: set[asyncio.Task[Any]] = set()


def async_slot(*types: type) -> Callable[[Callable[..., Coroutine[Any, Any, Any]]], Any]:
    """Like ``qasync.asyncSlot(*types)``; the task is held until it finishes."""

    def decorate(fn: Callable[..., Coroutine[Any, Any, Any]]) -> Any:
        @functools.wraps(fn)
        async def tracked(*args: Any, **kwargs: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                _RUNNING.add(task)
                task.add_done_callback(_RUNNING.discard)
            return await fn(*args, **kwargs)

        return qasync.asyncSlot(*types)(tracked)

    return decorate


def running() -> int:
    """How many tracked slots are still in flight."""
    return len(_RUNNING)


async def drain(timeout: float = 10.0) -> None:
    """Wait for in-flight slots (they end fast once core is shutting down), then cancel."""
    pending = [t for t in _RUNNING if t is not asyncio.current_task() and not t.done()]
    if not pending:
        return
    _done, still = await asyncio.wait(pending, timeout=timeout)
    for task in still:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*still, return_exceptions=True)
