"""The slow half of startup, run after the window is on screen.

Imported lazily by :mod:`gui.app`: this is where ``core.host`` (and through it
the engine) is first imported.
"""

from __future__ import annotations

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
