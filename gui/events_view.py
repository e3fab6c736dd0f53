"""Events tab: the selected bundle's history, newest first, with date and time.

The history is core's (:mod:`core.history`): lifecycle events with their
reasons and configuration changes, kept across relaunches. The tab reads it
when a bundle is selected and appends each new record the store announces.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gui.badge import badge_colors
from gui.formatting import first_line, plain_tip

Key = tuple[str, str]
MAX_EVENTS = 300

#: how a config change arrived, as the tab words it
CHANNEL_TEXT = {"gui": "the window", "cli": "the CLI", "gateway": "the gateway", "api": "the API"}


class EventHistory:
    """The Events tab's source: core's history store, once the window is attached."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self._limit = limit
        self.store: Any = None

    def attach(self, store: Any) -> None:
        self.store = store

    def get(self, ws_id: str, server_name: str) -> list[Any]:
        if self.store is None:
            return []
        return list(self.store.for_bundle(ws_id, server_name, limit=self._limit))


def describe_event(event: Any) -> str:
    if event.kind == "transition":
        return f"{event.previous} → {event.state}"
    if event.kind == "setup":
        return "setup needed" if event.error else "setup complete"
    if event.kind == "config":
        return "settings changed"
    if event.kind == "update":
        return "updated"
    if event.kind == "rollback":
        return "rolled back"
    return str(event.kind)


def event_detail(event: Any) -> str:
    """The reason of a transition; for a settings change, the keys, who and how."""
    if event.kind == "config":
        keys = ", ".join(event.keys) or "all settings cleared"
        via = CHANNEL_TEXT.get(event.via or "", event.via or "?")
        return f"{keys} · by {event.user or '?'} through {via}"
    if event.kind in ("update", "rollback") and event.keys:
        return f"{event.error} · settings dropped: {', '.join(event.keys)}"
    return event.error or ""


class EventsView(QWidget):
    """Newest-first list: date and time, change, detail (texts are redacted by core)."""

    def __init__(self, history: EventHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self._key: Key | None = None
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("eventsTree")
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setHeaderLabels(["Time", "Change", "Detail"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setFocusProxy(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tree)

    def set_key(self, key: Key | None) -> None:
        self._key = key
        self.tree.clear()
        if key is not None:
            for event in self.history.get(*key):
                self._insert(event)

    def on_event(self, event: Any) -> None:
        if self._key == (event.ws_id, event.server_name):
            self._insert(event)

    def _insert(self, event: Any) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.at))
        detail = event_detail(event)
        item = QTreeWidgetItem([stamp, describe_event(event), first_line(detail, 300)])
        item.setToolTip(2, plain_tip(detail) or "")
        millis = f".{int((event.at % 1) * 1000):03d}"
        item.setToolTip(
            0, time.strftime("%A %d %B %Y, %H:%M:%S", time.localtime(event.at)) + millis
        )
        if event.kind == "transition":
            fg, _fill = badge_colors(str(event.state), self.palette())
            item.setForeground(1, fg)
        elif event.kind == "setup" and event.error:
            fg, _fill = badge_colors("setup", self.palette())
            item.setForeground(1, fg)
        else:
            muted = QColor(self.palette().color(QPalette.ColorRole.Text))
            muted.setAlpha(150)
            item.setForeground(1, muted)
        item.setData(0, Qt.ItemDataRole.UserRole, event)
        self.tree.insertTopLevelItem(0, item)
        while self.tree.topLevelItemCount() > MAX_EVENTS:
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)

    def rows(self) -> list[str]:
        """Change column, newest first (for tests)."""
        return [self.tree.topLevelItem(i).text(1) for i in range(self.tree.topLevelItemCount())]
