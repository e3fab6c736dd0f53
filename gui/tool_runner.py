""" "Try a tool": run one tool of a running bundle with arguments from a generated form.

The call goes through the callable the window hands in (the console's call
path: it waits through a respawn and is recorded), so what the administrator
proves here is what an AI client would get. The dialog never blocks the loop
and never nests one: Run starts a task, Cancel cancels it, and closing the
dialog while a call runs cancels the call first.

The arguments of the last run are remembered per tool (through ``remember``),
except anything typed into a field whose name or description suggests a
secret: those are never stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.configure_dialog import Banner
from gui.schema_form import SchemaForm
from gui.tasks import async_slot
from gui.tool_result import Part, parts_of

log = logging.getLogger(__name__)

Caller = Callable[[dict[str, Any]], Awaitable[Any]]

#: Images wider or taller than this are scaled down in the view.
MAX_IMAGE_SIDE = 480


class ToolRunner(QDialog):
    """One tool, one form, one result area."""

    #: ``(is_error, parts)`` after every completed call.
    finished_call = Signal(bool, list)

    def __init__(
        self,
        bundle_label: str,
        tool: Any,
        call: Caller,
        *,
        last_arguments: dict[str, Any] | None = None,
        remember: Callable[[dict[str, Any]], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolRunner")
        self.setWindowTitle(f"Try {tool.name} — {bundle_label}")
        self.tool = tool
        self._call = call
        self._remember = remember
        self._task: asyncio.Task[Any] | None = None
        self.calls_done = 0
        self.last_parts: list[Part] = []
        self.last_error: bool | None = None

        title = QLabel(tool.name, self)
        title.setObjectName("dialogTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        description = QLabel((tool.description or "")[:1000], self)
        description.setTextFormat(Qt.TextFormat.PlainText)
        description.setWordWrap(True)
        description.setObjectName("hint")

        self.form = SchemaForm(tool.input_schema, self)
        if last_arguments:
            self.form.fill(last_arguments)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.form)
        scroll.setMaximumHeight(360)

        self.banner = Banner(self)
        self.results = QWidget(self)
        self.results_layout = QVBoxLayout(self.results)
        self.results_layout.setContentsMargins(0, 0, 0, 0)
        results_scroll = QScrollArea(self)
        results_scroll.setWidgetResizable(True)
        results_scroll.setWidget(self.results)
        results_scroll.setMinimumHeight(160)

        self.buttons = QDialogButtonBox(self)
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel call", self)
        self.cancel_button.setObjectName("cancelCallButton")
        self.cancel_button.setEnabled(False)
        self.buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setAutoDefault(False)
        self.buttons.rejected.connect(self.reject)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        if tool.description:
            layout.addWidget(description)
        layout.addWidget(scroll)
        layout.addWidget(self.banner)
        layout.addWidget(results_scroll, 1)
        layout.addWidget(self.buttons)
        self.form.changed.connect(self._sync)
        self.resize(620, 640)
        self._sync()
        first = self.form.first_editor()
        if first is not None:
            first.setFocus()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _sync(self) -> None:
        self.run_button.setEnabled(not self.running and not self.form.problems())
        self.cancel_button.setEnabled(self.running)
        problems = self.form.problems()
        self.run_button.setToolTip(
            "; ".join(f"{k}: {v}" for k, v in problems.items()) if problems else "Run (Ctrl+Return)"
        )

    @async_slot()
    async def run(self) -> None:
        if self.running or self.form.problems():
            return
        arguments = self.form.values()
        if self._remember is not None:
            self._remember(self.form.rememberable())
        self.banner.show_message("busy", f"Calling {self.tool.name}…", busy=True)
        self._task = asyncio.ensure_future(self._call(arguments))
        self._sync()
        started = time.perf_counter()
        try:
            result = await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # the dialog's own slot was cancelled (quit): let it end
            self.banner.show_message("warn", "Call cancelled.")
            self._show([Part("note", "Cancelled before the tool answered.")])
            self.last_error = True
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            self.banner.show_message("error", f"The call failed: {text}")
            self._show([Part("text", text)])
            self.last_error = True
        else:
            elapsed = (time.perf_counter() - started) * 1000
            try:
                is_error, parts = parts_of(result)
            except TypeError as exc:
                is_error, parts = True, [Part("text", str(exc))]
            kind, verb = ("error", "returned an error") if is_error else ("ok", "answered")
            self.banner.show_message(kind, f"{self.tool.name} {verb} in {elapsed:.0f} ms.")
            self._show(parts)
            self.last_error = is_error
        finally:
            self.calls_done += 1
            self._task = None
            self._sync()
        self.finished_call.emit(bool(self.last_error), list(self.last_parts))

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _show(self, parts: list[Part]) -> None:
        self.last_parts = parts
        while self.results_layout.count():
            item = self.results_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for part in parts:
            if part.kind == "image":
                image = QImage.fromData(part.data)
                label = QLabel(self.results)
                if image.isNull():
                    label.setText(
                        f"An image the console cannot show ({part.mime_type or 'unknown type'})."
                    )
                else:
                    pixmap = QPixmap.fromImage(image)
                    if max(pixmap.width(), pixmap.height()) > MAX_IMAGE_SIDE:
                        pixmap = pixmap.scaled(
                            MAX_IMAGE_SIDE,
                            MAX_IMAGE_SIDE,
                            Qt.AspectRatioMode.KeepAspectRatio,
                            Qt.TransformationMode.SmoothTransformation,
                        )
                    label.setPixmap(pixmap)
                    label.setToolTip(f"{image.width()}×{image.height()} {part.mime_type}")
                label.setObjectName("resultImage")
                self.results_layout.addWidget(label)
            elif part.kind == "note":
                label = QLabel(part.text, self.results)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setObjectName("hint")
                self.results_layout.addWidget(label)
            else:
                view = QPlainTextEdit(self.results)
                view.setObjectName("resultText" if part.kind == "text" else "resultJson")
                view.setReadOnly(True)
                view.setPlainText(part.text)
                if part.kind == "json":
                    view.setFont(fixed)
                lines = min(max(part.text.count("\n") + 1, 2), 18)
                view.setFixedHeight(view.fontMetrics().lineSpacing() * lines + 14)
                self.results_layout.addWidget(view)
        self.results_layout.addStretch(1)

    def done(self, result: int) -> None:
        """Closing cancels a call in flight: nothing keeps running unseen."""
        self.cancel()
        super().done(result)
