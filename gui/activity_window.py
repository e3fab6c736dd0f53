"""Clients and calls: who is connected to which workspace, and every recorded call.

Opened from View → Clients and Calls…. Both halves are pushed from core: the
gateway publishes a change whenever a client connects, disconnects, or starts
or ends a call (the clients table re-reads ``gateway.clients`` then), and the
call log publishes every record (appended to the calls table). History comes
from the record file at open, so it survives a relaunch.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.calls_view import CallsView
from gui.formatting import format_duration

CLIENT_COLUMNS = ("Client", "Workspace", "Connected", "Calls", "Errors", "In flight")


def _item(text: str, *, number: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ActivityWindow(QWidget):
    """A top-level window; :meth:`attach` points it at the gateway (None: not running)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("activityWindow")
        self.setWindowTitle("Clients and calls — Bundle Console")
        self.clients = QTableWidget(0, len(CLIENT_COLUMNS), self)
        self.clients.setObjectName("clientsTable")
        self.clients.setHorizontalHeaderLabels(CLIENT_COLUMNS)
        self.clients.verticalHeader().hide()
        self.clients.setTabKeyNavigation(False)
        self.clients.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.clients.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.empty = QLabel("No AI client is connected.", self)
        self.empty.setObjectName("hint")
        self.calls = CallsView(self)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Connected clients", top)
        title.setObjectName("sectionTitle")
        top_layout.addWidget(title)
        top_layout.addWidget(self.empty)
        top_layout.addWidget(self.clients, 1)
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        calls_title = QLabel("Calls", bottom)
        calls_title.setObjectName("sectionTitle")
        bottom_layout.addWidget(calls_title)
        bottom_layout.addWidget(self.calls, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.gateway: Any = None
        self._unsubscribe: list[Any] = []
        # "Connected 3 min" ages even when nothing happens.
        self._clock = QTimer(self)
        self._clock.setInterval(5000)
        self._clock.timeout.connect(self.refresh_clients)
        self.resize(900, 600)
        self.refresh_clients()

    def attach(self, gateway: Any, history: list[dict[str, Any]] | None = None) -> None:
        self.detach()
        self.gateway = gateway
        if gateway is None:
            self.empty.setText("The gateway is not running: AI clients cannot connect.")
            self.refresh_clients()
            return
        self.empty.setText("No AI client is connected.")
        if history:
            self.calls.add(history)
        self._unsubscribe.append(gateway.calls.subscribe(self._on_record))
        subscribe = getattr(gateway, "subscribe_clients", None)
        if subscribe is not None:
            self._unsubscribe.append(subscribe(self.refresh_clients))
        self._clock.start()
        self.refresh_clients()

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._clock.stop()
        self.gateway = None

    def _on_record(self, record: Any) -> None:
        self.calls.add([record])

    def client_rows(self) -> list[tuple[str, ...]]:
        now = time.time()
        rows = []
        clients = list(getattr(self.gateway, "clients", ()) or ())
        for client in sorted(clients, key=lambda c: getattr(c, "connected_at", 0.0)):
            name = getattr(client, "name", "") or "(not initialised yet)"
            version = getattr(client, "version", "")
            since = getattr(client, "connected_at", None)
            rows.append(
                (
                    f"{name} {version}".strip(),
                    str(getattr(client, "ws_name", "")),
                    format_duration(now - since) if since else "",
                    str(getattr(client, "calls", 0)),
                    str(getattr(client, "errors", 0)),
                    str(getattr(client, "in_flight", 0)),
                )
            )
        return rows

    def refresh_clients(self, *_: Any) -> None:
        rows = self.client_rows()
        self.clients.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.clients.setItem(r, c, _item(text, number=c >= 3))
        self.empty.setVisible(not rows)
        self.clients.setVisible(bool(rows))

    def closeEvent(self, event: Any) -> None:
        self._clock.stop()
        super().closeEvent(event)

    def showEvent(self, event: Any) -> None:
        if self.gateway is not None:
            self._clock.start()
            self.refresh_clients()
        super().showEvent(event)
