"""Logs tab: a live, searchable tail of the selected bundle's stderr.

Each line starts with the time it was written (core.logs stamps it); the tab
opens, and follows, scrolled to the left edge of the newest lines.

Lines come from ``lc.read_log`` (redacted by core). A QTimer polls while the
tab is visible, re-reading only when ``lc.log_path``'s size or mtime moved;
only lines past what is already shown are appended, so the view keeps its
scroll position and selection while following new output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

MAX_LINES = 500
POLL_MS = 400


def new_lines(shown: list[str], latest: list[str]) -> list[str] | None:
    """Lines of ``latest`` that follow ``shown``, or None when the tail moved on
    (rotation, or more than a window of output) and the view must be rebuilt."""
    if not shown:
        return latest
    if latest[: len(shown)] == shown:
        return latest[len(shown) :]
    # The window slid: find the longest suffix of ``shown`` that prefixes ``latest``.
    for start in range(1, len(shown)):
        overlap = shown[start:]
        if latest[: len(overlap)] == overlap:
            return latest[len(overlap) :]
    return None


class LogView(QWidget):
    """Tail of one bundle's log with search, follow and "Open file"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader: Callable[[], list[str]] | None = None
        self._path: Callable[[], Path] | None = None
        self._shown: list[str] = []
        self._last_stamp: tuple[int, int] | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search log…  (Enter: next match)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._highlight)
        self.search.returnPressed.connect(self.find_next)
        self.matches = QLabel(self)
        self.matches.setObjectName("hint")
        self.follow = QCheckBox("Follow", self)
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the newest line in view")
        self.open_button = QPushButton("Open file", self)
        self.open_button.setToolTip("Open the log file in your default viewer")
        self.open_button.clicked.connect(self.open_file)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches)
        bar.addWidget(self.follow)
        bar.addWidget(self.open_button)

        self.text = QPlainTextEdit(self)
        self.text.setObjectName("logText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(MAX_LINES * 4)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("No log output yet.")

        self.setFocusProxy(self.text)  # Go to → Logs lands on the lines
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self._set_enabled(False)

    def set_source(
        self, reader: Callable[[], list[str]] | None, path: Callable[[], Path] | None
    ) -> None:
        """Show another bundle's log (``None`` clears the view)."""
        self._reader = reader
        self._path = path
        self._shown = []
        self._last_stamp = None
        self.text.clear()
        self._set_enabled(reader is not None)
        self.poll()

    def _set_enabled(self, on: bool) -> None:
        self.search.setEnabled(on)
        self.open_button.setEnabled(on)
        if on and self.isVisible():
            self.timer.start()
        elif not on:
            self.timer.stop()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._reader is not None:
            self.poll()
            self.timer.start()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def _stamp(self) -> tuple[int, int] | None:
        """Size and mtime of the log: an unchanged file is not read again."""
        if self._path is None:
            return None
        try:
            st = self._path().stat()
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def poll(self) -> None:
        if self._reader is None:
            return
        stamp = self._stamp()
        if stamp is not None and stamp == self._last_stamp:
            return
        self._last_stamp = stamp
        try:
            latest = self._reader()
        except Exception as exc:  # a vanished bundle or unreadable log: say so, keep going
            latest = [f"[log unavailable: {exc}]"]
        if latest == self._shown:
            return
        added = new_lines(self._shown, latest)
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        if added is None:
            self.text.setPlainText("\n".join(latest))
        elif added:
            self.text.appendPlainText("\n".join(added))
        self._shown = latest
        if self.follow.isChecked() and (at_end or added is None):
            self.show_newest()
        if self.search.text():
            self._highlight(self.search.text())

    def show_newest(self) -> None:
        """The newest lines, from their left edge: the end of a long last line (what
        moving the cursor to the end showed) hid the timestamps and the start of
        every line above it."""
        self.text.moveCursor(QTextCursor.MoveOperation.End)
        self.text.moveCursor(QTextCursor.MoveOperation.StartOfBlock)
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.text.horizontalScrollBar().setValue(0)

    def plain_text(self) -> str:
        return self.text.toPlainText()

    # -- search ------------------------------------------------------------------

    def _highlight(self, needle: str) -> None:
        selections = []
        if needle:
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(255, 200, 0, 110))
            doc = self.text.document()
            cursor = doc.find(needle)
            while not cursor.isNull() and len(selections) < 2000:
                sel = QTextEdit.ExtraSelection()
                sel.cursor = cursor
                sel.format = fmt
                selections.append(sel)
                cursor = doc.find(needle, cursor)
            self.matches.setText(
                f"{len(selections)} match" + ("" if len(selections) == 1 else "es")
            )
        else:
            self.matches.setText("")
        self.text.setExtraSelections(selections)

    def find_next(self) -> None:
        needle = self.search.text()
        if not needle:
            return
        self.follow.setChecked(False)
        if not self.text.find(needle):
            self.text.moveCursor(QTextCursor.MoveOperation.Start)
            self.text.find(needle)

    def open_file(self) -> None:
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path())))
