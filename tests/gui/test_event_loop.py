"""The GUI suite really runs on qasync, where Qt timers and asyncio share one loop."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtCore import QTimer

from tests.gui.conftest import wait_until


async def test_gui_tests_run_on_a_qasync_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
    fired: list[int] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: fired.append(1))
    timer.start()
    await wait_until(lambda: len(fired) >= 3, 2, "Qt timer ticks while awaiting asyncio")
    timer.stop()
