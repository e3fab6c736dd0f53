"""Recorded gateway calls: a filterable, exportable table, fed live by core's call log.

A record is what the gateway writes (core/gateway/records.py): time, workspace,
client name and version, bundle, tool, duration and outcome, never arguments or
results. The view holds the newest :data:`MAX_ROWS` records (the file keeps
more, rotated), filters by client, bundle and outcome, and exports what the
filters show as CSV, chosen with a non-modal file dialog (``open()``, never
``exec()``).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

#: Rows kept in the view; older ones stay in the (rotated) record file.
MAX_ROWS = 5000
COLUMNS = ("Time", "Client", "Workspace", "Bundle", "Tool", "Duration", "Outcome")
#: record keys, in column order (what the CSV export writes)
KEYS = ("at", "client", "workspace_name", "bundle", "tool", "duration_ms", "outcome")
ALL = "All"

Index = QModelIndex | QPersistentModelIndex


def as_record(record: Any) -> dict[str, Any]:
    """A call record as a dict, whether it came as the dataclass or as a JSON line."""
    if isinstance(record, Mapping):
        return dict(record)
    return {key: getattr(record, key, None) for key in (*KEYS, "client_version", "workspace")}


def client_label(record: Mapping[str, Any]) -> str:
    name = str(record.get("client") or "unknown client")
    version = record.get("client_version")
    return f"{name} {version}" if version else name


class CallsModel(QAbstractTableModel):
    """Newest last; appending never resets the model (a live view keeps its selection)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.records: list[dict[str, Any]] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.records[index.row()]
        key = KEYS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(record, key)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            value = record.get(key)
            return value if isinstance(value, int | float) else self.display(record, key)
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "duration_ms":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def display(record: Mapping[str, Any], key: str) -> str:
        value = record.get(key)
        if key == "at" and isinstance(value, int | float):
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
        if key == "duration_ms" and isinstance(value, int | float):
            return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
        if key == "client":
            return client_label(record)
        return "" if value is None else str(value)

    def add(self, records: Iterable[Any]) -> None:
        new = [as_record(r) for r in records]
        if not new:
            return
        overflow = len(self.records) + len(new) - MAX_ROWS
        if overflow > 0:
            drop = min(overflow, len(self.records))
            if drop:
                self.beginRemoveRows(QModelIndex(), 0, drop - 1)
                del self.records[:drop]
                self.endRemoveRows()
            new = new[-MAX_ROWS:]
        first = len(self.records)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self.records.extend(new)
        self.endInsertRows()


class CallsFilter(QSortFilterProxyModel):
    """Keeps rows matching the chosen client, bundle and outcome (None: any)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.wanted: dict[str, str | None] = {"client": None, "bundle": None, "outcome": None}
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, key: str, value: str | None) -> None:
        self.beginFilterChange()
        self.wanted[key] = value
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, CallsModel)
        record = model.records[row]
        for key, value in self.wanted.items():
            if value is None:
                continue
            shown = client_label(record) if key == "client" else str(record.get(key) or "")
            if shown != value:
                return False
        return True

    def visible_records(self) -> list[dict[str, Any]]:
        model = self.sourceModel()
        assert isinstance(model, CallsModel)
        return [
            model.records[self.mapToSource(self.index(row, 0)).row()]
            for row in range(self.rowCount())
        ]


def write_csv(path: str, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` as CSV (ISO times, milliseconds); returns the row count."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "time",
                "client",
                "client_version",
                "workspace",
                "bundle",
                "tool",
                "duration_ms",
                "outcome",
            ]
        )
        for record in records:
            at = record.get("at")
            when = (
                time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at))
                if isinstance(at, int | float)
                else ""
            )
            writer.writerow(
                [
                    when,
                    record.get("client") or "",
                    record.get("client_version") or "",
                    record.get("workspace_name") or record.get("workspace") or "",
                    record.get("bundle") or "",
                    record.get("tool") or "",
                    record.get("duration_ms") if record.get("duration_ms") is not None else "",
                    record.get("outcome") or "",
                ]
            )
            count += 1
    return count


class CallsView(QWidget):
    """Filters on top, the table, and Export CSV…."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CallsModel(self)
        self.proxy = CallsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("callsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.filters: dict[str, QComboBox] = {}
        bar = QHBoxLayout()
        for key, label in (("client", "Client"), ("bundle", "Bundle"), ("outcome", "Outcome")):
            combo = QComboBox(self)
            combo.setObjectName(f"callsFilter_{key}")
            combo.addItem(ALL)
            combo.setMinimumContentsLength(12)
            combo.currentTextChanged.connect(
                lambda text, k=key: self.proxy.set_filter(k, None if text == ALL else text)
            )
            caption = QLabel(f"{label}:", self)
            caption.setBuddy(combo)
            bar.addWidget(caption)
            bar.addWidget(combo)
            self.filters[key] = combo
        bar.addStretch(1)
        self.count = QLabel(self)
        self.count.setObjectName("hint")
        bar.addWidget(self.count)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setObjectName("exportCalls")
        self.export_button.clicked.connect(self.choose_export)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.export_dialog: QFileDialog | None = None
        self.last_export: tuple[str, int] | None = None
        for signal in (
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.layoutChanged,
            self.proxy.modelReset,
        ):
            signal.connect(self._count)
        self._count()

    def add(self, records: Iterable[Any]) -> None:
        records = [as_record(r) for r in records]
        self.model.add(records)
        for record in records:
            for key, combo in self.filters.items():
                value = client_label(record) if key == "client" else str(record.get(key) or "")
                if value and combo.findText(value) < 0:
                    combo.addItem(value)

    def _count(self, *_: Any) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total} calls" if shown != total else f"{total} calls")
        self.export_button.setEnabled(shown > 0)

    def choose_export(self) -> None:
        dialog = QFileDialog(self, "Export calls as CSV")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("bundle-console-calls.csv")
        dialog.fileSelected.connect(self.export_to)
        self.export_dialog = dialog
        dialog.open()

    def export_to(self, path: str) -> int:
        try:
            count = write_csv(path, self.proxy.visible_records())
        except OSError as exc:
            self.count.setText(f"Export failed: {exc.strerror or exc}")
            return 0
        self.last_export = (path, count)
        self.count.setText(f"Exported {count} calls to {path}")
        return count
