"""A QApplication on a qasync loop, the console's main window, and a loop-stall probe.

Figures 4 and 5 run here. The window is ``gui.main_window.MainWindow``
attached to a real ``Host`` (as ``gui.app`` does); if the GUI cannot be
imported, a bare shown ``QWidget`` stands in and the figure says so.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


#: Set by :func:`guard_refcount_leak` when the installed PySide6 drops references.
LEAK_NOTE: str | None = None


def guard_refcount_leak() -> str | None:
    """Detect a PySide6 build that drops references to None/True/False; pad them if so.

    PySide6-Essentials 6.12.0 on CPython 3.11 loses one reference to ``True``
    per ``Signal.emit()`` and one to ``None`` per wrapped call returning None
    (``setObjectName``, a Python ``data()`` override returning None...). On
    3.11 these singletons are not immortal, so the process aborts
    (``bool_dealloc``/``none_dealloc``) after a few hundred emits. To measure
    the GUI at all, the benchmark then adds 2**40 to their reference counts
    (the refcount operations themselves still run, so timings are unaffected)
    and reports that it had to.
    """
    global LEAK_NOTE
    import ctypes
    import gc
    import sys

    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    gc.collect()
    true0, none0 = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(20):
        probe.ping.emit()
        probe.setObjectName("probe")
    gc.collect()
    lost_true = true0 - sys.getrefcount(True)
    lost_none = none0 - sys.getrefcount(None)
    if lost_true < 10 and lost_none < 10:
        return None
    import PySide6

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    LEAK_NOTE = (
        f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} drops references: "
        f"{lost_true / 20:g} to True per Signal.emit(), {lost_none / 20:g} to None per "
        "setObjectName(); the console would abort (bool_dealloc/none_dealloc) after a few "
        "hundred events. Refcounts of None/True/False were padded so the figure could run."
    )
    return LEAK_NOTE


def window_notes(kind: str) -> list[str]:
    """What a GUI figure must say about how it was measured: which window, and the leak pad."""
    return [f"window = {kind}", *([LEAK_NOTE] if LEAK_NOTE else [])]


def run_on_qasync(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Create the QApplication + qasync loop, run ``main()`` to completion, close the loop."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    settings_dir = tempfile.mkdtemp(prefix="bench-gui-settings-")
    # A throwaway GUI settings file: never touch the user's window layout.
    os.environ["BUNDLE_CONSOLE_GUI_SETTINGS"] = str(Path(settings_dir) / "gui.ini")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bundle-console-bench"])
    app.setQuitOnLastWindowClosed(False)
    guard_refcount_leak()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def make_window() -> tuple[Any, str]:
    """``(window, kind)``: the console's main window, or a bare QWidget stand-in."""
    try:
        from gui.main_window import MainWindow
        from gui.settings import GuiSettings
    except ImportError as exc:
        from PySide6.QtWidgets import QWidget

        widget = QWidget()
        widget.resize(1180, 760)
        return widget, f"bare QWidget (gui.main_window not importable: {exc})"
    try:
        from PySide6.QtWidgets import QApplication

        from gui.style import apply_style

        app = QApplication.instance()
        if app is not None and not getattr(app, "_bench_styled", False):
            apply_style(app)  # type: ignore[arg-type]
            app._bench_styled = True  # type: ignore[attr-defined]
    except ImportError:
        pass
    return MainWindow(GuiSettings()), "gui.main_window.MainWindow"


class Ticker:
    """A 1 ms asyncio ticker: records the gap between consecutive wake-ups."""

    def __init__(self, period: float = 0.001) -> None:
        self.period = period
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.period)
            t = time.perf_counter()
            self.gaps.append(t - last)
            last = t

    def start(self) -> None:
        self.gaps = []
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    @property
    def largest(self) -> float:
        return max(self.gaps) if self.gaps else float("nan")

    @property
    def p99(self) -> float:
        if len(self.gaps) < 2:
            return self.largest
        return statistics.quantiles(self.gaps, n=100)[98]

    def over(self, limit: float) -> int:
        return sum(1 for g in self.gaps if g > limit)
