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


async def take_over_headless(data_dir: Path | None) -> str | None:
    """A headless ``serve`` holds the data dir: ask it to hand over and wait for its lock.

    Returns a line for the log (None when nobody listened). A GUI holding the dir
    refuses; then ``open_host`` reports the data dir in use, as before.
    """
    from core.paths import resolve_data_dir
    from core.service.client import take_over
    from core.service.protocol import ServiceError

    try:
        took = await asyncio.to_thread(take_over, resolve_data_dir(data_dir))
    except (ServiceError, OSError) as exc:
        log.warning("no takeover: %s", exc)
        return None
    if took:
        log.info("%s", took)
    return took


async def listen_for_cli(host: Any) -> Any:
    """Answer the control socket (CLI, gateway): this console owns the Host, not a client."""
    from core.service.server import ControlServer

    try:
        return await ControlServer.start(host, "gui")
    except OSError as exc:  # the window still works; only scripted callers cannot reach it
        log.error("control socket unavailable: %s", exc)
        return None


async def seed_if_empty(host: Any) -> Any:
    """First launch: the Demo workspace, so the console never opens empty."""
    from core.demo import seed_if_empty as seed

    return await seed(host)


async def restore_bundles(host: Any, *, demo: bool = False) -> None:
    """Start what should run: what was running last time (core's ``host.restore``), or,
    right after seeding, the demo bundles that can start (core.demo.start_seeded)."""
    if not demo:
        await host.restore()
        return
    from core.demo import start_seeded

    await start_seeded(host)
