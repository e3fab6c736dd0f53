"""Resources tab: the resources and resource templates the running bundle serves; read one.

The lists come from the bundle itself (``resources/list``,
``resources/templates/list``) through the gateway's console requests
(core.gateway.console_requests), which also read a resource: texts arrive
redacted, binaries as their size and MIME type (an image is previewed).
A template's URI is edited in place (fill in the ``{...}`` parts), then read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.formatting import plain_tip
from gui.tasks import async_slot

log = logging.getLogger(__name__)

#: ``(uri) -> [ResourcePart]`` (core.gateway.console_requests), set by the pane.
Reader = Callable[[str], Awaitable[list[Any]]]
#: Texts longer than this are cut in the view.
MAX_SHOWN_CHARS = 200_000
PREVIEW_SIDE = 160


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


class ResourcesView(QWidget):
    """Tree of resources and templates; a URI box, Read, and what the bundle answered."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resourcesView")
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("resourcesTree")
        self.tree.setHeaderLabels(["Resource", "URI", "Type"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.currentItemChanged.connect(self._picked)
        self.tree.itemDoubleClicked.connect(lambda *_: self.read())

        self.hint = QLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.uri = QLineEdit(self)
        self.uri.setObjectName("resourceUri")
        self.uri.setPlaceholderText("Select a resource, or a template and fill in its {…} parts")
        self.uri.returnPressed.connect(lambda: self.read())
        self.uri.textChanged.connect(lambda *_: self._sync())
        self.read_button = QPushButton("Read", self)
        self.read_button.setObjectName("readResourceButton")
        self.read_button.clicked.connect(lambda: self.read())
        self.status = QLabel(self)
        self.status.setObjectName("resourceStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("resourceText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("What the bundle answers appears here.")
        self.preview = QLabel(self)
        self.preview.setObjectName("resourcePreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.hide()

        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.uri, 1)
        row.addWidget(self.read_button)
        rl.addLayout(row)
        rl.addWidget(self.status)
        rl.addWidget(self.preview)
        rl.addWidget(self.text, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hint)
        layout.addWidget(split, 1)

        self._reader: Reader | None = None
        self._busy = False
        #: the parts of the last read (core ResourcePart), for observers and tests
        self.last_parts: list[Any] = []
        self.last_error: str | None = None
        self.reads_done = 0
        self.set_offer([], [], "No bundle selected.")

    # -- feeding -----------------------------------------------------------------

    def set_reader(self, reader: Reader | None) -> None:
        self._reader = reader
        self._sync()

    def set_offer(self, resources: list[Any], templates: list[Any], hint: str = "") -> None:
        """Replace the lists (mcp_types Resource / ResourceTemplate objects)."""
        self.tree.clear()
        for title, items, is_template in (
            ("Resources", resources, False),
            ("Templates", templates, True),
        ):
            if not items:
                continue
            top = QTreeWidgetItem([f"{title} ({len(items)})", "", ""])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setFlags(top.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            for item in items:
                uri = str(item.uri_template if is_template else item.uri)
                label = getattr(item, "title", None) or item.name
                child = QTreeWidgetItem([label, uri, getattr(item, "mime_type", None) or ""])
                child.setData(0, Qt.ItemDataRole.UserRole, uri)
                child.setData(1, Qt.ItemDataRole.UserRole, is_template)
                child.setToolTip(0, plain_tip(getattr(item, "description", None) or "") or "")
                top.addChild(child)
            self.tree.addTopLevelItem(top)
        self.tree.expandAll()
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self._sync()

    def uris(self) -> list[str]:
        """Every listed URI (templates as written), in order."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out += [top.child(j).data(0, Qt.ItemDataRole.UserRole) for j in range(top.childCount())]
        return out

    def select(self, uri: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, Qt.ItemDataRole.UserRole) == uri:
                    self.tree.setCurrentItem(top.child(j))
                    return True
        return False

    def _picked(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        uri = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if uri:
            self.uri.setText(str(uri))
            if item is not None and item.data(1, Qt.ItemDataRole.UserRole):
                self.status.setText("A template: replace each {…} part of the URI, then Read.")
                self.uri.setFocus()

    def _sync(self) -> None:
        uri = self.uri.text().strip()
        unfilled = "{" in uri and "}" in uri
        can = self._reader is not None and bool(uri) and not unfilled and not self._busy
        self.read_button.setEnabled(can)
        why = (
            "Start the bundle to read its resources."
            if self._reader is None
            else "Fill in the {…} parts of the template first."
            if unfilled
            else "Read this resource from the bundle"
        )
        self.read_button.setToolTip(why)

    # -- reading -----------------------------------------------------------------

    @async_slot()
    async def read(self) -> None:
        uri = self.uri.text().strip()
        if not self.read_button.isEnabled() or self._reader is None:
            return
        self._busy = True
        self._sync()
        self.status.setText(f"Reading {uri}…")
        try:
            parts = await self._reader(uri)
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            self.last_parts, self.last_error = [], text
            self.status.setText(f"Could not read {uri}: {text}")
            self.text.clear()
            self.preview.hide()
        else:
            self.last_parts, self.last_error = list(parts), None
            self._show(uri, parts)
        finally:
            self._busy = False
            self.reads_done += 1
            self._sync()

    def _show(self, uri: str, parts: list[Any]) -> None:
        texts, notes = [], []
        image: QImage | None = None
        for part in parts:
            mime = part.mime_type or "no MIME type"
            if part.text is not None:
                notes.append(f"text, {human_size(part.size)}, {mime}")
                texts.append(part.text)
            else:
                notes.append(f"binary, {human_size(part.size)}, {mime}")
                if image is None and part.mime_type.startswith("image/") and part.data:
                    candidate = QImage.fromData(part.data)
                    image = None if candidate.isNull() else candidate
        self.status.setText(f"{uri}: " + ("; ".join(notes) if notes else "no content"))
        shown = "\n\n".join(texts)
        if len(shown) > MAX_SHOWN_CHARS:
            shown = (
                shown[:MAX_SHOWN_CHARS] + f"\n… ({len(shown) - MAX_SHOWN_CHARS} more characters)"
            )
        self.text.setPlainText(shown)
        self.text.setVisible(bool(texts) or image is None)
        if image is not None:
            pixmap = QPixmap.fromImage(image)
            pixmap = pixmap.scaled(
                PREVIEW_SIDE,
                PREVIEW_SIDE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
            self.preview.setPixmap(pixmap)
            self.preview.setToolTip(f"{image.width()}×{image.height()}")
            self.preview.show()
        else:
            self.preview.hide()
