"""Events tab: a timeline of lifecycle events for the selected bundle.

Core publishes events but keeps no history, so the GUI records what the
bridge delivers (bounded per bundle) from the moment it subscribed.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gui.badge import badge_colors
from gui.formatting import first_line, plain_tip

Key = tuple[str, str]
MAX_EVENTS = 300


class EventHistory:
    """Recent events per ``(ws_id, server_name)``, oldest first."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self._limit = limit
        self._events: dict[Key, collections.deque[Any]] = {}

    def add(self, event: Any) -> None:
        key = (event.ws_id, event.server_name)
        self._events.setdefault(key, collections.deque(maxlen=self._limit)).append(event)

    def get(self, ws_id: str, server_name: str) -> list[Any]:
        return list(self._events.get((ws_id, server_name), ()))

    def forget(self, ws_id: str, server_name: str | None = None) -> None:
        for key in [k for k in self._events if k[0] == ws_id and server_name in (None, k[1])]:
            del self._events[key]


def describe_event(event: Any) -> str:
    if event.kind == "transition":
        return f"{event.previous} → {event.state}"
    if event.kind == "setup":
        return "setup needed" if event.error else "setup complete"
    return str(event.kind)


class EventsView(QWidget):
    """Newest-first list: time, change, detail (errors are already redacted by core)."""

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
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        stamp += f".{int((event.at % 1) * 1000):03d}"
        detail = event.error or ""
        item = QTreeWidgetItem([stamp, describe_event(event), first_line(detail, 300)])
        item.setToolTip(2, plain_tip(detail) or "")
        item.setToolTip(0, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.at)))
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
