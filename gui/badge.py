"""Status badges: what a bundle's state looks like, and the delegate that paints it.

The badge is computed from what core publishes on a ``BundleInstance`` (state,
``needs_setup``, ``next_retry_at``, ``protected``); nothing here decides state.
Colours are derived from the widget palette so the pill stays readable on
light and dark themes alike.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from gui.paint import draw_item_frame

#: Item-data role carrying a :class:`Badge` for the status column.
BADGE_ROLE = Qt.ItemDataRole.UserRole + 10

#: Base hue per badge kind; the palette decides how light or dark it is drawn.
_HUES: dict[str, str] = {
    "running": "#2e9d4f",
    "starting": "#2f7fd8",
    "stopping": "#c88a12",
    "crashed": "#e0661b",
    "dead": "#d23b3b",
    "stopped": "#7b8494",
    "setup": "#8e5bd0",
}

#: Sort order for the status column: what needs attention first.
SEVERITY: dict[str, int] = {
    "dead": 0,
    "crashed": 1,
    "setup": 2,
    "starting": 3,
    "stopping": 4,
    "running": 5,
    "stopped": 6,
}

_LABELS: dict[str, str] = {
    "running": "Running",
    "starting": "Starting…",
    "stopping": "Stopping…",
    "crashed": "Crashed",
    "dead": "Dead",
    "stopped": "Stopped",
    "setup": "Needs setup",
}

ANIMATED = frozenset({"starting", "stopping"})


@dataclass(frozen=True)
class Badge:
    """Everything the delegate needs to paint one status cell."""

    kind: str
    text: str
    protected: bool = False
    tooltip: str = ""

    @property
    def animated(self) -> bool:
        return self.kind in ANIMATED


def badge_for(inst: Any, now: float | None = None) -> Badge:
    """Map a ``BundleInstance`` onto a badge.

    "Needs setup" only replaces the resting states (stopped / dead): a bundle
    that is running keeps its live badge even if a field was just cleared.
    """
    state = str(inst.state)
    kind = state
    if inst.needs_setup and state in ("stopped", "dead"):
        kind = "setup"
    text = _LABELS.get(kind, state.capitalize())
    tooltip = ""
    if kind == "crashed" and inst.next_retry_at is not None:
        wait = max(0, math.ceil(inst.next_retry_at - (now or time.time())))
        text = f"Crashed · restart in {wait} s"
    if kind == "setup":
        tooltip = str(inst.needs_setup)
    elif inst.last_error and kind in ("crashed", "dead"):
        tooltip = str(inst.last_error)
    if inst.protected:
        tooltip = (tooltip + "\n" if tooltip else "") + "Protected: restart and uninstall refused"
    return Badge(kind=kind, text=text, protected=bool(inst.protected), tooltip=tooltip)


def badge_colors(kind: str, palette: QPalette) -> tuple[QColor, QColor]:
    """Return ``(foreground, fill)`` for ``kind`` tuned to the palette's lightness."""
    hue = QColor(_HUES.get(kind, _HUES["stopped"]))
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    fg = hue.lighter(135) if dark else hue.darker(125)
    fill = QColor(hue)
    fill.setAlpha(70 if dark else 38)
    return fg, fill


def _spinner_angle() -> float:
    """Rotation derived from the clock, so every spinner turns in step."""
    return (time.monotonic() * 360.0) % 360.0


