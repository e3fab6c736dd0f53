"""The New / Rename Workspace editor: a name field whose problems show inline.

An empty name, or one another workspace already has (ignoring case and
spacing: core's rule, asked through ``name_problem``), is an error under the
field with OK disabled, instead of a prompt that silently did nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

EMPTY_NAME = "A workspace needs a name."


class WorkspaceNameDialog(QDialog):
    """Emits :attr:`nameChosen` with the stripped name when OK is pressed on a valid one."""

    nameChosen = Signal(str)

    def __init__(
        self,
        title: str,
        prompt: str,
        text: str = "",
        name_problem: Callable[[str], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspaceNameDialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(360)
        self._name_problem = name_problem
        self._original = text.strip()
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        self.edit = QLineEdit(text, self)
        self.edit.setObjectName("workspaceName")
        label.setBuddy(self.edit)
        self.error = QLabel(self)
        self.error.setObjectName("problems")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # quotes the typed name
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(label)
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)
        self.edit.selectAll()
        self._touched = False
        self._check()

    def problem(self) -> str | None:
        name = self.edit.text().strip()
        if not name:
            return EMPTY_NAME
        if self._name_problem is not None and name != self._original:
            return self._name_problem(name)
        return None

    def _check(self, *_: object) -> None:
        problem = self.problem()
        # An untouched empty field is not scolded yet; OK stays disabled all the same.
        shown = problem if (problem and (self._touched or self.edit.text())) else None
        self._touched = self._touched or bool(self.edit.text())
        self.error.setText(shown or "")
        self.error.setVisible(bool(shown))
        self.edit.setProperty("invalid", bool(shown))
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)
        self.ok.setEnabled(problem is None)

    def _accept(self) -> None:
        if self.problem() is None:
            self.nameChosen.emit(self.edit.text().strip())
            self.accept()
