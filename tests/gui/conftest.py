"""GUI tests run on a real qasync loop with real demo bundle processes.

Rules these fixtures follow (and tests must too): never ``QTest.qWait`` or
``qtbot.wait*`` inside a coroutine, never ``exec()`` a dialog; wait with
:func:`wait_until`, which yields to the (qasync) loop with ``asyncio.sleep``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

GUI_DIR = Path(__file__).resolve().parent


def _qapp() -> QApplication:
    app = QApplication.instance()
    if app is None:
        from gui.style import apply_style

        app = QApplication(["bundle-console-tests"])
        app.setQuitOnLastWindowClosed(False)
        apply_style(app)
    return app  # type: ignore[return-value]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Any:
    """Async tests under tests/gui run on a qasync loop (the app's loop), nothing else does.

    pytest-asyncio asks this hook through ``item.ihook``, which only sees this
    conftest for items below tests/gui; the path check keeps it that way even
    if the hook is ever asked for another item.
    """
    if GUI_DIR not in Path(str(item.path)).resolve().parents:
        return {"default": asyncio.new_event_loop}
    return {"qasync": lambda: qasync.QEventLoop(_qapp())}


@pytest.fixture(scope="session", autouse=True)
def _app() -> QApplication:
    """One QApplication for the session, styled like the real app (pytest-qt reuses it)."""
    return _qapp()


@pytest.fixture(autouse=True)
def _collect_on_main_thread() -> Iterator[None]:
    """Cyclic GC only on this (the GUI) thread; see gui.gc_guard for the crash it prevents."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture(autouse=True)
def _gui_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's real gui.ini."""
    path = tmp_path / "gui.ini"
    monkeypatch.setenv("BUNDLE_CONSOLE_GUI_SETTINGS", str(path))
    return path


async def wait_until(
    predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Poll ``predicate`` while the loop keeps running; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


class Recorder:
    """Collects the badge kinds the table model renders for one row, in order."""

    def __init__(self, model: Any, ws_id: str, server_name: str) -> None:
        self.kinds: list[str] = []
        self._key = (ws_id, server_name)
        model.badgeChanged.connect(self._on)

    def _on(self, ws_id: str, server_name: str, kind: str) -> None:
        if (ws_id, server_name) == self._key:
            self.kinds.append(kind)

    def saw_in_order(self, *kinds: str) -> bool:
        it = iter(self.kinds)
        return all(any(k == seen for seen in it) for k in kinds)


@contextlib.asynccontextmanager
async def launched(data_dir: Path) -> AsyncIterator[Any]:
    """The app as launched on ``data_dir``: window shown, Host loaded, demo seeded, restored.

    Uses :class:`gui.app.Console`, the same load / shutdown path as ``bundle-console``.
    A context manager rather than an async fixture on purpose: between a fixture's
    setup and the test, pytest-asyncio returns from ``run_until_complete`` and
    qasync then processes Qt events with no running loop, so a bundle writing to
    stderr in that gap would run asyncio callbacks outside the loop. Launching
    and quitting inside the test keeps every bundle's life within one loop run.
    """
    from gui.app import Console
    from gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1200, 760)
    window.show()
    # Every status-bar message, kept: on a loaded machine a message can time out
    # before the test reads it (restore alone may take longer than its 8 s).
    window.seen_status = []
    window.statusBar().messageChanged.connect(window.seen_status.append)
    console = Console(window, data_dir)
    console.start()
    assert console.load_task is not None
    await console.load_task
    assert console.host is not None, console.failed
    try:
        if console.restore_task is not None:
            await console.restore_task
        yield console
    finally:
        window.request_quit()
        await console.shutdown()
        leftovers = bundle_pids(console.host.data_dir)
        window.close()
        window.deleteLater()
        await asyncio.sleep(0)
        assert leftovers == [], f"bundle processes outlived shutdown: {leftovers}"


@pytest.fixture
def launch(tmp_path: Path) -> Callable[[], Any]:
    """``async with launch() as console:`` — see :func:`launched`."""
    return lambda: launched(tmp_path / "data")


def badge_kind(window: Any, server_name: str) -> str | None:
    badge = window.bundles.badge(window.current_ws_id, server_name)
    return badge.kind if badge else None


async def wait_badge(window: Any, server_name: str, kind: str, timeout: float = 20.0) -> None:
    await wait_until(
        lambda: badge_kind(window, server_name) == kind,
        timeout,
        f"{server_name} badge {kind!r} (now {badge_kind(window, server_name)!r})",
    )


def server_named(host: Any, ws_id: str, fragment: str) -> str:
    return next(b.server_name for b in host.workspace(ws_id).bundles if fragment in b.server_name)


def proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


def bundle_pids(data_dir: Path) -> list[int]:
    """Live bundle processes (they carry BUNDLE_CONSOLE_MARKER) started from ``data_dir``.

    The marker names only workspace and server, so the data dir in the command
    line tells this run's processes from those of tests running in parallel.
    """
    from tests.procs import marked_pids

    found = []
    for pid, _marker in marked_pids():  # environ first: cheap, and few processes match
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        # A sandboxed bundle counts once, as its bwrap (see tests.procs.marked_processes).
        if str(data_dir) in cmdline:
            found.append(pid)
    return found
