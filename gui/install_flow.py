"""Install, Update, Roll Back and Uninstall: the file dialogs, the signature override,
the update offer and the confirmations.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import InstallError, ManifestError, SignatureError
from gui.formatting import error_text
from gui.install_error import show_install_error
from gui.tasks import async_slot
from gui.update_dialog import UpdateDialog


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
    async def install(
        self, ws_id: str, path: str, allow_invalid_signature: bool = False, copy: bool = False
    ) -> None:
        """Install a ``.mcpb``, a folder, or the folder of a chosen ``manifest.json``.

        A bundle the workspace already has is offered as an Update (see
        :meth:`_offer_update`) unless ``copy`` says "Install as Second Copy".
        """
        source = Path(path)
        if source.name == "manifest.json":
            source = source.parent
        self.show_status(f"Installing {source.name}…")
        if not copy and await self._offer_update(ws_id, source, allow_invalid_signature):
            return
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

    async def _offer_update(self, ws_id: str, source: Path, allow_invalid: bool) -> bool:
        """Open the Update dialog when ``source`` is installed already (True: it opened).

        A source that fails a check is left to the install below, which reports it;
        any other problem (an unreadable credential file...) stops here: installing a
        second copy instead of the update would be the duplicate this offer prevents.
        """
        try:
            plan = await self.host.plan_update(ws_id, source, allow_invalid_signature=allow_invalid)
        except (InstallError, ManifestError):
            return False
        except Exception as exc:
            self.show_status(f"Cannot update from {source.name}: {error_text(exc)}", error=True)
            self._dialog = show_install_error(self, source, exc)
            return True
        if plan is None:
            return False
        dialog = UpdateDialog(plan, self.workspaces.name_of(ws_id) or ws_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(
            lambda choice: (
                self.update_bundle(ws_id, plan.server_name, str(source), allow_invalid)
                if choice == "update"
                else self.install(ws_id, str(source), allow_invalid, True)
            )
        )
        dialog.rejected.connect(lambda: self.show_status("Install cancelled."))
        self.show_status(f"{plan.label} is installed already: update it, or install a copy.")
        self._dialog = dialog
        dialog.open()
        return True

    @async_slot(str, str, str)
    async def update_bundle(
        self, ws_id: str, server_name: str, path: str, allow_invalid_signature: bool = False
    ) -> None:
        """Update in place (core respawns a live bundle) and say how the restart went."""
        label = self._label_of((ws_id, server_name))
        self.show_status(f"Updating {label}…")
        try:
            result = await self.host.update_bundle(
                ws_id, server_name, path, allow_invalid_signature=allow_invalid_signature
            )
        except Exception as exc:
            self.show_status(f"Update failed: {error_text(exc)}", error=True)
            self._dialog = show_install_error(self, Path(path), exc)
            return
        self._after_version_change(ws_id, server_name, result)

    @async_slot()
    async def rollback_selected(self) -> None:
        key = self.current_key()
        if key is None or self.host is None:
            return
        label = self._label_of(key)
        self.show_status(f"Rolling back {label}…")
        try:
            result = await self.host.rollback_bundle(*key)
        except Exception as exc:
            self.show_status(f"Roll back failed: {error_text(exc)}", error=True)
            return
        self._after_version_change(*key, result)

    def _after_version_change(self, ws_id: str, server_name: str, result: object) -> None:
        plan = result.plan  # type: ignore[attr-defined]
        self.bundles.relabel(ws_id, server_name)
        if self.detail.key == (ws_id, server_name):
            self.detail.details.show_key((ws_id, server_name))
            self.detail.refresh()
        self._sync_actions()
        done = {"update": "Updated", "replace": "Replaced", "rollback": "Rolled back"}[plan.kind]
        change = (
            plan.old_version
            if plan.kind == "replace"
            else f"{plan.old_version} → {plan.new_version}"
        )
        text = f"{done} {plan.label} {change}"
        outcome = result.outcome  # type: ignore[attr-defined]
        respawn = result.config.respawn  # type: ignore[attr-defined]
        if outcome == "respawned":
            text += "; restarted with its settings"
        elif outcome == "needs_setup" or plan.diff.needs_setup:
            manifest = self.host.manifest(ws_id, server_name)
            names = ", ".join(manifest.field_label(k) for k in plan.diff.needs_setup)
            names = names or "a required setting"
            text += f"; it needs setup ({names}): use Configure…"
        elif outcome != "saved_stopped":
            why = respawn.error if respawn is not None and respawn.error else outcome
            text += f"; it could not restart: {why}"
        dropped = len(plan.diff.dropped)
        if dropped:
            text += f"; {dropped} dropped setting{'s' if dropped > 1 else ''} (see Events)"
        previous = result.previous_version  # type: ignore[attr-defined]
        if previous and plan.kind != "rollback":
            text += f". Roll Back returns to {previous}"
        failed = outcome not in ("respawned", "saved_stopped", "needs_setup")
        self.show_status(text + ".", error=failed)
        if ws_id == self.current_ws_id:
            self.select_bundle(server_name)

    def _sync_rollback(self) -> None:
        """Roll Back is offered while the selected bundle keeps a previous version."""
        key = self.current_key()
        previous = None
        if key is not None and self.host is not None:
            try:
                previous = self.host.previous_version(*key)
            except Exception:  # uninstalled meanwhile
                previous = None
        inst = self.current_instance()
        self.bundle_actions.set_rollback(previous, bool(inst is not None and inst.protected))

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
