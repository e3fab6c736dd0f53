"""Run Python's cyclic garbage collector on the GUI thread only.

A parentless QObject caught in a reference cycle is destroyed by whichever
thread happens to trigger a collection: asyncio's child-watcher threads and
``to_thread`` workers allocate too. A QObject with live timers destroyed off
its thread leaves a dangling timer, and Qt crashes delivering it (seen as a
segfault in ``QTimerInfoList::activateTimers``). So automatic collection is
switched off and the same generational thresholds are checked from a QTimer.

CPython only runs a full collection once the objects that survived since the
last one reach a quarter of the long-lived heap; that count is not exposed, so
a full collection here runs at most every :data:`FULL_EVERY_S` seconds instead
(one costs 50-60 ms with the SDK and Qt loaded: it must not run every few
hundred milliseconds while events flow).
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 250
FULL_EVERY_S = 30.0


class GuiThreadCollector(QObject):
    """Collects when Python would have, but always on the thread that owns the GUI."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()
        self._last_full = time.monotonic()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        t0, t1, t2 = gc.get_threshold()
        c0, c1, c2 = gc.get_count()
        if c2 > t2 and time.monotonic() - self._last_full >= FULL_EVERY_S:
            gc.collect(2)
            self._last_full = time.monotonic()
        elif c1 > t1:
            gc.collect(1)
        elif c0 > t0:
            gc.collect(0)
