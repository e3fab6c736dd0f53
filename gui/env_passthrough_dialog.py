"""Workspace → Host Environment…: which extra host variables bundles may see.

Bundles get an allowlist of the console's environment (core.launch), proxy and
CA variables included. Behind a corporate network an administrator sometimes
needs one more (a licence server, a custom CA variable): this dialog edits the
global list and the selected workspace's own (``Host.set_env_passthrough``),
the same settings as ``bundle-console passthrough``. Both lists are checked
before either is saved, so a typo never leaves one saved and one not.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.errors import ConsoleError
from core.launch import NETWORK_ENV
from core.settings import clean_env_names

WIDTH = 560
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_names(text: str) -> list[str]:
    """One name per line, or separated by spaces, commas or semicolons."""
    return [part for part in _SEPARATORS.split(text) if part]


class EnvPassthroughDialog(QDialog):
    """Emits :attr:`saved` with (global names, workspace names) once both are stored."""

    saved = Signal(list, list)

    def __init__(self, host: Any, ws_id: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("envPassthroughDialog")
        self.setWindowTitle("Host Environment")
        self.setMinimumWidth(WIDTH)
        self.host, self.ws_id = host, ws_id
        layout = QVBoxLayout(self)
        always = sorted(n for n in NETWORK_ENV if n.isupper())
        intro = QLabel(
            "Bundles see only an allowlist of this console's environment (PATH, HOME, "
            "LANG, ...). Proxy and CA variables always pass, in upper and lower case: "
            f"{', '.join(always)}.\n\nList more host variables to pass, one per line or "
            "separated by spaces. A bundle's manifest still wins for a variable it sets. "
            "Changes apply at each bundle's next start or restart.",
            self,
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setMinimumHeight(intro.heightForWidth(WIDTH - 30))  # top-level wrap: no clipping
        layout.addWidget(intro)

        self.global_edit = self._editor("envPassthroughGlobal", host.env_passthrough())
        layout.addWidget(self._label("For every workspace:", self.global_edit))
        layout.addWidget(self.global_edit)
        self.ws_edit: QPlainTextEdit | None = None
        if ws_id is not None:
            name = host.workspace(ws_id).name
            self.ws_edit = self._editor("envPassthroughWorkspace", host.env_passthrough(ws_id))
            layout.addWidget(self._label(f"Only for workspace “{name}”:", self.ws_edit))
            layout.addWidget(self.ws_edit)

        self.error = QLabel(self)
        self.error.setObjectName("problems")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # quotes what was typed
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _editor(self, name: str, names: list[str]) -> QPlainTextEdit:
        edit = QPlainTextEdit("\n".join(names), self)
        edit.setObjectName(name)
        edit.setTabChangesFocus(True)
        edit.setPlaceholderText("e.g. CORP_LICENSE_SERVER")
        edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 5 + 12)
        return edit

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        return label

    def save(self) -> bool:
        """Check both lists, then store them; a problem stays in the dialog, nothing saved."""
        global_names = parse_names(self.global_edit.toPlainText())
        ws_names = parse_names(self.ws_edit.toPlainText()) if self.ws_edit is not None else []
        try:
            clean_env_names(global_names)
            clean_env_names(ws_names)
            stored_global = self.host.set_env_passthrough(global_names)
            stored_ws = (
                self.host.set_env_passthrough(ws_names, self.ws_id)
                if self.ws_id is not None
                else []
            )
        except ConsoleError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return False
        self.saved.emit(stored_global, stored_ws)
        self.accept()
        return True


def open_env_passthrough(window: Any) -> EnvPassthroughDialog | None:
    """Open the dialog for the window's host and workspace (``open()``: no nested loop)."""
    host = getattr(window, "host", None)
    if host is None:
        return None
    dialog = EnvPassthroughDialog(host, window.current_ws_id, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def done(global_names: list[str], ws_names: list[str]) -> None:
        names = [*global_names, *(n for n in ws_names if n not in global_names)]
        passed = ", ".join(names) if names else "no extra variables"
        window.show_status(f"Host environment: {passed}. Applies at each bundle's next start.")

    dialog.saved.connect(done)
    window._dialog = dialog
    dialog.open()
    return dialog
