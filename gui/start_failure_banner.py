"""The reason a bundle failed to start, where the eye is: above its Logs tab.

The table's "last error" column cuts the reason to one line and the status
bar forgets it after a few seconds; a failed or crashed bundle keeps this
banner (the first lines of the redacted reason, all of it in the tooltip)
until it runs again.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from gui.formatting import plain_tip

#: Lines of the reason shown in the banner itself (the tooltip has all of it).
SHOWN_LINES = 3


def failure_text(inst: Any, label: str) -> str | None:
    """What the banner says for ``inst``, or None when it has nothing to say."""
    state = str(inst.state) if inst is not None else ""
    if state not in ("dead", "crashed") or not inst.last_error:
        return None
    lines = [line.strip() for line in inst.last_error.splitlines() if line.strip()]
    head = f"{label} failed to start:" if state == "dead" else f"{label} crashed (restarting):"
    shown = lines[:SHOWN_LINES] + (["…"] if len(lines) > SHOWN_LINES else [])
    return "\n".join([f"{head} {shown[0]}", *shown[1:]]) if shown else head


class StartFailureBanner(QFrame):
    """Hidden unless the bundle shown is dead or crashed with a reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("kind", "error")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel(self)
        self.label.setObjectName("startFailure")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # the reason quotes bundle stderr
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.hide()

    def update_for(self, inst: Any, label: str) -> None:
        text = failure_text(inst, label)
        if text is None:
            self.hide()
            return
        if text != self.label.text():
            self.label.setText(text)
            self.setToolTip(plain_tip(inst.last_error) or "")
        self.show()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
