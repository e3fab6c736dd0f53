"""A sensitive value set through Configure is shown nowhere in the UI afterwards.

After the token is saved (the vault runs with it), the Configure dialog is opened
again and the Logs and Events tabs of the bundle are shown; then every widget's
text (line edits, labels, buttons, text views, titles, tooltips) and every cell of
every item view's model, for the roles a view may render, is searched for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from tests.gui.conftest import server_named, wait_badge, wait_until
from tests.procs import proc_env

ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.EditRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.StatusTipRole,
    Qt.ItemDataRole.WhatsThisRole,
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.AccessibleDescriptionRole,
    *(Qt.ItemDataRole(Qt.ItemDataRole.UserRole + n) for n in range(16)),
]


def widget_texts(widget: QWidget) -> list[str]:
    texts = [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.accessibleName()]
    if isinstance(widget, QLineEdit):
        texts += [widget.text(), widget.placeholderText(), widget.displayText()]
    if isinstance(widget, QLabel | QAbstractButton):
        texts.append(widget.text())
    if isinstance(widget, QPlainTextEdit | QTextEdit):
        texts.append(widget.toPlainText())
    if isinstance(widget, QComboBox):
        texts += [widget.itemText(i) for i in range(widget.count())]
    return texts


def columns(model: Any, parent: QModelIndex) -> int:
    try:
        return int(model.columnCount(parent))
    except TypeError:  # a list model keeps columnCount private: one column
        return 1


def model_texts(model: Any, parent: QModelIndex | None = None) -> list[str]:
    parent = parent or QModelIndex()
    texts: list[str] = []
    for row in range(model.rowCount(parent)):
        for col in range(max(columns(model, parent), 1)):
            index = model.index(row, col, parent)
            texts += [str(model.data(index, role)) for role in ROLES]
            if col == 0 and model.rowCount(index) > 0:  # a tree: walk the children too
                texts += model_texts(model, index)
    for section in range(columns(model, parent)):
        texts.append(str(model.headerData(section, Qt.Orientation.Horizontal)))
    return texts


def everything_on_screen(*tops: QWidget) -> list[str]:
    texts: list[str] = []
    for widget in [w for top in tops for w in (top, *top.findChildren(QWidget))]:
        texts += widget_texts(widget)
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            texts += model_texts(widget.model())
    return texts


async def test_a_saved_secret_appears_in_no_widget(launch: Any) -> None:
    secret = f"tok-{uuid.uuid4().hex}"
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        assert window.select_bundle(vault)
        window.bundle_actions.configure.trigger()
        dialog = window.configure_dialog
        assert dialog is not None
        dialog.editors["api_token"].edit.setText(secret)
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done > 0, what="the save outcome")
        await wait_badge(window, vault, "running")
        inst = host.lifecycle.get_instance(vault, ws)
        assert proc_env(inst.pid)["VAULT_API_TOKEN"] == secret  # it really was set
        dialog.close()

        # open Configure again, and show the bundle's Logs and Events tabs
        window.bundle_actions.configure.trigger()
        dialog = window.configure_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.editors["api_token"].state_label.text() == "● set"
        texts = everything_on_screen(window, dialog)
        for index in range(window.detail.tabs.count()):
            window.detail.tabs.setCurrentIndex(index)
            texts += everything_on_screen(window, dialog)
        assert len(texts) > 100  # the walk really saw the window
        assert [t[:200] for t in texts if secret in t] == []
        dialog.close()
