"""Where the selected bundle came from: its signature verdict and its install warnings.

The core decides both at install (``Host.bundle_details``: the signature check,
official-schema problems, runtime and placeholder warnings); this box only shows
them above the detail tabs, so an administrator sees "Invalid signature" or a
manifest problem without reading the install status line that scrolled away.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from gui.formatting import plain_tip

#: Warnings listed in the box itself; the tooltip has every one.
SHOWN_WARNINGS = 4
#: banner kind (style.py colours) per verdict
KINDS = {"invalid": "error", "unsigned": "info", "signed": "ok"}

DetailsFor = Callable[[str, str], dict[str, Any]]


def verdict(details: dict[str, Any]) -> tuple[str, str]:
    """(banner kind, one line) for the signature part of ``details``."""
    info = details.get("signature_info") or {}
    status = info.get("status", "")
    line = f"Signature: {details.get('signature', 'not checked')}"
    if details.get("signature_override_at"):
        line += " (installed anyway, by a confirmed override)"
    kind = KINDS.get(status, "info")
    if status == "signed" and info.get("trust") != "trusted":
        kind = "warn"
    return kind, line


def warning_lines(details: dict[str, Any]) -> list[str]:
    return [w for w in details.get("warnings", []) if isinstance(w, str) and w.strip()]


class ProvenanceBox(QFrame):
    """Hidden when nothing is selected; otherwise the verdict and the warnings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("kind", "info")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(2)
        self.signature = QLabel(self)
        self.signature.setObjectName("provenanceSignature")
        self.signature.setTextFormat(Qt.TextFormat.PlainText)  # a subject is publisher text
        self.signature.setWordWrap(True)
        self.signature.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings = QLabel(self)
        self.warnings.setObjectName("provenanceWarnings")
        self.warnings.setTextFormat(Qt.TextFormat.RichText)  # every part escaped below
        self.warnings.setWordWrap(True)
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.signature)
        layout.addWidget(self.warnings)
        #: ``Host.bundle_details``, set by the window
        self.details_for: DetailsFor | None = None
        self._shown: tuple[Any, ...] | None = None
        self.hide()

    def show_key(self, key: tuple[str, str] | None) -> None:
        """Show the bundle ``key = (ws_id, server)``; hide for None or an unknown bundle."""
        details = None
        if key is not None and self.details_for is not None:
            try:
                details = self.details_for(*key)
            except Exception:  # uninstalled meanwhile: the next refresh has no key
                details = None
        if details is None:
            self._shown = None
            self.hide()
            return
        kind, line = verdict(details)
        warnings = warning_lines(details)
        shown = (kind, line, tuple(warnings))
        if shown != self._shown:  # refresh runs on every event: repaint only on change
            self._shown = shown
            self._render(kind, line, warnings)
        self.show()

    def _render(self, kind: str, line: str, warnings: list[str]) -> None:
        if kind in ("ok", "info") and warnings:
            kind = "warn"
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.signature.setText(line)
        self.warnings.setVisible(bool(warnings))  # one line when there is nothing to warn of
        if not warnings:
            self.warnings.setText("")
            self.warnings.setToolTip("")
            return
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings[:SHOWN_WARNINGS])
        more = len(warnings) - SHOWN_WARNINGS
        tail = f"<i>and {more} more (hover to see all)</i>" if more > 0 else ""
        title = f"{len(warnings)} install warning{'s' if len(warnings) != 1 else ''}:"
        self.warnings.setText(f"{title}<ul style='margin:0 0 0 -20px'>{items}</ul>{tail}")
        self.warnings.setToolTip(plain_tip("\n".join(f"• {w}" for w in warnings)) or "")

    @property
    def text(self) -> str:
        """Everything shown, as plain text (tests, accessibility)."""
        return f"{self.signature.text()}\n{self.warnings.text()}"
