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
    """Start what should run: the bundles left running last time, or a fresh demo.

    Prefers ``host.restore()`` (requested in docs/api.md) so core owns the
    policy; until it exists, starts the bundles whose persisted intent is
    ``desired_running``. A freshly seeded demo is started whole (bundles that
    need setup stay stopped and show it).
    """
    lc = host.lifecycle
    if demo:
        keys = [(ws.id, b.server_name) for ws in host.workspaces() for b in ws.bundles]
        keys = [k for k in keys if not (lc.get_instance(k[1], k[0]) or _Nil).needs_setup]
    elif callable(getattr(host, "restore", None)):
        await host.restore()
        return
    else:
        keys = [
            (ws.id, b.server_name)
            for ws in host.workspaces()
            for b in ws.bundles
            if b.desired_running
        ]
    results = await asyncio.gather(
        *(lc.start_bundle(server, ws_id) for ws_id, server in keys), return_exceptions=True
    )
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            log.error("starting %s failed: %s", key, result)


class _Nil:
    needs_setup = None
