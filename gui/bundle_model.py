"""The bundle table: one row per installed bundle, across every workspace.

Rows are keyed by ``(ws_id, server_name)``; the proxy shows one workspace at
a time, so switching workspaces is a filter change and lifecycle events only
ever touch the row they name (``dataChanged``), never the whole table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from gui.badge import BADGE_ROLE, SEVERITY, Badge, badge_for
from gui.formatting import first_line, format_duration, plain_tip, uptime_seconds

Index = QModelIndex | QPersistentModelIndex
Key = tuple[str, str]  # (ws_id, server_name)

#: Role returning the row's ``(ws_id, server_name)`` key.
KEY_ROLE = Qt.ItemDataRole.UserRole + 11
#: Role returning the live ``BundleInstance``.
INSTANCE_ROLE = Qt.ItemDataRole.UserRole + 12
#: Role returning a value the proxy sorts by (numbers sort as numbers).
SORT_ROLE = Qt.ItemDataRole.UserRole + 13
#: Role returning the row's :class:`Label` (name column).
LABEL_ROLE = Qt.ItemDataRole.UserRole + 14


class Column(IntEnum):
    NAME = 0
    STATUS = 1
    UPTIME = 2
    RESTARTS = 3
    CALLS = 4  # gui.bundle_activity: the gateway's calls to this bundle
    CALL_ERROR = 5
    ERROR = 6


HEADERS = {
    Column.NAME: "Bundle",
    Column.STATUS: "Status",
    Column.UPTIME: "Uptime",
    Column.RESTARTS: "Restarts",
    Column.CALLS: "Calls",
    Column.CALL_ERROR: "Last call error",
    Column.ERROR: "Last error",
}


class Label(NamedTuple):
    """How a row names its bundle: manifest display name and version, plus the
    server name when it differs from the package name (two copies of one bundle)."""

    display_name: str
    version: str
    alias: str = ""
    #: the manifest's icon (a QIcon), shown before the name; None when it has none
    icon: Any = None


@dataclass
class Row:
    ws_id: str
    server_name: str
    label: Label
    inst: Any  # core BundleInstance, read live

    @property
    def key(self) -> Key:
        return (self.ws_id, self.server_name)


#: ``(ws_id, server_name) -> Label``, supplied by the window from the manifest.
Describe = Callable[[str, str], Label]
#: ``(server_name, ws_id) -> BundleInstance | None`` (``lc.get_instance``).
Lookup = Callable[[str, str], Any]


class BundleTableModel(QAbstractTableModel):
    """Table over lifecycle instances; fed by :class:`gui.bridge.LifecycleBridge` events."""

    #: ``(ws_id, server_name, badge_kind)`` each time a row's badge changes kind.
    badgeChanged = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._pos: dict[Key, int] = {}
        self._kinds: dict[Key, str] = {}
        self._lookup: Lookup | None = None
        self._describe: Describe | None = None
        #: live call counts (gui.bundle_activity.BundleActivity), set by the window
        self.activity: Any = None

    # -- feeding -----------------------------------------------------------

    def attach(self, instances: Iterable[Any], lookup: Lookup, describe: Describe) -> None:
        """Load the initial rows (once, when core is open)."""
        self._lookup = lookup
        self._describe = describe
        self.beginResetModel()
        self._rows = [self._make_row(inst) for inst in instances]
        self._reindex()
        self._kinds = {r.key: badge_for(r.inst).kind for r in self._rows}
        self.endResetModel()

    def _make_row(self, inst: Any) -> Row:
        label = Label(inst.server_name, "")
        if self._describe is not None:
            try:
                label = self._describe(inst.ws_id, inst.server_name)
            except Exception:  # a broken manifest must not hide the row
                pass
        return Row(inst.ws_id, inst.server_name, label, inst)

    def relabel(self, ws_id: str, server_name: str) -> None:
        """Re-describe a row from its manifest (after an update or a roll back)."""
        i = self._pos.get((ws_id, server_name))
        if i is not None:
            self._rows[i] = self._make_row(self._rows[i].inst)
            self.refresh_row(ws_id, server_name)

    def _reindex(self) -> None:
        self._pos = {row.key: i for i, row in enumerate(self._rows)}

    def on_event(self, event: Any) -> None:
        """Apply one ``LifecycleEvent``: insert, remove, or refresh a single row."""
        key = (event.ws_id, event.server_name)
        if event.kind == "unregistered":
            self.remove_row(*key)
            return
        inst = self._lookup(event.server_name, event.ws_id) if self._lookup else None
        if inst is None:
            return
        if key not in self._pos:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self._rows.append(self._make_row(inst))
            self._reindex()
            self.endInsertRows()
        else:
            self._rows[self._pos[key]].inst = inst
            self.refresh_row(*key)
        self._note_badge(key)

    def remove_row(self, ws_id: str, server_name: str) -> None:
        i = self._pos.get((ws_id, server_name))
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self._reindex()
        self.endRemoveRows()
        self._kinds.pop((ws_id, server_name), None)

    def remove_workspace(self, ws_id: str) -> None:
        for row in [r for r in self._rows if r.ws_id == ws_id]:
            self.remove_row(row.ws_id, row.server_name)

    def refresh_row(self, ws_id: str, server_name: str) -> None:
        i = self._pos.get((ws_id, server_name))
        if i is not None:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(Column) - 1))

    def refresh_cells(self, keys: Any, first: Column, last: Column) -> None:
        """Repaint columns ``first..last`` of the rows of ``keys`` (one signal per row)."""
        for key in keys:
            i = self._pos.get(key)
            if i is not None:
                self.dataChanged.emit(self.index(i, first), self.index(i, last))

    def refresh_clock(self) -> None:
        """Re-render time-dependent cells (uptime, crash countdown) of live rows only."""
        for i, row in enumerate(self._rows):
            state = str(row.inst.state)
            if state == "running":
                idx = self.index(i, Column.UPTIME)
                self.dataChanged.emit(idx, idx)
            elif state == "crashed":
                idx = self.index(i, Column.STATUS)
                self.dataChanged.emit(idx, idx)

    def _note_badge(self, key: Key) -> None:
        i = self._pos.get(key)
        if i is None:
            return
        kind = badge_for(self._rows[i].inst).kind
        if self._kinds.get(key) != kind:
            self._kinds[key] = kind
            self.badgeChanged.emit(key[0], key[1], kind)

    # -- lookups -----------------------------------------------------------

    def key_at(self, row: int) -> Key | None:
        """The key of a source row (a plain call: the proxy filters thousands of rows)."""
        return self._rows[row].key if 0 <= row < len(self._rows) else None

    def row_for(self, ws_id: str, server_name: str) -> int | None:
        return self._pos.get((ws_id, server_name))

    def instance(self, ws_id: str, server_name: str) -> Any:
        i = self._pos.get((ws_id, server_name))
        return self._rows[i].inst if i is not None else None

    def instances(self, ws_id: str) -> list[Any]:
        return [r.inst for r in self._rows if r.ws_id == ws_id]

    def badge(self, ws_id: str, server_name: str) -> Badge | None:
        inst = self.instance(ws_id, server_name)
        return badge_for(inst) if inst is not None else None

    # -- Qt model API ------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        inst = row.inst
        col = Column(index.column())
        if role == KEY_ROLE:
            return row.key
        if role == INSTANCE_ROLE:
            return inst
        if col == Column.NAME:
            return self._name_data(row, role)
        if col in (Column.CALLS, Column.CALL_ERROR):
            if self.activity is None:
                return None
            cell = self.activity.calls_cell if col == Column.CALLS else self.activity.error_cell
            return cell(row.key, role)
        if col == Column.STATUS:
            badge = badge_for(inst)
            if role == BADGE_ROLE:
                return badge
            if role == Qt.ItemDataRole.DisplayRole:
                return badge.text
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tip(badge.tooltip)
            if role == SORT_ROLE:
                return SEVERITY.get(badge.kind, 99)
        if col == Column.UPTIME:
            up = uptime_seconds(inst, time.time())
            if role == Qt.ItemDataRole.DisplayRole:
                return format_duration(up) if up is not None else "—"
            if role == SORT_ROLE:
                return up if up is not None else -1.0
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col == Column.RESTARTS:
            if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
                return int(inst.restarts)
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    f"Crash restarts: {inst.crash_restarts} (automatic, after a crash)\n"
                    f"Respawns: {inst.respawns} (Restart, Save in Configure, CLI)"
                )
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if col == Column.ERROR:
            text = inst.last_error or (inst.needs_setup if str(inst.state) != "running" else None)
            isolation = getattr(inst, "isolation", None)  # core.sandbox, of the live process
            if not text and isolation is not None and not isolation.isolated:
                text = isolation.summary()  # never a silent downgrade
            if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
                return first_line(text)
            if role == Qt.ItemDataRole.ToolTipRole and text:
                tail = "\n".join(inst.stderr_tail[-8:]) if inst.stderr_tail else ""
                return plain_tip(text + (f"\n\nstderr (last lines):\n{tail}" if tail else ""))
        return None

    def _name_data(self, row: Row, role: int) -> Any:
        label = row.label
        if role == Qt.ItemDataRole.DisplayRole:
            alias = f" ({label.alias})" if label.alias else ""
            return f"{label.display_name} {label.version}{alias}".strip()
        if role == SORT_ROLE:
            return (label.display_name.casefold(), row.server_name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(
                f"{label.display_name} {label.version}\nserver name: {row.server_name}"
            )
        if role == LABEL_ROLE:
            return label
        if role == Qt.ItemDataRole.DecorationRole:
            return label.icon
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            right = section in (Column.UPTIME, Column.RESTARTS, Column.CALLS)
            h = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None


class BundleFilterProxy(QSortFilterProxyModel):
    """Shows one workspace's rows, filtered by free text over name and error."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ws_id: str | None = None
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    @property
    def ws_id(self) -> str | None:
        return self._ws_id

    def set_workspace(self, ws_id: str | None) -> None:
        self.beginFilterChange()
        self._ws_id = ws_id
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        key = model.key_at(source_row) if isinstance(model, BundleTableModel) else None
        if key is None or key[0] != self._ws_id:
            return False
        if not self._text:
            return True
        haystack = " ".join(
            str(model.index(source_row, c, source_parent).data() or "") for c in Column
        )
        return self._text in (haystack + " " + key[1]).casefold()
