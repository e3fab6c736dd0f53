"""Update in place, Roll Back, the Details tab and Start/Stop/Restart All in the window.

One launch of the real app on the demo workspace; a v2 of Demo Vault (with an
icon and links) is the demo folder copied to tmp with its manifest edited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.core.test_update_in_place import v2_config, vault_version
from tests.gui.conftest import server_named, wait_badge, wait_until


def vault_v2_with_icon(tmp_path: Path) -> Path:
    from PySide6.QtGui import QColor, QImage

    def edit(m: dict[str, Any]) -> None:
        v2_config(m)
        m.update(
            icon="icon.png",
            homepage="https://vault.example/",
            support="https://vault.example/help",
            privacy_policies=["https://vault.example/privacy"],
        )

    folder = vault_version(tmp_path, "2.0.0", edit)
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(QColor("#c2185b"))
    assert image.save(str(folder / "icon.png"))
    return folder


async def test_update_dialog_rollback_details_and_bulk(launch: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from gui.bundle_model import Column
    from gui.update_dialog import UpdateDialog

    v2 = vault_v2_with_icon(tmp_path)
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        clock, notes = server_named(host, ws, "clock"), server_named(host, ws, "notes")
        await wait_badge(window, clock, "running")
        await wait_badge(window, notes, "running")
        a = window.bundle_actions

        # Details of the installed v1: manifest metadata and provenance
        assert window.select_bundle(vault)
        details = window.detail.details
        assert window.detail.tabs.indexOf(details) >= 0
        rows = {k: v.text() for k, v in details.rows.items()}
        assert rows["Author"] == "Bundle Console demos" and rows["License"] == "MIT"
        assert rows["Compatibility"] == "Platforms: darwin, win32, linux · python &gt;=3.11"
        assert rows["Bundle folder"] == str(host.bundle_path(ws, vault))
        assert rows["Roll back"] == "<i>No earlier version kept</i>"
        assert rows["Homepage"] == "<i>Not stated</i>" and not details.icon.isVisible()
        assert not a.rollback.isEnabled()

        # An update that cannot be planned (corrupt credential file) is an error, not a copy
        creds = host.paths.credentials_file(ws, vault)
        creds.parent.mkdir(mode=0o700, exist_ok=True)
        creds.write_text("{not json")
        window.install(ws, str(v2))
        await wait_until(
            lambda: any(m.startswith("Cannot update from") for m in window.seen_status),
            what="update error",
        )
        assert window._dialog.windowTitle() == "Install Failed"
        assert len(host.workspace(ws).bundles) == 3
        window._dialog.close()
        creds.unlink()

        # Installing the same name again offers Update, not a second copy
        window.install(ws, str(v2))
        dialog = await wait_until(
            lambda: isinstance(window._dialog, UpdateDialog) and window._dialog, what="dialog"
        )
        assert "1.0.0 → 2.0.0" in dialog.findChild(type(dialog.notes), "updateHeading").text()
        notes_text = dialog.notes.text()
        assert "New optional setting: Region." in notes_text
        assert "Read-only: no longer used by 2.0.0." in notes_text
        assert dialog.update_button.isDefault() and dialog.copy_button.isEnabled()
        dialog.update_button.click()
        await wait_until(lambda: host.manifest(ws, vault).version == "2.0.0", what="update")
        await wait_until(
            lambda: any(
                m.startswith("Updated Demo Vault 1.0.0 → 2.0.0") for m in window.seen_status
            ),
            what="update status",
        )
        status = next(m for m in window.seen_status if m.startswith("Updated Demo Vault"))
        assert status.endswith("Roll Back returns to 1.0.0."), status
        assert [b.server_name for b in host.workspace(ws).bundles].count(vault) == 1
        row = window.bundles.row_for(ws, vault)
        name_cell = window.bundles.index(row, Column.NAME)
        assert "2.0.0" in name_cell.data(Qt.ItemDataRole.DisplayRole)
        assert not name_cell.data(Qt.ItemDataRole.DecorationRole).isNull()  # the icon
        rows = {k: v.text() for k, v in details.rows.items()}
        assert rows["Homepage"] == '<a href="https://vault.example/">https://vault.example/</a>'
        assert "https://vault.example/privacy" in rows["Privacy policies"]
        assert rows["Install source"] == str(v2)
        assert rows["Roll back"].startswith("to 1.0.0")
        assert details.icon.pixmap() is not None and not details.icon.pixmap().isNull()
        assert a.rollback.isEnabled() and a.rollback.text() == "Roll &Back to 1.0.0"

        # Same version again: Replace is offered; a second copy only when chosen
        window.install(ws, str(v2))
        dialog = await wait_until(
            lambda: (
                window._dialog is not dialog
                and isinstance(window._dialog, UpdateDialog)
                and window._dialog
            ),
            what="replace dialog",
        )
        assert dialog.update_button.text() == "Replace"
        dialog.copy_button.click()
        await wait_until(lambda: len(host.workspace(ws).bundles) == 4, what="second copy")
        copy = next(
            b.server_name for b in host.workspace(ws).bundles if b.server_name.endswith("-2")
        )
        assert host.manifest(ws, copy).version == "2.0.0"

        # Roll Back from the menu action
        assert window.select_bundle(vault)
        a.rollback.trigger()
        await wait_until(lambda: host.manifest(ws, vault).version == "1.0.0", what="roll back")
        await wait_until(lambda: not a.rollback.isEnabled(), what="roll back disabled")
        assert "1.0.0" in window.bundles.index(row, Column.NAME).data(Qt.ItemDataRole.DisplayRole)
        wsfile = host.data_dir / "workspaces" / ws / "workspace.json"
        entry = next(
            b for b in json.loads(wsfile.read_text())["bundles"] if b["server_name"] == vault
        )
        assert entry["version"] == "1.0.0" and entry["previous"] is None

        # Workspace menu: Stop All then Start All, each one summary line (Restart All's
        # outcomes are core's, tests/core/test_update_in_place.py; here: it is reachable)
        ws_menu = next(m for m in window.menuBar().actions() if m.text() == "&Workspace").menu()
        restart_all, stop_all, start_all = (
            next(x for x in ws_menu.actions() if x.objectName() == f"action_{v}_all")
            for v in ("restart", "stop", "start")
        )
        assert restart_all.isEnabled() and restart_all in window.workspace_panel.bulk_actions
        stop_all.trigger()
        want = "Stopped 4 of 4 bundles in Demo."
        await wait_until(lambda: want in window.seen_status, what=want)
        await wait_badge(window, clock, "stopped")
        start_all.trigger()
        await wait_until(
            lambda: any(m.startswith("Started 2 of 4 bundles in Demo") for m in window.seen_status),
            what="start all summary",
        )
        summary = next(m for m in window.seen_status if m.startswith("Started 2 of 4"))
        assert summary == (
            "Started 2 of 4 bundles in Demo; Demo Vault needs setup; "
            f"Demo Vault ({copy}) needs setup."
        ), summary
