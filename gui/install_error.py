"""An install that failed says so in a dialog naming the file and the problem.

The status bar alone was easy to miss (and timed out); core's errors already
name the file and say what is wrong with it, so the dialog shows them as
written, plain text, opened with ``open()`` (never a nested loop).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from gui.formatting import error_text


def show_install_error(parent: QWidget, source: Path, exc: BaseException) -> QMessageBox:
    """Open (non-blocking) and return the dialog; the caller keeps a reference."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Install Failed",
        f"“{source.name}” could not be installed.",
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setObjectName("installErrorDialog")
    box.setTextFormat(Qt.TextFormat.PlainText)  # names and messages are not markup
    box.setInformativeText(f"{error_text(exc)}\n\nFile: {source}")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
