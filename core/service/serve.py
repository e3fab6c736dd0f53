"""``bundle-console serve``: the console without a window, on plain asyncio.

Same Host as the GUI (same lock, orphan reaping, restore, first-launch Demo
seed), logs to stderr, listens on the control socket, and on SIGTERM/SIGINT —
or when a GUI opening the same data dir asks it to hand over — stops every
bundle, releases the data-dir lock and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.host import Host

log = logging.getLogger(__name__)


async def serve(data_dir: Path | None, *, restore: bool = True) -> int:
    from core.demo import seed_if_empty, start_seeded
    from core.service.server import ControlServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    handed_over = False

    def handover() -> None:
        nonlocal handed_over
        handed_over = True
        stop.set()

    host = await _open_host(data_dir)
    server: ControlServer | None = None
    starting: asyncio.Task[object] | None = None
    try:
        seeded = await seed_if_empty(host)  # before listening: the first status sees it whole
        server = await ControlServer.start(host, "serve", on_handover=handover)
        if seeded is not None:
            log.info('first launch: created the "%s" workspace', seeded.name)
        for message in host.load_errors:
            log.error("%s", message)
        if seeded is not None:
            starting = asyncio.ensure_future(start_seeded(host))
        elif restore:
            starting = asyncio.ensure_future(host.restore())
        log.info("serving %s (pid %d)", host.data_dir, _pid())
        await stop.wait()
        log.info("handing over to a GUI" if handed_over else "stopping on signal")
    finally:
        if server is not None:
            await server.close()
        await host.shutdown()  # stops every bundle, releases the data-dir lock
        if starting is not None:
            with contextlib.suppress(BaseException):
                await starting
    return 0


async def _open_host(data_dir: Path | None, timeout: float = 10.0) -> Host:
    """An offline CLI command holds the lock for a moment: retry until it is done.

    Retrying the open itself, not probing the lock first: a command could take
    the lock between a probe and the open. A console (GUI or serve) holds it
    for good; after ``timeout`` the open's error says who.
    """
    from core.datalock import DataDirInUse
    from core.host import Host

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await Host.open(data_dir, restore=False)
        except DataDirInUse:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.1)


def main(data_dir: Path | None, *, restore: bool = True, log_level: str = "INFO") -> int:
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from core.errors import ConsoleError

    try:
        return asyncio.run(serve(data_dir, restore=restore))
    except ConsoleError as exc:
        print(f"bundle-console serve: {exc}", file=sys.stderr)
        return 1


def _pid() -> int:
    import os

    return os.getpid()
