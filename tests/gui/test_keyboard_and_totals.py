"""Tab leaves the bundle table for the next pane; the totals say they count all workspaces."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.conftest import server_named, wait_badge, wait_until


async def test_tab_leaves_the_table_and_totals_name_their_scope(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        await wait_badge(window, server_named(host, ws, "notes"), "running")
        window.select_bundle(clock)
        window.table.setFocus()
        assert window.focusWidget() is window.table
        row = window.table.currentIndex().row()
        QTest.keyClick(window.table, Qt.Key.Key_Tab)
        # Focus moved out of the table (to the next pane), the selection stayed put.
        assert window.focusWidget() is not window.table, window.focusWidget()
        assert not window.table.isAncestorOf(window.focusWidget())
        assert window.table.currentIndex().row() == row

        window.create_workspace("Empty")
        await wait_until(lambda: window.proxy.rowCount() == 0, what="the empty workspace")
        window._update_totals()
        assert window.totals_label.text() == "2 of 3 bundles running in all workspaces"


async def test_a_crash_replaces_the_started_message(launch: Any) -> None:
    import os
    import signal

    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        label = window._label_of((ws, clock))
        window.show_status(f"{label} started.")
        os.kill(host.lifecycle.get_instance(clock, ws).pid, signal.SIGKILL)
        await wait_badge(window, clock, "crashed")
        message = window.statusBar().currentMessage()
        assert message.startswith(f"{label} crashed") and "killed by SIGKILL" in message, message
        await wait_badge(window, clock, "running")
