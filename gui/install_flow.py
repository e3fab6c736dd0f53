"""Install and Uninstall: the file dialogs, the signature override and the confirmations.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import SignatureError
from gui.formatting import error_text
from gui.install_error import show_install_error
from gui.tasks import async_slot


class InstallFlowMixin:
    """Part of the main window (see the module docstring)."""

    def ask_install(self, *, folder: bool) -> None:
        if self.current_ws_id is None:
            return
        ws_id = self.current_ws_id
        if folder:
            dlg = QFileDialog(self, "Install bundle from folder")
            dlg.setFileMode(QFileDialog.FileMode.Directory)
            dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dlg = QFileDialog(self, "Install bundle")
            dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
            dlg.setNameFilters(["MCP bundles (*.mcpb manifest.json)", "All files (*)"])
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.fileSelected.connect(lambda path: self.install(ws_id, path))
        self._dialog = dlg
        dlg.open()

    @async_slot(str, str)
    async def install(self, ws_id: str, path: str, allow_invalid_signature: bool = False) -> None:
        """Install a ``.mcpb``, a folder, or the folder of a chosen ``manifest.json``."""
        source = Path(path)
        if source.name == "manifest.json":
            source = source.parent
        self.show_status(f"Installing {source.name}…")
        try:
            inst = await self.host.install_bundle(
                ws_id, source, allow_invalid_signature=allow_invalid_signature
            )
        except SignatureError as exc:
            self.show_status(f"Install refused: {error_text(exc)}", error=True)
            self._ask_signature_override(ws_id, path, str(exc))
            return
        except Exception as exc:
            self.show_status(f"Install failed: {error_text(exc)}", error=True)
            self._dialog = show_install_error(self, source, exc)
            return
        label = self._label_of((ws_id, inst.server_name))
        hint = " It needs setup: use Configure…" if inst.needs_setup else " Press Start to run it."
        signature = self.host.signature(ws_id, inst.server_name)
        signed = f" {signature.summary}." if signature is not None else ""
        self.show_status(f"Installed {label}.{signed}{hint}")
        if ws_id == self.current_ws_id:
            self.select_bundle(inst.server_name)

    def _ask_signature_override(self, ws_id: str, path: str, reason: str) -> None:
        """An invalid signature installs only after an explicit, default-No confirmation."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Invalid Signature",
            "This bundle's signature does not match its contents: it was changed after "
            "it was signed, or the signature is damaged.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText(
            "Install it anyway only if you trust where it came from. The override is recorded."
        )
        box.setDetailedText(reason)
        anyway = box.addButton("Install Anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda b: b is anyway and self.install(ws_id, path, allow_invalid_signature=True)
        )
        self._dialog = box
        box.open()

    def ask_uninstall(self) -> None:
        key = self.current_key()
        if key is None:
            return
        label = self._label_of(key)
        ws_name = self.workspaces.name_of(key[0]) or key[0]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Uninstall Bundle",
            f"Uninstall {label} from workspace “{ws_name}”?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText("The bundle is stopped and its stored settings are removed.")
        box.setTextFormat(Qt.TextFormat.PlainText)  # the label is the bundle's display name
        uninstall = box.addButton("Uninstall", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: b is uninstall and self.uninstall(key[0], key[1]))
        self._dialog = box
        box.open()

    @async_slot(str, str)
    async def uninstall(self, ws_id: str, server_name: str) -> None:
        label = self._label_of((ws_id, server_name))
        self.show_status(f"Uninstalling {label}…")
        try:
            await self.host.uninstall_bundle(ws_id, server_name)
        except Exception as exc:
            self.show_status(f"Uninstall failed: {error_text(exc)}", error=True)
            return
        self.show_status(f"Uninstalled {label}.")
