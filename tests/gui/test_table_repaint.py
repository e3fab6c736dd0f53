"""The painted table follows lifecycle events, end to end.

Reading the live instance proves nothing about the screen: the model reads it
on every call. What repaints a row is ``dataChanged`` reaching the view, so this
records, from the proxy the table view shows, each change covering the bundle's
Status cell and the text the view would paint *at that moment*, while a real
bundle is stopped and started from the window's actions.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from gui.bundle_model import KEY_ROLE, Column
from tests.gui.conftest import server_named, wait_badge, wait_until


async def test_status_cell_is_repainted_on_every_state_change(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        proxy = window.proxy
        assert window.table.model() is proxy
        painted: list[str] = []

        def on_changed(top_left: QModelIndex, bottom_right: QModelIndex, *_: Any) -> None:
            if not top_left.column() <= Column.STATUS <= bottom_right.column():
                return
            for row in range(top_left.row(), bottom_right.row() + 1):
                if proxy.index(row, 0).data(KEY_ROLE) == (ws, clock):
                    text = proxy.index(row, Column.STATUS).data(Qt.ItemDataRole.DisplayRole)
                    painted.append(str(text))

        proxy.dataChanged.connect(on_changed)
        assert window.select_bundle(clock)
        window.bundle_actions.stop.trigger()
        await wait_until(lambda: painted[-1:] == ["Stopped"], what="Stopped painted")
        assert painted == ["Stopping…", "Stopped"]
        window.bundle_actions.start.trigger()
        await wait_until(lambda: painted[-1:] == ["Running"], what="Running painted")
        assert painted.index("Running") > painted.index("Stopped")