def paint_icon(painter: QPainter, kind: str, box: QRectF, color: QColor) -> None:
    """Draw the small glyph for ``kind`` inside ``box`` (a square)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = box.center()
    r = box.width() / 2
    pen = QPen(color, max(1.5, r / 3.2))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    if kind == "running":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(c, r * 0.62, r * 0.62)
    elif kind in ANIMATED:
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        arc = box.adjusted(r * 0.2, r * 0.2, -r * 0.2, -r * 0.2)
        start = -_spinner_angle() if kind == "starting" else _spinner_angle()
        painter.drawArc(arc, int(start * 16), 270 * 16)
    elif kind == "stopped":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        s = r * 0.95
        painter.drawRoundedRect(QRectF(c.x() - s / 2, c.y() - s / 2, s, s), 1.5, 1.5)
    elif kind == "dead":
        painter.setPen(pen)
        d = r * 0.5
        painter.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
        painter.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
    elif kind == "crashed":
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        arc = box.adjusted(r * 0.25, r * 0.25, -r * 0.25, -r * 0.25)
        painter.drawArc(arc, 60 * 16, 280 * 16)
        tip = QPointF(c.x() + arc.width() / 2 * 0.5, arc.top() + arc.height() * 0.07)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        head = QPainterPath(tip + QPointF(r * 0.45, -r * 0.05))
        head.lineTo(tip + QPointF(-r * 0.2, -r * 0.45))
        head.lineTo(tip + QPointF(-r * 0.1, r * 0.4))
        head.closeSubpath()
        painter.drawPath(head)
    elif kind == "setup":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(c, r * 0.85, r * 0.85)
        bang = QPen(QColor("white"), max(1.5, r / 3.5))
        bang.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(bang)
        painter.drawLine(QPointF(c.x(), c.y() - r * 0.45), QPointF(c.x(), c.y() + r * 0.1))
        painter.drawPoint(QPointF(c.x(), c.y() + r * 0.45))
    painter.restore()


def paint_lock(painter: QPainter, box: QRectF, color: QColor) -> None:
    """A padlock: marks bundles that refuse restart and uninstall."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    w = box.width()
    body = QRectF(box.left() + w * 0.12, box.top() + box.height() * 0.45, w * 0.76, w * 0.55)
    shackle = QRectF(box.left() + w * 0.27, box.top() + box.height() * 0.1, w * 0.46, w * 0.7)
    painter.setPen(QPen(color, max(1.4, w / 8)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawArc(shackle, 0, 180 * 16)
    painter.drawLine(shackle.left(), shackle.center().y(), shackle.left(), body.top())
    painter.drawLine(shackle.right(), shackle.center().y(), shackle.right(), body.top())
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(body, 1.5, 1.5)
    painter.restore()


def paint_badge(painter: QPainter, rect: QRectF, badge: Badge, palette: QPalette, font: QFont):
    """Paint a pill (icon + text) left-aligned in ``rect``, then the lock mark."""
    fg, fill = badge_colors(badge.kind, palette)
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    fm = QFontMetrics(bold)
    height = min(rect.height() - 6, fm.height() + 8)
    icon = fm.height() * 0.8
    width = 8 + icon + 6 + fm.horizontalAdvance(badge.text) + 10
    pill = QRectF(rect.left() + 6, rect.center().y() - height / 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(pill, height / 2, height / 2)
    icon_box = QRectF(pill.left() + 8, pill.center().y() - icon / 2, icon, icon)
    paint_icon(painter, badge.kind, icon_box, fg)
    painter.setFont(bold)
    painter.setPen(fg)
    text_rect = QRectF(icon_box.right() + 6, pill.top(), pill.right() - icon_box.right(), height)
    painter.drawText(
        text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, badge.text
    )
    if badge.protected:
        lock = QRectF(pill.right() + 8, pill.center().y() - icon / 2, icon, icon)
        muted = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        muted.setAlpha(170)
        paint_lock(painter, lock, muted)
    painter.restore()
    return pill


class BadgeDelegate(QStyledItemDelegate):
    """Paints the :data:`BADGE_ROLE` value of a cell as a coloured pill."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        badge = index.data(BADGE_ROLE)
        if not isinstance(badge, Badge):
            super().paint(painter, option, index)
            return
        draw_item_frame(self, painter, option, index)
        paint_badge(painter, QRectF(option.rect), badge, option.palette, option.font)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        badge = index.data(BADGE_ROLE)
        if not isinstance(badge, Badge):
            return super().sizeHint(option, index)
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        fm = QFontMetrics(bold)
        width = 6 + 8 + fm.height() + 6 + fm.horizontalAdvance(badge.text) + 10 + 6
        if badge.protected:
            width += fm.height() + 8
        return QSize(int(width), fm.height() + 14)
