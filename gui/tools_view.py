"""Tools tab: what the running bundle reported in ``tools/list``."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.formatting import plain_tip


def describe_type(schema: dict[str, Any]) -> str:
    """A short type label for a JSON-schema property (``string``, ``array<integer>``...)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array<{describe_type(schema['items'])}>"
    if kind is None and "anyOf" in schema:
        return " | ".join(describe_type(s) for s in schema["anyOf"] if isinstance(s, dict))
    if "enum" in schema:
        return f"{kind or 'enum'} ∈ {{{', '.join(map(str, schema['enum']))}}}"
    return str(kind or "any")


class ToolsView(QWidget):
    """Tree of tools and their parameters, with the raw input schema beside it.

    "Try…" (the button, a double-click, or the context menu) asks the pane to
    open the tool runner for the selected tool: ``tryRequested(tool_name)``.
    """

    tryRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("toolsTree")
        self.tree.setHeaderLabels(["Tool / parameter", "Type", "Description"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.schema = QPlainTextEdit(self)
        self.schema.setReadOnly(True)
        self.schema.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.schema.setPlaceholderText("Select a tool to see its input schema.")
        self.empty = QLabel(self)
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(self.schema)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.try_button = QPushButton("Try tool…", self)
        self.try_button.setObjectName("tryToolButton")
        self.try_button.setToolTip("Call the selected tool with arguments you enter")
        self.try_button.clicked.connect(self._request_try)
        self.try_action = QAction("Try tool…", self.tree)
        self.try_action.triggered.connect(self._request_try)
        self.tree.addAction(self.try_action)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.tree.itemDoubleClicked.connect(lambda *_: self._request_try())
        bar = QHBoxLayout()
        bar.addWidget(self.empty, 1)
        bar.addWidget(self.try_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self._tools: list[Any] = []
        self.tree.currentItemChanged.connect(self._show_schema)
        self.set_tools([], "No bundle selected.")

    def set_tools(self, tools: list[Any], empty_text: str = "") -> None:
        """Replace the list; keeps the selected tool when it still exists."""
        names = [t.name for t in tools]
        if names == [t.name for t in self._tools] and tools == self._tools:
            return
        current = self.tree.currentItem()
        keep = current.data(0, Qt.ItemDataRole.UserRole) if current else None
        self._tools = list(tools)
        self.tree.clear()
        self.schema.clear()
        for tool in tools:
            item = QTreeWidgetItem([tool.name, "tool", tool.description or ""])
            item.setData(0, Qt.ItemDataRole.UserRole, tool.name)
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            item.setToolTip(2, plain_tip(tool.description) or "")
            schema = tool.input_schema or {}
            required = set(schema.get("required") or [])
            for pname, pschema in (schema.get("properties") or {}).items():
                pschema = pschema if isinstance(pschema, dict) else {}
                label = pname + (" *" if pname in required else "")
                child = QTreeWidgetItem(
                    [label, describe_type(pschema), str(pschema.get("description", ""))]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, tool.name)
                child.setToolTip(2, plain_tip(str(pschema.get("description", ""))) or "")
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            if tool.name == keep:
                self.tree.setCurrentItem(item)
        self.tree.expandAll()
        if self.tree.currentItem() is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.empty.setText(empty_text)
        self.empty.setVisible(not tools and bool(empty_text))

    def selected_tool(self) -> Any | None:
        item = self.tree.currentItem()
        name = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        return next((t for t in self._tools if t.name == name), None)

    def set_try_enabled(self, enabled: bool, why: str = "") -> None:
        """Enabled only while the bundle runs; ``why`` says what to do otherwise."""
        can = enabled and bool(self._tools)
        self.try_button.setEnabled(can)
        self.try_action.setEnabled(can)
        self.try_button.setToolTip(
            "Call the selected tool with arguments you enter" if can else why
        )

    def _request_try(self) -> None:
        tool = self.selected_tool()
        if tool is not None and self.try_button.isEnabled():
            self.tryRequested.emit(tool.name)

    def _show_schema(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            self.schema.clear()
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        tool = next((t for t in self._tools if t.name == name), None)
        if tool is not None:
            self.schema.setPlainText(json.dumps(tool.input_schema or {}, indent=2, sort_keys=True))

    def tool_names(self) -> list[str]:
        return [t.name for t in self._tools]
