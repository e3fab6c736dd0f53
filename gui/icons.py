"""Toolbar and menu icons, drawn with QPainter so no icon theme or asset is needed.

Mid-tone colours read on light and dark toolbars; QIcon derives the
disabled (greyed) variant itself.
"""

from __future__ import annotations

import functools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

COLORS = {
    "install": "#2f7fd8",
    "configure": "#6b7686",
    "start": "#2e9d4f",
    "stop": "#d23b3b",
    "restart": "#2f7fd8",
    "uninstall": "#c0392b",
    "workspace": "#6b7686",
    "add": "#2e9d4f",
    "rename": "#6b7686",
    "delete": "#c0392b",
}


def _draw(name: str, p: QPainter, s: float, color: QColor) -> None:
    pen = QPen(color, s * 0.09)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    if name == "start":
        path = QPainterPath(QPointF(s * 0.3, s * 0.2))
        path.lineTo(s * 0.8, s * 0.5)
        path.lineTo(s * 0.3, s * 0.8)
        path.closeSubpath()
        p.setBrush(color)
        p.drawPath(path)
    elif name == "stop":
        p.setBrush(color)
        p.drawRoundedRect(QRectF(s * 0.25, s * 0.25, s * 0.5, s * 0.5), s * 0.06, s * 0.06)
    elif name == "restart":
        rect = QRectF(s * 0.2, s * 0.2, s * 0.6, s * 0.6)
        p.drawArc(rect, 100 * 16, 290 * 16)
        a = math.radians(100)
        tip = QPointF(
            rect.center().x() + math.cos(a) * s * 0.3, rect.center().y() - math.sin(a) * s * 0.3
        )
        head = QPainterPath(tip + QPointF(s * 0.16, 0))
        head.lineTo(tip + QPointF(-s * 0.06, -s * 0.14))
        head.lineTo(tip + QPointF(-s * 0.06, s * 0.14))
        head.closeSubpath()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawPath(head)
    elif name == "install":
        p.drawLine(QPointF(s * 0.5, s * 0.15), QPointF(s * 0.5, s * 0.6))
        p.drawLine(QPointF(s * 0.32, s * 0.44), QPointF(s * 0.5, s * 0.62))
        p.drawLine(QPointF(s * 0.68, s * 0.44), QPointF(s * 0.5, s * 0.62))
        tray = QPainterPath(QPointF(s * 0.18, s * 0.62))
        tray.lineTo(s * 0.18, s * 0.82)
        tray.lineTo(s * 0.82, s * 0.82)
        tray.lineTo(s * 0.82, s * 0.62)
        p.drawPath(tray)
    elif name == "configure":
        for i, y in enumerate((0.3, 0.5, 0.7)):
            p.drawLine(QPointF(s * 0.18, s * y), QPointF(s * 0.82, s * y))
            x = (0.35, 0.65, 0.45)[i]
            p.setBrush(color)
            p.drawEllipse(QPointF(s * x, s * y), s * 0.08, s * 0.08)
            p.setBrush(Qt.BrushStyle.NoBrush)
    elif name in ("uninstall", "delete"):
        p.drawLine(QPointF(s * 0.2, s * 0.28), QPointF(s * 0.8, s * 0.28))
        p.drawLine(QPointF(s * 0.4, s * 0.18), QPointF(s * 0.6, s * 0.18))
        body = QPainterPath(QPointF(s * 0.28, s * 0.3))
        body.lineTo(s * 0.33, s * 0.84)
        body.lineTo(s * 0.67, s * 0.84)
        body.lineTo(s * 0.72, s * 0.3)
        p.drawPath(body)
        p.drawLine(QPointF(s * 0.44, s * 0.42), QPointF(s * 0.44, s * 0.72))
        p.drawLine(QPointF(s * 0.56, s * 0.42), QPointF(s * 0.56, s * 0.72))
    elif name == "add":
        p.drawLine(QPointF(s * 0.5, s * 0.22), QPointF(s * 0.5, s * 0.78))
        p.drawLine(QPointF(s * 0.22, s * 0.5), QPointF(s * 0.78, s * 0.5))
    elif name == "rename":
        pen.setWidthF(s * 0.08)
        p.setPen(pen)
        p.drawLine(QPointF(s * 0.25, s * 0.75), QPointF(s * 0.72, s * 0.28))
        p.drawLine(QPointF(s * 0.2, s * 0.85), QPointF(s * 0.8, s * 0.85))
    else:  # workspace: stacked cards
        p.drawRoundedRect(QRectF(s * 0.18, s * 0.3, s * 0.56, s * 0.45), s * 0.06, s * 0.06)
        p.drawLine(QPointF(s * 0.3, s * 0.2), QPointF(s * 0.82, s * 0.2))
        p.drawLine(QPointF(s * 0.82, s * 0.2), QPointF(s * 0.82, s * 0.62))


@functools.cache
def action_icon(name: str) -> QIcon:
    """A crisp icon at the usual toolbar and menu sizes."""
    icon = QIcon()
    color = QColor(COLORS.get(name, "#6b7686"))
    for size in (16, 20, 24, 32, 48):
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw(name, painter, float(size), color)
        painter.end()
        icon.addPixmap(pm)
    return icon
