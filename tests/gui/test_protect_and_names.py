"""The Protected toggle in the GUI, and unique workspace names as the window reports them."""

from __future__ import annotations

import json
from typing import Any

from tests.gui.conftest import server_named, wait_badge


async def test_protect_toggle_sets_the_lock_and_guards_actions(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        assert window.select_bundle(clock)
        a = window.bundle_actions
        assert a.protect.isEnabled() and not a.protect.isChecked()
        assert a.restart.isEnabled() and a.uninstall.isEnabled()

        a.protect.trigger()
        assert host.lifecycle.get_instance(clock, ws).protected
        assert window.bundles.badge(ws, clock).protected  # the lock is painted
        assert a.protect.isChecked()
        assert not a.restart.isEnabled() and not a.uninstall.isEnabled()
        assert "is protected" in window.statusBar().currentMessage()
        wsfile = host.data_dir / "workspaces" / ws / "workspace.json"
        stored = json.loads(wsfile.read_text())["bundles"]
        [entry] = [b for b in stored if b["server_name"] == clock]
        assert entry["protected"] is True
        refused = await host.lifecycle.respawn_bundle(clock, ws)
        assert refused.outcome == "protected"

        a.protect.trigger()
        assert not host.lifecycle.get_instance(clock, ws).protected
        assert not window.bundles.badge(ws, clock).protected
        assert a.restart.isEnabled() and a.uninstall.isEnabled()


async def test_duplicate_and_empty_workspace_names_are_refused(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        before = [w.id for w in host.workspaces()]
        demo_name = host.workspace(window.current_ws_id).name
        window.create_workspace(f"  {demo_name.upper()} ")
        message = window.statusBar().currentMessage()
        assert f'A workspace named "{demo_name}" already exists' in message, message
        window.create_workspace("   ")
        assert "non-empty name" in window.statusBar().currentMessage()
        assert [w.id for w in host.workspaces()] == before


async def test_deleting_a_workspace_names_running_bundles_and_leaves_no_folders(
    launch: Any,
) -> None:
    from PySide6.QtWidgets import QMessageBox

    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock, notes = server_named(host, ws, "clock"), server_named(host, ws, "notes")
        await wait_badge(window, clock, "running")
        await wait_badge(window, notes, "running")
        logs, run = host.data_dir / "logs" / ws, host.data_dir / "run" / ws
        assert logs.is_dir() and run.is_dir()
        window.workspace_panel.ask_delete()
        box = window.workspace_panel._dialog
        assert isinstance(box, QMessageBox)
        text = box.informativeText()
        labels = sorted(window._label_of((ws, name)) for name in (clock, notes))
        assert f"Running now, and stopped by the deletion: {', '.join(labels)}." in text, text
        vault_label = window._label_of((ws, server_named(host, ws, "vault")))
        assert vault_label not in text  # needs setup: not running
        delete = next(b for b in box.buttons() if b.text() == "Delete")
        delete.click()
        from tests.gui.conftest import wait_until

        await wait_until(lambda: ws not in [w.id for w in host.workspaces()], what="deletion")
        assert not logs.exists() and not run.exists()
        assert not (host.data_dir / "workspaces" / ws).exists()
