"""Open a real Host (real lifecycle engine) on a temp data dir for the data-layer tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from core.host import Host
from tests.procs import marked_processes

FAST = {"handshake_timeout": 20.0, "stop_grace": 0.3, "term_grace": 1.0, "backoff": (0.05, 0.1)}


def bundle_processes(data_dir: Path) -> dict[str, list[int]]:
    """Live bundle processes (by marker) running from a bundle folder of ``data_dir``.

    Bundles run with cwd = their folder under ``<data>/bundles``, which tells this
    test's processes apart from those of any other Host using the same ws ids.
    """
    root = str(data_dir.resolve()) + os.sep
    found: dict[str, list[int]] = {}
    for marker, pids in marked_processes().items():
        for pid in pids:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if (cwd + os.sep).startswith(root):
                found.setdefault(marker, []).append(pid)
    return found


@asynccontextmanager
async def opened(data_dir: Path, restore: bool = True, **options: Any) -> AsyncIterator[Host]:
    """A Host that is always shut down, and whose processes are checked gone afterwards."""
    host = await Host.open(data_dir, restore=restore, **{**FAST, **options})
    try:
        yield host
    finally:
        await host.shutdown()
        assert bundle_processes(data_dir) == {}, "a bundle process outlived Host.shutdown()"
