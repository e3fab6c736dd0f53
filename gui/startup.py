"""The slow half of startup, run after the window is on screen.

Imported lazily by :mod:`gui.app`: this is where ``core.host`` (and through it
the engine) is first imported.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


async def open_host(data_dir: Path | None) -> Any:
    """Open core without starting anything, so the GUI subscribes before the first event."""
    from core import Host

    return await Host.open(data_dir, restore=False)


async def seed_if_empty(host: Any) -> Any:
    """First launch: the Demo workspace, so the console never opens empty."""
    if host.workspaces() or host.has_any_workspace():
        return None
    return await host.seed_demo()


async def restore_bundles(host: Any, *, demo: bool = False) -> None:
    """Start what should run: what was running last time (core's ``host.restore``), or,
    right after seeding, the demo bundles that can start (the vault waits for its token)."""
    if not demo:
        await host.restore()
        return
    lc = host.lifecycle
    keys = [
        (ws.id, b.server_name)
        for ws in host.workspaces()
        for b in ws.bundles
        if not getattr(lc.get_instance(b.server_name, ws.id), "needs_setup", None)
    ]
    results = await asyncio.gather(
        *(lc.start_bundle(server, ws_id) for ws_id, server in keys), return_exceptions=True
    )
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            log.error("starting %s failed: %s", key, result)
