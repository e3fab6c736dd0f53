"""History in the Events tab across a relaunch, "registered" once, errors where the eye
is (install error dialog, start failure above the Logs tab), the workspace name editor."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from core.history import current_user
from gui.main_window import MainWindow
from gui.settings import GuiSettings
from tests.core.data.bundle_factory import manifest, with_config, write_bundle
from tests.core.data.hosting import opened
from tests.gui.conftest import wait_badge, wait_until
from tests.gui.test_configure_dialog import open_configure

FIELDS = {"token": {"type": "string", "title": "Token", "sensitive": True, "required": True}}


@contextlib.asynccontextmanager
async def window_on(data: Path) -> AsyncIterator[tuple[Any, Any]]:
    """A main window attached to a Host on ``data`` (nothing restored: no spawns)."""
    async with opened(data, restore=False) as host:
        window = MainWindow(GuiSettings(data.parent / "gui.ini"))
        window.resize(1200, 760)
        window.show()
        window.attach(host)
        try:
            yield window, host
        finally:
            window.detach()
            window.close()
            window.deleteLater()


async def test_history_errors_and_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    failing = write_bundle(tmp_path / "src" / "quitter", manifest(name="quitter"))
    keyed = write_bundle(tmp_path / "src" / "keyed", with_config(FIELDS) | {"name": "keyed"})
    broken = tmp_path / "src" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{ not json", encoding="utf-8")
    async with window_on(data) as (window, host):
        ws = host.create_workspace("Ops").id
        window.refresh_workspaces()
        window.select_workspace(ws)

        # An install that fails opens a dialog naming the file and the problem.
        await window.install(ws, str(broken))
        box = window._dialog
        assert isinstance(box, QMessageBox) and box.objectName() == "installErrorDialog"
        assert box.text() == "“broken” could not be installed."
        assert str(broken) in box.informativeText() and "manifest.json" in box.informativeText()
        assert "not valid JSON" in box.informativeText()
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
        await window.install(ws, str(keyed))
        dialog = open_configure(window, "keyed")
        dialog.editors["token"].edit.setText("tok-history-77")
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done == 1, what="save")
        dialog.close()

        # The name editor: an empty name is an inline error with OK disabled.
        editor = window.workspace_panel.ask_create()
        assert not editor.ok.isEnabled()
        QTest.keyClicks(editor.edit, "x")
        editor.edit.clear()
        assert editor.error.isVisible() and editor.error.text() == "A workspace needs a name."
        QTest.keyClicks(editor.edit, " ops ")
        assert "already exists" in editor.error.text() and not editor.ok.isEnabled()
        editor.edit.setText("Second")
        assert editor.error.isHidden() and editor.ok.isEnabled()
        editor.reject()
    assert "tok-history-77" not in (data / "history" / "events.jsonl").read_text()

    async with window_on(data) as (window, host):  # the relaunch shows what came before
        window.select_workspace(ws)
        assert window.select_bundle("keyed")
        tree = window.detail.events.tree
        count = tree.topLevelItemCount()
        rows = [[tree.topLevelItem(i).text(c) for c in range(3)] for i in range(count)]
        kinds = [r[1] for r in rows]
        assert kinds[-1] == "registered" and kinds.count("registered") == 1, rows
        changes = [r for r in rows if r[1] == "settings changed"]
        assert [c[2] for c in changes] == [f"token · by {current_user()} through the window"]
        year = time.strftime("%Y")
        assert all(r[0].startswith(year) and len(r[0]) == 19 for r in rows), rows  # dated
        window.select_bundle("quitter")
        rows = window.detail.events.rows()
        assert rows[:3] == ["dead → stopped", "starting → dead", "stopped → starting"], rows
        assert window.detail.events.tree.topLevelItem(1).text(2) == reason.splitlines()[0]
