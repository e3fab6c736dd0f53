"""Tools tab: what the running bundle reported in ``tools/list``.

A bundle may list up to 2,000 tools with 4 KiB descriptions (core.process
caps). The table is a model/view with one fixed-height row per tool and every
cell cut to one short line, so filling it costs a few string slices per tool
and a paint lays out only the visible rows. The full description, parameters
and input schema of the current tool are shown beside it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
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


#: A table cell never holds more than this many characters (the side view has the rest).
CELL_CHARS = 160
COLUMNS = ("Tool", "Parameters", "Description")
AnyIndex = QModelIndex | QPersistentModelIndex


def one_line(text: str, limit: int = CELL_CHARS) -> str:
    """The first line of ``text``, at most ``limit`` characters (``…`` when cut).

    Only the head of ``text`` is looked at: the cost does not grow with its size.
    """
    head = text[: 4 * limit].strip()
    line, newline, _ = head.partition("\n")
    line = line.rstrip()
    cut = bool(newline) or len(line) > limit or len(text) > 4 * limit
    return line[:limit] + "…" if cut else line


def parameters(tool: Any) -> list[tuple[str, str, str]]:
    """``(name, type, description)`` per input-schema property; ``*`` marks required ones."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    required = set(schema.get("required") or [])
    props = schema.get("properties")
    out = []
    for pname, pschema in (props if isinstance(props, dict) else {}).items():
        pschema = pschema if isinstance(pschema, dict) else {}
        label = str(pname) + (" *" if pname in required else "")
        out.append((label, describe_type(pschema), str(pschema.get("description", ""))))
    return out


class ToolsModel(QAbstractTableModel):
    """One row per tool; cells are computed once per list, tooltips on demand."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools: list[Any] = []
        self._rows: list[tuple[str, str, str]] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def set_tools(self, tools: list[Any]) -> None:
        self.beginResetModel()
        self.tools = list(tools)
        self._rows = [
            (
                one_line(str(t.name)),
                one_line(", ".join(f"{n}: {k}" for n, k, _ in parameters(t))),
                one_line(t.description or ""),
            )
            for t in self.tools
        ]
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[row][col]
        if role == Qt.ItemDataRole.ToolTipRole:
            tool = self.tools[row]
            if col == 2:
                return plain_tip(tool.description or "")
            if col == 1:
                return plain_tip("\n".join(f"{n}: {k}" for n, k, _ in parameters(tool)))
            return plain_tip(str(tool.name))
        if role == Qt.ItemDataRole.UserRole:
            return self.tools[row].name
        if role == Qt.ItemDataRole.FontRole and col == 0:
            return self._bold
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None


def describe_tool(tool: Any) -> str:
    """The side view's text: the whole description, then every parameter, as plain text."""
    lines = [str(tool.name), "", (tool.description or "(no description)").strip()]
    params = parameters(tool)
    lines += ["", "Parameters (* required):" if params else "No parameters."]
    for name, kind, desc in params:
        lines.append(f"  {name}: {kind}" + (f" — {desc}" if desc else ""))
    return "\n".join(lines)


class ToolsView(QWidget):
    """Table of tools, with the current tool's description, parameters and schema beside it.

    "Try…" (the button, a double-click, or the context menu) asks the pane to
    open the tool runner for the selected tool: ``tryRequested(tool_name)``.
    """

    tryRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ToolsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("toolsTable")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setShowGrid(False)
        self.table.setCornerButtonEnabled(False)
        rows = self.table.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform: no row measured
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setDefaultSectionSize(180)
        self.about = QPlainTextEdit(self)
        self.about.setObjectName("toolAbout")
        self.about.setReadOnly(True)
        self.about.setPlaceholderText("Select a tool to see its description and parameters.")
        self.schema = QPlainTextEdit(self)
        self.schema.setReadOnly(True)
        self.schema.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.schema.setPlaceholderText("Select a tool to see its input schema.")
        side = QSplitter(Qt.Orientation.Vertical, self)
        side.addWidget(self.about)
        side.addWidget(self.schema)
        self.empty = QLabel(self)
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.try_button = QPushButton("Try tool…", self)
        self.try_button.setObjectName("tryToolButton")
        self.try_button.setToolTip("Call the selected tool with arguments you enter")
        self.try_button.clicked.connect(self._request_try)
        self.try_action = QAction("Try tool…", self.table)
        self.try_action.triggered.connect(self._request_try)
        self.table.addAction(self.try_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.doubleClicked.connect(lambda *_: self._request_try())
        bar = QHBoxLayout()
        bar.addWidget(self.empty, 1)
        bar.addWidget(self.try_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.set_tools([], "No bundle selected.")

    @property
    def _tools(self) -> list[Any]:
        return self.model.tools

    def set_tools(self, tools: list[Any], empty_text: str = "") -> None:
        """Replace the list; keeps the selected tool when it still exists."""
        if len(tools) != len(self._tools) or tools != self._tools:
            current = self.selected_tool()
            keep = current.name if current is not None else None
            self.model.set_tools(tools)
            self._show_current(QModelIndex())
            names = self.tool_names()
            if not self.select(keep) and names:
                self.select(names[0])
            if names and self.table.columnWidth(0) == 0:
                self.table.setColumnWidth(0, 180)
        self.empty.setText(empty_text)
        self.empty.setVisible(not tools and bool(empty_text))

    def select(self, name: str | None) -> bool:
        """Make the tool called ``name`` current; False when there is none."""
        if name is None:
            return False
        row = next((i for i, t in enumerate(self._tools) if t.name == name), None)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, 0))
        return True

    def selected_tool(self) -> Any | None:
        index = self.table.currentIndex()
        return self._tools[index.row()] if index.isValid() else None

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

    def _show_current(self, index: AnyIndex, _prev: Any = None) -> None:
        if not index.isValid():
            self.about.clear()
            self.schema.clear()
            return
        tool = self._tools[index.row()]
        self.about.setPlainText(describe_tool(tool))
        self.schema.setPlainText(json.dumps(tool.input_schema or {}, indent=2, sort_keys=True))

    def tool_names(self) -> list[str]:
        return [t.name for t in self._tools]
