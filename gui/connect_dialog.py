""" "Connect a client…": the exact config each AI client needs for one workspace.

One tab per client (Claude Desktop, Claude Code, Cursor, VS Code, any stdio
client) with the text to copy and what the client needs afterwards (a
restart or not). Where the client's config file exists, "Add to …" merges
the entry in: the change is shown first as a diff, and only "Write" writes,
atomically, with a backup, keeping every other entry. Files that are not
valid JSON are refused and left alone. The text comes from
:mod:`core.clients`, so the dialog and any script agree.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.clients import CLIENTS, MergePlan, Snippet, apply_merge, plan_merge, snippets
from core.clients.merge import MergeError
from core.clients.snippets import server_key
from gui.configure_dialog import Banner

log = logging.getLogger(__name__)


class ClientTab(QWidget):
    """One client's snippet, Copy, and (where its file exists) Add to …."""

    def __init__(self, snippet: Snippet, ws_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.snippet = snippet
        self.ws_name = ws_name
        self.plan: MergePlan | None = None
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        intro = QLabel(self._intro(), self)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.text = QPlainTextEdit(snippet.text, self)
        self.text.setObjectName(f"snippet_{snippet.client}")
        self.text.setReadOnly(True)
        self.text.setFont(fixed)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setObjectName(f"copy_{snippet.client}")
        self.copy_button.clicked.connect(self.copy)
        restart = QLabel(snippet.restart, self)
        restart.setObjectName("hint")
        restart.setWordWrap(True)
        self.banner = Banner(self)
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName(f"preview_{snippet.client}")
        self.preview.setReadOnly(True)
        self.preview.setFont(fixed)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.preview.hide()
        self.add_button = QPushButton(self)
        self.add_button.setObjectName(f"add_{snippet.client}")
        self.write_button = QPushButton("Write", self)
        self.write_button.setObjectName(f"write_{snippet.client}")
        self.write_button.hide()
        self.discard_button = QPushButton("Don't write", self)
        self.discard_button.hide()
        self.add_button.clicked.connect(self.propose)
        self.write_button.clicked.connect(self.write)
        self.discard_button.clicked.connect(self.discard)

        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addStretch(1)
        row.addWidget(self.discard_button)
        row.addWidget(self.write_button)
        row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(restart)
        layout.addLayout(row)
        layout.addWidget(self.banner)
        layout.addWidget(self.preview, 1)
        self._sync_add()

    def _intro(self) -> str:
        s = self.snippet
        if s.client == "claude-code":
            return "Run this once in a terminal:"
        if s.client == "generic":
            return "Configure a stdio MCP server with this command and these arguments:"
        where = f" ({s.config_path})" if s.config_path else ""
        return f'Put this under "{s.servers_key}" in {s.title}\'s config file{where}:'

    def _sync_add(self) -> None:
        path = self.snippet.config_path
        if path is None or self.snippet.entry is None:
            self.add_button.hide()
            return
        self.add_button.setText(f"Add to {path.name}…")
        exists = path.is_file()
        self.add_button.setEnabled(exists)
        self.add_button.setToolTip(
            f"Merge into {path}, keeping every other entry"
            if exists
            else f"{path} does not exist: open {self.snippet.title} once, or copy the text in."
        )

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.snippet.text)
        self.banner.show_message("ok", "Copied to the clipboard.")

    def propose(self) -> None:
        """Show what the file would become; nothing is written yet."""
        s = self.snippet
        assert s.config_path is not None and s.servers_key is not None and s.entry is not None
        try:
            self.plan = plan_merge(s.config_path, s.servers_key, server_key(self.ws_name), s.entry)
        except MergeError as exc:
            self.plan = None
            self.banner.show_message("error", str(exc))
            return
        if not self.plan.changes:
            self.banner.show_message("ok", f"{s.config_path} already has this entry.")
            self.plan = None
            return
        verb = "replace the entry of that name in" if self.plan.replaces else "add one entry to"
        self.banner.show_message(
            "warn", f"This will {verb} {s.config_path}. Every other entry is kept."
        )
        self.preview.setPlainText(self.plan.diff)
        self.preview.show()
        self.write_button.show()
        self.discard_button.show()
        self.add_button.hide()

    def write(self) -> None:
        if self.plan is None:
            return
        try:
            backup = apply_merge(self.plan)
        except MergeError as exc:
            self.banner.show_message("error", str(exc))
        else:
            kept = f" The previous file is kept as {backup}." if backup else ""
            self.banner.show_message(
                "ok", f"Written to {self.plan.path}.{kept} {self.snippet.restart}"
            )
            log.info("added %s to %s", server_key(self.ws_name), self.plan.path)
        self._end_preview()

    def discard(self) -> None:
        self.banner.show_message("info", "Nothing written.")
        self._end_preview()

    def _end_preview(self) -> None:
        self.plan = None
        self.preview.hide()
        self.write_button.hide()
        self.discard_button.hide()
        self.add_button.show()
        self._sync_add()


class ConnectDialog(QDialog):
    """Per workspace; opened from the workspace list and the Workspace menu."""

    def __init__(
        self,
        ws_name: str,
        data_dir: Path | None,
        *,
        executable: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connectDialog")
        self.setWindowTitle(f"Connect a client to {ws_name}")
        self.snippets = snippets(ws_name, data_dir, executable)
        title = QLabel(f"Use the “{ws_name}” workspace from an AI client", self)
        title.setObjectName("dialogTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        hint = QLabel(
            "The client starts Bundle Console's relay, which reaches this console (or starts "
            "one in the background) and offers every running bundle of the workspace as one "
            "MCP server. Credentials stay here: the client never sees them.",
            self,
        )
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        self.tabs = QTabWidget(self)
        self.client_tabs: dict[str, ClientTab] = {}
        for client in CLIENTS:
            tab = ClientTab(self.snippets[client], ws_name, self)
            self.client_tabs[client] = tab
            self.tabs.addTab(tab, self.snippets[client].title)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(720, 520)


def open_connect_dialog(parent: QWidget, host: Any, ws_id: str) -> ConnectDialog:
    """Build and ``open()`` (never ``exec()``) the dialog for one workspace."""
    ws = host.workspace(ws_id)
    dialog = ConnectDialog(ws.name, host.data_dir, parent=parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
