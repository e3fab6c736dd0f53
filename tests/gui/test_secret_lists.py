"""Configure shows a sensitive list as a count and masked rows; adding one entry and
saving keeps the stored ones (the data-loss case), removing one removes only it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget

from gui.config_fields import SecretListEditor
from gui.configure_dialog import ConfigureDialog
from tests.core.data.bundle_factory import with_config, write_bundle
from tests.core.data.hosting import opened
from tests.gui.conftest import wait_until

FIELDS = {
    "keys": {"type": "string", "title": "API keys", "sensitive": True, "multiple": True},
}
STORED = ["lst-secret-aaa", "lst-secret-bbb"]


def visible_text(dialog: ConfigureDialog) -> str:
    parts = [w.text() for w in dialog.findChildren(QLabel)]
    parts += [w.text() for w in dialog.findChildren(QLineEdit) if w.echoMode() == 0]
    for lw in dialog.findChildren(QListWidget):
        parts += [lw.item(i).text() for i in range(lw.count())]
    return "\n".join(parts)


async def test_sensitive_list_add_and_remove_without_revealing(tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", with_config(FIELDS, args=["${user_config.keys}"]))
    async with opened(tmp_path / "data", restore=False) as host:
        ws = host.create_workspace("Lists").id
        await host.install_bundle(ws, src, server_name="svc")
        await host.set_user_config(ws, "svc", {"keys": STORED})
        dialog = ConfigureDialog(host, ws, "svc")
        dialog.show()
        editor = dialog.editors["keys"]
        assert isinstance(editor, SecretListEditor)
        assert editor.state_label.text() == "2 stored" and editor.list.count() == 2
        assert not dialog.save_button.isEnabled()  # nothing changed yet

        QTest.keyClicks(editor.new_entry, "lst-secret-ccc")
        QTest.keyClick(editor.new_entry, Qt.Key.Key_Return)  # adds; does not save
        assert dialog.saves_done == 0 and editor.list.count() == 3
        assert editor.state_label.text() == "2 stored · 1 to add"
        text = visible_text(dialog)
        assert not any(s in text for s in [*STORED, "lst-secret-ccc"]), text
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done == 1, what="save")
        assert dialog.banner.kind != "error", dialog.banner.text
        assert host._credentials.load(ws, "svc")["keys"] == [*STORED, "lst-secret-ccc"]

        editor = dialog.editors["keys"]  # rebuilt after the save
        assert editor.state_label.text() == "3 stored"
        editor.remove_row(0)
        assert editor.state_label.text() == "3 stored · 1 to remove"
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done == 2, what="second save")
        assert host._credentials.load(ws, "svc")["keys"] == ["lst-secret-bbb", "lst-secret-ccc"]
        assert not any(s in visible_text(dialog) for s in STORED)
        dialog.close()
