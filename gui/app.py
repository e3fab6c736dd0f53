"""Entry point: show the window on a qasync loop, load core after, stop everything on quit.

Order matters for a snappy and clean app:

1. QApplication + qasync loop + window shown in a "Loading…" state. Nothing
   here imports ``core.host`` (and so never the MCP SDK) before the first paint.
2. :meth:`Console.load` opens the Host (restore=False, so the window is
   listening before anything starts), seeds the demo on an empty data dir,
   attaches the window, then restores bundles the administrator left running.
3. Every quit path (menu, Ctrl+Q, window close, SIGTERM/SIGINT) stops the
   loop; then ``host.shutdown()`` runs to completion on the same loop, so no
   bundle process outlives the app, even one that was still starting.

The exit status is 0 after a clean quit. (The ``bool_dealloc`` abort seen at
exit after many spawns came from PySide6 6.12.0 dropping a reference to
``True`` per ``Signal.emit()`` on Python 3.11; pyproject pins below 6.12.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="bundle-console", description="Desktop admin console for MCP bundles."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (default: $BUNDLE_CONSOLE_HOME, else the platform's user data dir)",
    )
    parser.add_argument(
        "--no-restore",
        action="store_true",
        help="do not restart the bundles that were running when the console last quit",
    )
    parser.add_argument("--log-level", default="WARNING", help="Python log level (default WARNING)")
    # Unknown options (-platform, -style ...) are left for Qt.
    return parser.parse_known_args(argv)


class Console:
    """Owns the load / quit sequence around one :class:`~gui.main_window.MainWindow`."""

    def __init__(self, window: Any, data_dir: Path | None, *, restore: bool = True) -> None:
        self.window = window
        self.data_dir = data_dir
        self.restore = restore
        self.host: Any = None
        self.load_task: asyncio.Task[None] | None = None
        self.failed: str | None = None
        #: restarts what should run (set by :meth:`load`; awaited by shutdown)
        self.restore_task: asyncio.Task[None] | None = None
        #: the control socket this console answers (core.service.server.ControlServer)
        self.control: Any = None
        #: what the takeover of a headless console did (None: there was none)
        self.took_over: str | None = None

    def start(self) -> None:
        self.load_task = asyncio.ensure_future(self.load())

    async def load(self) -> None:
        from gui.startup import (
            listen_for_cli,
            open_host,
            restore_bundles,
            seed_if_empty,
            take_over_headless,
        )

        window = self.window
        try:
            self.took_over = await take_over_headless(self.data_dir)
            self.host = await open_host(self.data_dir)
        except Exception as exc:  # the data dir is unusable: say why, keep the window
            self.failed = f"Cannot open the data directory: {exc}"
            log.exception("opening the host failed")
            window.set_loading(self.failed)
            window.loading_spinner.stop()
            return
        if window.closing:
            return
        window.attach(self.host)  # listening before the demo is seeded or anything starts
        self.control = await listen_for_cli(self.host)
        window.set_gateway(getattr(self.control, "gateway", None))
        seeded = await seed_if_empty(self.host)
        messages = []
        if seeded is not None:
            window.refresh_workspaces()
            window.select_workspace(seeded.id)
            messages.append(
                f"First launch: created the “{seeded.name}” workspace "
                f"with {len(seeded.bundles)} demo bundles."
            )
        if self.host.reaped:
            messages.append(
                f"Stopped {len(self.host.reaped)} bundle process(es) left by a previous session."
            )
        notice = self.host.secrets_status().notice  # keyring wanted but unusable: say it once
        if notice:
            messages.append(notice)
        if self.host.load_errors:
            shown = "; ".join(self.host.load_errors[:3])
            messages.append(f"{len(self.host.load_errors)} problem(s) while loading: {shown}")
        if messages:
            window.show_status(" ".join(messages), error=bool(self.host.load_errors))
        if self.restore or seeded is not None:
            self.restore_task = asyncio.ensure_future(
                restore_bundles(self.host, demo=seeded is not None)
            )

    async def shutdown(self) -> None:
        """Finish loading (so nothing is half-open), then stop every bundle and pending slot."""
        from gui.tasks import drain

        if self.load_task is not None and not self.load_task.done():
            with contextlib.suppress(Exception):
                await self.load_task
        self.window.detach()
        if self.control is not None:  # no CLI request may start work while we stop
            with contextlib.suppress(Exception):
                await self.control.close()
        if self.host is not None:
            await self.host.shutdown()
        if self.restore_task is not None:
            with contextlib.suppress(Exception):
                await self.restore_task
        await drain()


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, quit_: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, quit_)


def main(argv: Sequence[str] | None = None) -> int:
    args, qt_args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    import qasync
    from PySide6.QtWidgets import QApplication

    from gui.gc_guard import GuiThreadCollector
    from gui.main_window import MainWindow
    from gui.style import apply_style

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("Bundle Console")
    app.setOrganizationName("bundle-console")
    app.setDesktopFileName("bundle-console")
    app.setQuitOnLastWindowClosed(False)  # quitting goes through Console.shutdown
    apply_style(app)
    collector = GuiThreadCollector(app)
    collector.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    window = MainWindow()
    window.show()
    console = Console(window, args.data_dir, restore=not args.no_restore)
    window.quitRequested.connect(loop.stop)
    _install_signal_handlers(loop, window.request_quit)
    loop.call_soon(console.start)

    try:
        loop.run_forever()
        window.hide()
        loop.run_until_complete(console.shutdown())
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        _close_loop(loop)
        collector.stop()
        # Destroy the window here, on the GUI thread, not at interpreter exit.
        console.window = None
        del window
        gc.collect()
    logging.shutdown()
    return 1 if console.failed else 0


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(Exception):
        loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()
