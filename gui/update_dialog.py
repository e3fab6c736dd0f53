"""Offered when an install names a bundle the workspace already has: Update (or Replace).

Shows the version change and the ``user_config`` difference from a
:class:`core.updates.UpdatePlan`; "Install as Second Copy" is there only as
an explicit choice. Opened with ``open()``; the choice arrives as ``chosen``.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from core.updates import UpdatePlan


class UpdateDialog(QDialog):
    #: "update" (also for Replace) or "copy"
    chosen = Signal(str)

    def __init__(self, plan: UpdatePlan, ws_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("updateDialog")
        self.plan = plan
        replace = plan.kind == "replace"
        verb = "Replace" if replace else "Update"
        self.setWindowTitle(f"{verb} {plan.label}")
        label = html.escape(plan.label)
        where = html.escape(ws_name)
        if replace:
            text = (
                f"<b>{label} {html.escape(plan.old_version)}</b> is already installed in "
                f"“{where}”. This is the same version: replace its files?"
            )
        else:
            text = (
                f"<b>{label}</b> is already installed in “{where}”.<br>"
                f"Update <b>{html.escape(plan.old_version)} → "
                f"{html.escape(plan.new_version)}</b>?"
            )
        heading = QLabel(text, self)
        heading.setObjectName("updateHeading")
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setWordWrap(True)
        notes = list(plan.diff.notes) or ["Settings: no change."]
        self.notes = QLabel(
            "<ul style='margin-left:-20px'>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
            + "</ul>",
            self,
        )
        self.notes.setObjectName("updateNotes")
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setWordWrap(True)
        keep = QLabel(
            "Its credentials and settings are kept and a running bundle is restarted. "
            f"The current version stays on disk: Roll Back returns to "
            f"{html.escape(plan.old_version)} until the next update.",
            self,
        )
        keep.setWordWrap(True)
        keep.setObjectName("updateKeep")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.notes)
        layout.addWidget(keep)
        if plan.protected:
            protected = QLabel(
                f"{label} is protected: unprotect it (Bundles → Protected) to update it.", self
            )
            protected.setObjectName("updateProtected")
            protected.setWordWrap(True)
            protected.setStyleSheet("color: #b3261e;")
            layout.addWidget(protected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.update_button = buttons.addButton(verb, QDialogButtonBox.ButtonRole.AcceptRole)
        self.update_button.setObjectName("updateButton")
        self.update_button.setEnabled(not plan.protected)
        self.copy_button = buttons.addButton(
            "Install as Second Copy", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.setObjectName("copyButton")
        self.copy_button.setAutoDefault(False)
        if not plan.protected:
            self.update_button.setDefault(True)
        self.update_button.clicked.connect(lambda: self._choose("update"))
        self.copy_button.clicked.connect(lambda: self._choose("copy"))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def _choose(self, choice: str) -> None:
        self.accept()
        self.chosen.emit(choice)
