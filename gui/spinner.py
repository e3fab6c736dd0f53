"""A small busy indicator that animates on a QTimer (so it also proves the loop is alive)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, QTimer
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QWidget

from gui.badge import paint_icon


class Spinner(QWidget):
    """Indeterminate spinner; only ticks while visible and running."""

    def __init__(self, parent: QWidget | None = None, size: int = 18) -> None:
        super().__init__(parent)
        self._size = size
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self.update)
        self.setFixedSize(size, size)
        self.hide()

    def sizeHint(self) -> QSize:
        return QSize(self._size, self._size)

    def start(self) -> None:
        self.show()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()

    @property
    def spinning(self) -> bool:
        return self._timer.isActive()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        color = self.palette().color(QPalette.ColorRole.Highlight)
        paint_icon(painter, "starting", QRectF(self.rect()).adjusted(1, 1, -1, -1), color)
        painter.end()
