"""The centre table view: badge delegate, spinner animation, sensible column sizes."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from gui.badge import BADGE_ROLE, BadgeDelegate
from gui.bundle_model import LABEL_ROLE, Column, Label
from gui.paint import draw_item_frame

Index = QModelIndex | QPersistentModelIndex


class NameDelegate(QStyledItemDelegate):
    """Display name in the body font, then the version and any alias muted."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        label = index.data(LABEL_ROLE)
        if not isinstance(label, Label):
            super().paint(painter, option, index)
            return
        draw_item_frame(self, painter, option, index)
        r = option.rect.adjusted(8, 0, -6, 0)
        if label.icon is not None:  # the manifest's icon, before the name
            side = min(16, r.height() - 4)
            box = QRect(r.left(), r.center().y() - side // 2 + 1, side, side)
            label.icon.paint(painter, box)
            r = r.adjusted(side + 6, 0, 0, 0)
        main = QFont(option.font)
        main.setWeight(QFont.Weight.Medium)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.88))
        fm_main, fm_small = QFontMetrics(main), QFontMetrics(small)
        text_color = option.palette.color(QPalette.ColorRole.Text)
        muted = QColor(text_color)
        muted.setAlpha(150)
        painter.save()
        name = fm_main.elidedText(label.display_name, Qt.TextElideMode.ElideRight, r.width())
        painter.setFont(main)
        painter.setPen(text_color)
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(r, align, name)
        x = r.left() + fm_main.horizontalAdvance(name) + 7
        extra = label.version + (f"  ·  {label.alias}" if label.alias else "")
        if extra and x < r.right():
            extra = fm_small.elidedText(extra, Qt.TextElideMode.ElideRight, r.right() - x)
            painter.setFont(small)
            painter.setPen(muted)
            painter.drawText(QRect(x, r.top(), r.right() - x, r.height()), align, extra)
        painter.restore()


COLUMN_WIDTHS = {
    Column.NAME: 250,
    Column.STATUS: 220,
    Column.UPTIME: 90,
    Column.RESTARTS: 80,
    Column.CALLS: 80,
    Column.CALL_ERROR: 150,
}


class BundleTable(QTableView):
    """Table of bundles; repaints only the status cells of starting/stopping rows to animate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bundleTable")
        self.setItemDelegateForColumn(Column.NAME, NameDelegate(self))
        self.setItemDelegateForColumn(Column.STATUS, BadgeDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Rows are selected whole: Tab moves on to the next pane, arrows walk the rows.
        self.setTabKeyNavigation(False)
        self.setSortingEnabled(True)
        self.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(34)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._anim = QTimer(self)
        self._anim.setInterval(50)
        self._anim.timeout.connect(self._animate)
        self._anim.start()

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        for col, width in COLUMN_WIDTHS.items():
            self.setColumnWidth(col, width)

    def _animate(self) -> None:
        """Repaint the visible animated badges only: idle tables cost next to nothing."""
        model = self.model()
        if model is None or not self.isVisible() or not model.rowCount():
            return
        first = max(0, self.rowAt(0))
        last = self.rowAt(self.viewport().height() - 1)
        last = model.rowCount() - 1 if last < 0 else last
        for row in range(first, last + 1):
            idx = model.index(row, Column.STATUS)
            badge = idx.data(BADGE_ROLE)
            if badge is not None and badge.animated:
                self.viewport().update(self.visualRect(idx))
