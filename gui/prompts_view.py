"""Prompts tab: the prompts the running bundle serves; get one with its arguments.

Arguments are entered in the tool runner's form (gui.schema_form), built from
the prompt's declared arguments (all strings, the required ones marked). Get
asks the bundle itself (``prompts/get`` through the gateway's console
requests); the messages come back redacted and are shown role by role.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.formatting import plain_tip
from gui.schema_form import SchemaForm
from gui.tasks import async_slot

#: ``(name, arguments) -> PromptResult`` (core.gateway.console_requests), set by the pane.
Getter = Callable[[str, dict[str, str]], Awaitable[Any]]


def arguments_schema(prompt: Any) -> dict[str, Any]:
    """A prompt's arguments as a JSON schema for SchemaForm (MCP prompt arguments are strings)."""
    properties: dict[str, Any] = {}
    required = []
    for arg in getattr(prompt, "arguments", None) or []:
        properties[arg.name] = {"type": "string", "description": arg.description or ""}
        if arg.required:
            required.append(arg.name)
    return {"type": "object", "properties": properties, "required": required}


def format_messages(result: Any) -> str:
    lines = []
    if result.description:
        lines += [result.description, ""]
    for message in result.messages:
        kind = "" if message.kind == "text" else f" ({message.kind})"
        lines += [f"[{message.role}]{kind}", message.text, ""]
    return "\n".join(lines).rstrip() + "\n"


class PromptsView(QWidget):
    """List of prompts; the selected one's argument form, Get, and the messages it gave."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptsView")
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("promptsTree")
        self.tree.setHeaderLabels(["Prompt", "Arguments", "Description"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.currentItemChanged.connect(self._picked)
        self.hint = QLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)

        self.form_scroll = QScrollArea(self)
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setMaximumHeight(200)
        self.form: SchemaForm | None = None
        self.get_button = QPushButton("Get prompt", self)
        self.get_button.setObjectName("getPromptButton")
        self.get_button.clicked.connect(lambda: self.get())
        self.status = QLabel(self)
        self.status.setObjectName("promptStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.messages = QPlainTextEdit(self)
        self.messages.setObjectName("promptMessages")
        self.messages.setReadOnly(True)
        self.messages.setPlaceholderText("The messages the bundle returns appear here.")

        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.form_scroll)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.get_button)
        rl.addLayout(row)
        rl.addWidget(self.messages, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hint)
        layout.addWidget(split, 1)

        self._prompts: list[Any] = []
        self._getter: Getter | None = None
        self._busy = False
        self.last_result: Any = None
        self.last_error: str | None = None
        self.gets_done = 0
        self.set_prompts([], "No bundle selected.")

    def set_getter(self, getter: Getter | None) -> None:
        self._getter = getter
        self._sync()

    def set_prompts(self, prompts: list[Any], hint: str = "") -> None:
        keep = self.selected_name()
        self._prompts = list(prompts)
        self.tree.clear()
        for prompt in prompts:
            args = ", ".join(
                a.name + (" *" if a.required else "") for a in (prompt.arguments or [])
            )
            label = prompt.name
            item = QTreeWidgetItem([label, args, prompt.description or ""])
            item.setData(0, Qt.ItemDataRole.UserRole, prompt.name)
            item.setToolTip(2, plain_tip(prompt.description or "") or "")
            self.tree.addTopLevelItem(item)
            if prompt.name == keep:
                self.tree.setCurrentItem(item)
        if self.tree.currentItem() is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        if not prompts:
            self._picked(None)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self._sync()

    def prompt_names(self) -> list[str]:
        return [p.name for p in self._prompts]

    def selected_name(self) -> str | None:
        item = self.tree.currentItem() if hasattr(self, "tree") else None
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == name:
                self.tree.setCurrentItem(self.tree.topLevelItem(i))
                return True
        return False

    def _picked(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        prompt = next((p for p in self._prompts if p.name == name), None)
        old = self.form_scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.form = None
        if prompt is None:
            self.form_scroll.hide()
            self._sync()
            return
        schema = arguments_schema(prompt)
        if schema["properties"]:
            self.form = SchemaForm(schema, self.form_scroll)
            self.form.changed.connect(self._sync)
            self.form_scroll.setWidget(self.form)
            self.form_scroll.show()
        else:
            self.form_scroll.hide()
        self.status.setText("" if schema["properties"] else "This prompt takes no arguments.")
        self._sync()

    def _sync(self) -> None:
        problems = self.form.problems() if self.form is not None else {}
        can = (
            self._getter is not None
            and self.selected_name() is not None
            and not problems
            and not self._busy
        )
        self.get_button.setEnabled(can)
        if self._getter is None:
            why = "Start the bundle to get its prompts."
        elif problems:
            why = "; ".join(f"{k}: {v}" for k, v in problems.items())
        else:
            why = "Ask the bundle for this prompt with these arguments"
        self.get_button.setToolTip(why)

    @async_slot()
    async def get(self) -> None:
        name = self.selected_name()
        if not self.get_button.isEnabled() or name is None or self._getter is None:
            return
        arguments = {k: str(v) for k, v in (self.form.values() if self.form else {}).items()}
        self._busy = True
        self._sync()
        self.status.setText(f"Getting {name}…")
        try:
            result = await self._getter(name, arguments)
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            self.last_result, self.last_error = None, text
            self.status.setText(f"{name} failed: {text}")
            self.messages.clear()
        else:
            self.last_result, self.last_error = result, None
            count = len(result.messages)
            self.status.setText(f"{name}: {count} message{'s' if count != 1 else ''}.")
            self.messages.setPlainText(format_messages(result))
        finally:
            self._busy = False
            self.gets_done += 1
            self._sync()
