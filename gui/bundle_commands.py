"""Start, Stop, Restart, Configure and Protected for the selected bundle.

Each reports what core answered in the status bar.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from typing import Any

from gui.bundle_model import LABEL_ROLE, Column
from gui.configure_dialog import ConfigureDialog
from gui.formatting import error_text
from gui.tasks import async_slot


class BundleCommandsMixin:
    """Part of the main window (see the module docstring)."""

    def _bundle_icon(self, ws_id: str, server_name: str) -> Any:
        """The manifest's icon for the table's name column (None: it has none)."""
        from PySide6.QtGui import QIcon

        from gui.bundle_details_view import pixmap_from

        try:
            pixmap = pixmap_from(self.host.bundle_icon(ws_id, server_name, 16), 32)
        except Exception:
            return None
        return QIcon(pixmap) if pixmap is not None else None

    def _label_of(self, key: tuple[str, str]) -> str:
        row = self.bundles.row_for(*key)
        if row is None:
            return key[1]
        return str(self.bundles.index(row, Column.NAME).data(LABEL_ROLE).display_name)

    @async_slot()
    async def start_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Starting {label}…")
        result = await self.lc.start_bundle(key[1], key[0])
        self._report(label, "started", result)

    @async_slot()
    async def stop_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Stopping {label}…")
        result = await self.lc.stop_bundle(key[1], key[0])
        self._report(label, "stopped", result)

    @async_slot()
    async def restart_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Restarting {label}…")
        result = await self.lc.respawn_bundle(key[1], key[0])
        self._report(label, "restarted", result)

    def _report(self, label: str, verb: str, result: Any) -> None:
        if result.ok:
            self.show_status(f"{label} {verb}.")
        elif result.outcome == "needs_setup":
            self.show_status(f"{label} needs setup: {result.error}", error=True)
        elif result.outcome == "protected":
            self.show_status(f"{label} is protected: {result.error}", error=True)
        elif result.outcome == "stopped":  # a Stop asked for later won: not a failure
            self.show_status(f"{label} was stopped before it was {verb}, as asked.")
        else:
            self.show_status(f"{label} could not be {verb}: {result.error}", error=True)

    def open_configure(self) -> None:
        """Open Configure with ``open()`` (never ``exec()``: no nested loop)."""
        key = self.current_key()
        if key is None or self.host is None:
            return
        try:
            dialog = ConfigureDialog(self.host, key[0], key[1], self)
        except Exception as exc:
            self.show_status(f"Cannot configure {key[1]}: {error_text(exc)}", error=True)
            return
        dialog.saved.connect(lambda _res, text, k=key: self._after_configure(k, text))
        dialog.finished.connect(dialog.deleteLater)
        self.configure_dialog = dialog
        dialog.open()

    def _after_configure(self, key: tuple[str, str], text: str) -> None:
        self.bundles.refresh_row(*key)
        self.show_status(f"{self._label_of(key)}: {text}.")

    def set_protected(self, protected: bool) -> None:
        """The Protected toggle: core saves the flag; the lock and actions follow."""
        key = self.current_key()
        if key is None or self.host is None:
            return
        try:
            self.host.set_protected(key[0], key[1], protected, via="gui")
        except Exception as exc:
            self.show_status(f"Cannot change protection: {error_text(exc)}", error=True)
        else:
            label = self._label_of(key)
            self.show_status(
                f"{label} is protected: restarts and uninstall are refused."
                if protected
                else f"{label} is no longer protected."
            )
        self.bundles.refresh_row(key[0], key[1])
        self._sync_actions()
