"""Import MCP SDK modules off the event loop, from one thread at a time.

Importing the SDK builds hundreds of pydantic models (about a second), so it
runs in a worker thread. Two such threads at once (the gateway starting while
a bundle's first spawn imports its session modules) made one of them fail
with ``ImportError: ... partially initialized module 'mcp.client._input_required'``:
the SDK's package imports are circular, and Python's per-module import locks
do not order two threads entering that cycle from different ends. One lock does.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Iterable

_lock = threading.Lock()


def import_now(names: Iterable[str]) -> None:
    """Import ``names`` in this thread, after any other thread's SDK import."""
    with _lock:
        for name in names:
            importlib.import_module(name)


async def import_off_loop(names: Iterable[str]) -> None:
    """Import ``names`` in a worker thread; at once if they are all loaded already."""
    wanted = tuple(names)
    if all(name in sys.modules for name in wanted):
        return
    await asyncio.to_thread(import_now, wanted)
