"""History in the Events tab across a relaunch, "registered" once, errors where the eye
is (install error dialog, start failure above the Logs tab), the workspace name editor."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from core.history import current_user
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.gui.conftest import launched, server_named, wait_badge, wait_until
from tests.gui.test_configure_dialog import open_configure


async def test_history_errors_and_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    failing = write_bundle(tmp_path / "src" / "quitter", manifest(name="quitter"))
    broken = tmp_path / "src" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{ not json", encoding="utf-8")
    async with launched(data) as console:
        window, host = console.window, console.host
        ws = window.current_ws_id

        # An install that fails opens a dialog naming the file and the problem.
        await window.install(ws, str(broken))
        box = window._dialog
        assert isinstance(box, QMessageBox) and box.objectName() == "installErrorDialog"
        assert "“broken” could not be installed." == box.text()
        assert str(broken) in box.informativeText() and "manifest.json" in box.informativeText()
        box.close()

        # "registered" once for one install; its Events tab reads it from core's history.
        await window.install(ws, str(failing))
        assert window.select_bundle("quitter")
        assert window.detail.events.rows().count("registered") == 1, window.detail.events.rows()
        # A bundle that fails to start says why above the Logs tab.
        window.bundle_actions.start.trigger()
        await wait_badge(window, "quitter", "dead")
        banner = window.detail.start_failure
        await wait_until(lambda: banner.text, what="the start-failure banner")
        reason = host.lifecycle.get_instance("quitter", ws).last_error
        assert banner.text.startswith("quitter") and "failed to start:" in banner.text
        assert reason.splitlines()[0].strip() in banner.text
        assert banner.geometry().bottom() <= window.detail.tabs.geometry().top()
        assert window.detail.tabs.currentWidget() is window.detail.logs

        # A save through Configure is history: keys, who, through the window; no value.
        vault = server_named(host, ws, "vault")
        dialog = open_configure(window, vault)
        dialog.editors["api_token"].edit.setText("tok-history-77")
        done = dialog.saves_done
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done > done, what="save")
        dialog.close()
        await wait_badge(window, vault, "running")

        # The name editor: an empty name is an inline error with OK disabled.
        editor = window.workspace_panel.ask_create()
        assert not editor.ok.isEnabled()
        QTest.keyClicks(editor.edit, "x")
        editor.edit.clear()
        assert editor.error.isVisible() and editor.error.text() == "A workspace needs a name."
        QTest.keyClicks(editor.edit, f" {host.workspace(ws).name.lower()} ")
        assert "already exists" in editor.error.text() and not editor.ok.isEnabled()
        editor.edit.setText("Second")
        assert editor.error.isHidden() and editor.ok.isEnabled()
        editor.reject()
    assert "tok-history-77" not in (data / "history" / "events.jsonl").read_text()

    async with launched(data) as console:  # the relaunch shows what came before
        window, host = console.window, console.host
        ws = window.current_ws_id
        assert window.select_bundle(vault)
        tree = window.detail.events.tree
        count = tree.topLevelItemCount()
        rows = [[tree.topLevelItem(i).text(c) for c in range(3)] for i in range(count)]
        changes = [r for r in rows if r[1] == "settings changed"]
        assert changes and changes[0][2] == f"api_token · by {current_user()} through the window"
        assert rows.count(rows[0]) == 1
        today = time.strftime("%Y-%m-%d")
        assert all(r[0].startswith(today[:4]) for r in rows), rows  # dated, not just a time
        # Transitions of both sessions are there, oldest at the bottom.
        assert sum(1 for r in rows if r[1] == "starting → running") >= 2, rows
        window.select_bundle("quitter")
        assert "failed to start" in window.detail.start_failure.text or (
            str(host.lifecycle.get_instance("quitter", ws).state) == "stopped"
        )
