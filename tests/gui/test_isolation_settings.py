"""Configure sets the network switch and turns isolation off only after a confirmation."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox

from gui.bundle_model import Column
from tests.gui.conftest import server_named, wait_until
from tests.gui.test_configure_dialog import open_configure


async def test_network_switch_and_isolation_off_with_confirmation(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        dialog = open_configure(window, vault)
        assert host.sandbox_settings(ws, vault) == ("allowed", True)
        dialog.network_box.setCurrentIndex(dialog.network_box.findData("blocked"))
        assert host.sandbox_settings(ws, vault) == ("blocked", True)
        assert "network blocked" in dialog.isolation_label.text()
        # turning isolation off asks first; Cancel keeps it on
        dialog.isolated_box.click()
        await wait_until(lambda: dialog.question is not None, 5, "the confirmation")
        dialog.question.button(QMessageBox.StandardButton.Cancel).click()
        assert host.sandbox_settings(ws, vault) == ("blocked", True)
        assert dialog.isolated_box.isChecked()
        dialog.isolated_box.click()
        await wait_until(lambda: dialog.question is not None, 5, "the confirmation")
        dialog.question.button(QMessageBox.StandardButton.Yes).click()
        assert host.sandbox_settings(ws, vault) == ("blocked", False)
        assert not dialog.isolated_box.isChecked()
        assert "not isolated: turned off" in dialog.isolation_label.text()
        # the details show it as well
        window.detail.refresh()
        assert "not isolated: turned off" in window.detail.title.text()
        # a bundle running unconfined says so in its row
        dialog.close()
        await host.set_user_config(ws, vault, {"api_token": "tok-iso-1"})
        assert (await host.lifecycle.start_bundle(vault, ws)).ok
        row = window.bundles.row_for(ws, vault)
        assert row is not None
        cell = window.bundles.index(row, Column.ERROR).data()
        assert cell.startswith("not isolated: turned off"), cell
