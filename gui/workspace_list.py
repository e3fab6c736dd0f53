"""The workspace list: one row per workspace with a live health summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.badge import badge_colors
from gui.formatting import health_summary, plain_tip
from gui.paint import draw_item_frame

Index = QModelIndex | QPersistentModelIndex

WS_ID_ROLE = Qt.ItemDataRole.UserRole + 20
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 21
HEALTH_ROLE = Qt.ItemDataRole.UserRole + 22

#: ``ws_id -> instances`` of that workspace.
InstancesOf = Callable[[str], list[Any]]


def health_kind(instances: list[Any]) -> str:
    """The worst badge kind among a workspace's bundles (drives the dot colour)."""
    kinds = set()
    for inst in instances:
        state = str(inst.state)
        if inst.needs_setup and state in ("stopped", "dead"):
            kinds.add("setup")
        else:
            kinds.add(state)
    for kind in ("dead", "crashed", "setup", "starting", "stopping", "running"):
        if kind in kinds:
            return kind
    return "stopped"


class WorkspaceListModel(QAbstractListModel):
    """Rows are ``(ws_id, name)``; summaries are computed on demand from live instances."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []
        self._instances_of: InstancesOf = lambda _ws: []

    def set_source(self, instances_of: InstancesOf) -> None:
        self._instances_of = instances_of

    def sync(self, workspaces: list[Any]) -> None:
        """Bring rows in line with ``host.workspaces()`` using row-level inserts/removes."""
        wanted = [(ws.id, ws.name) for ws in workspaces]
        wanted_ids = [w[0] for w in wanted]
        for i in reversed(range(len(self._rows))):
            if self._rows[i][0] not in wanted_ids:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        for ws_id, name in wanted:
            i = self.row_of(ws_id)
            if i is None:
                n = len(self._rows)
                self.beginInsertRows(QModelIndex(), n, n)
                self._rows.append((ws_id, name))
                self.endInsertRows()
            elif self._rows[i][1] != name:
                self._rows[i] = (ws_id, name)
                self.dataChanged.emit(self.index(i), self.index(i))

    def row_of(self, ws_id: str) -> int | None:
        for i, (wid, _name) in enumerate(self._rows):
            if wid == ws_id:
                return i
        return None  # a linear scan: workspaces number in the tens, rarely hundreds

    def ws_id_at(self, row: int) -> str | None:
        return self._rows[row][0] if 0 <= row < len(self._rows) else None

    def name_of(self, ws_id: str) -> str | None:
        i = self.row_of(ws_id)
        return self._rows[i][1] if i is not None else None

    def refresh(self, ws_id: str) -> None:
        i = self.row_of(ws_id)
        if i is not None:
            self.dataChanged.emit(self.index(i), self.index(i))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        ws_id, name = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return name
        if role == WS_ID_ROLE:
            return ws_id
        if role == SUMMARY_ROLE:
            return health_summary(self._instances_of(ws_id))
        if role == HEALTH_ROLE:
            return health_kind(self._instances_of(ws_id))
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(f"{name}\n{health_summary(self._instances_of(ws_id))}\nid: {ws_id}")
        return None


class WorkspaceDelegate(QStyledItemDelegate):
    """Two lines per workspace: the name, and a muted health summary with a status dot."""

    PAD = 10

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        draw_item_frame(self, painter, option, index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_color = palette.color(text_role)
        muted = QColor(text_color)
        muted.setAlpha(165)
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.9))
        r = option.rect.adjusted(self.PAD, 6, -self.PAD, -6)
        fm_bold, fm_small = QFontMetrics(bold), QFontMetrics(small)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        name = fm_bold.elidedText(str(index.data() or ""), Qt.TextElideMode.ElideRight, r.width())
        painter.setFont(bold)
        painter.setPen(text_color)
        painter.drawText(QRect(r.left(), r.top(), r.width(), fm_bold.height()), 0, name)
        dot = fm_small.height() * 0.55
        y = r.top() + fm_bold.height() + 3
        fg, _fill = badge_colors(str(index.data(HEALTH_ROLE) or "stopped"), palette)
        if selected:
            fg = text_color
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fg)
        cy = y + fm_small.height() / 2
        painter.drawEllipse(int(r.left()), int(cy - dot / 2), int(dot), int(dot))
        painter.setFont(small)
        painter.setPen(muted)
        x = int(r.left() + dot + 6)
        summary = fm_small.elidedText(
            str(index.data(SUMMARY_ROLE) or ""), Qt.TextElideMode.ElideRight, r.right() - x
        )
        painter.drawText(QRect(x, y, r.right() - x, fm_small.height()), 0, summary)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.9))
        h = QFontMetrics(bold).height() + 3 + QFontMetrics(small).height() + 12
        return QSize(160, h)
