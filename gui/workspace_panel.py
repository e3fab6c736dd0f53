"""Left panel: the workspace list with New / Rename / Delete.

Name prompts and the delete confirmation are opened with ``open()`` (no
nested loop); the panel only emits requests, the window performs them in core.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.icons import action_icon
from gui.workspace_list import WS_ID_ROLE, WorkspaceDelegate, WorkspaceListModel
from gui.workspace_name_dialog import WorkspaceNameDialog


class WorkspacePanel(QWidget):
    """Shows workspaces and asks for create / rename / delete."""

    selected = Signal(object)  # ws_id or None
    createRequested = Signal(str)  # name
    renameRequested = Signal(str, str)  # ws_id, new name
    deleteRequested = Signal(str)  # ws_id
    connectRequested = Signal(str)  # ws_id: "Connect a client…"
    bulkRequested = Signal(str, str)  # "start" | "stop" | "restart", ws_id

    #: labels of a workspace's live bundles, named in the delete confirmation (set by the window)
    running_bundles: Callable[[str], list[str]] = staticmethod(lambda _ws_id: [])
    #: (name, ws_id being renamed or None) -> why the name cannot be used (set by the window)
    name_problem: Callable[[str, str | None], str | None] = staticmethod(lambda _n, _w: None)

    def __init__(self, model: WorkspaceListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspacePanel")
        self.model = model
        title = QLabel("Workspaces", self)
        title.setObjectName("panelTitle")
        self.view = QListView(self)
        self.view.setObjectName("workspaceList")
        self.view.setModel(model)
        self.view.setItemDelegate(WorkspaceDelegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().currentChanged.connect(
            lambda cur, _prev: self.selected.emit(cur.data(WS_ID_ROLE) if cur.isValid() else None)
        )
        model.rowsRemoved.connect(self._after_remove)

        self.new_action = QAction(action_icon("add"), "&New Workspace…", self)
        self.new_action.setShortcut(QKeySequence(QKeySequence.StandardKey.New))
        self.new_action.setStatusTip("Create an empty workspace")
        self.new_action.triggered.connect(self.ask_create)
        self.rename_action = QAction(action_icon("rename"), "Re&name Workspace…", self)
        self.rename_action.setShortcut(QKeySequence("F2"))
        self.rename_action.setStatusTip("Rename the selected workspace")
        self.rename_action.triggered.connect(self.ask_rename)
        self.delete_action = QAction(action_icon("delete"), "&Delete Workspace…", self)
        self.delete_action.setStatusTip("Stop its bundles and delete the workspace")
        self.delete_action.triggered.connect(self.ask_delete)
        self.connect_action = QAction("&Connect a Client…", self)
        self.connect_action.setObjectName("action_connect_client")
        self.connect_action.setShortcut(QKeySequence("Ctrl+K"))
        self.connect_action.setStatusTip("Show the config an AI client needs to use this workspace")
        self.connect_action.triggered.connect(self._request_connect)
        self.bulk_actions = []
        for verb, text, tip in (
            ("start", "&Start All", "Start every bundle of the workspace"),
            ("stop", "St&op All", "Stop every bundle of the workspace (protected ones stay up)"),
            ("restart", "R&estart All", "Restart every running bundle of the workspace"),
        ):
            action = QAction(action_icon(verb), text, self)
            action.setObjectName(f"action_{verb}_all")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, v=verb: self._request_bulk(v))
            self.bulk_actions.append(action)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for action in (self.new_action, self.rename_action, self.delete_action):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            buttons.addWidget(button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 6)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self._dialog: QWidget | None = None
        self.set_loaded(False)

    def set_loaded(self, loaded: bool) -> None:
        self.new_action.setEnabled(loaded)
        has = loaded and self.current_ws_id() is not None
        self.rename_action.setEnabled(has)
        self.delete_action.setEnabled(has)
        self.connect_action.setEnabled(has)
        for action in self.bulk_actions:
            action.setEnabled(has)

    def _request_bulk(self, verb: str) -> None:
        ws_id = self.current_ws_id()
        if ws_id is not None:
            self.bulkRequested.emit(verb, ws_id)

    def _request_connect(self) -> None:
        ws_id = self.current_ws_id()
        if ws_id is not None:
            self.connectRequested.emit(ws_id)

    def current_ws_id(self) -> str | None:
        idx = self.view.currentIndex()
        return idx.data(WS_ID_ROLE) if idx.isValid() else None

    def select(self, ws_id: str | None) -> None:
        row = self.model.row_of(ws_id) if ws_id else None
        if row is None:
            row = 0 if self.model.rowCount() else None
        if row is None:
            self.selected.emit(None)
            return
        self.view.selectionModel().setCurrentIndex(
            self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def _after_remove(self, *_: object) -> None:
        if self.current_ws_id() is None:
            self.select(None)

    def _context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction(self.new_action)
        menu.addAction(self.rename_action)
        menu.addAction(self.delete_action)
        menu.addSeparator()
        for action in self.bulk_actions:
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.connect_action)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    # -- prompts (all non-blocking) ----------------------------------------------

    def _prompt(
        self, title: str, label: str, text: str, ws_id: str | None = None
    ) -> WorkspaceNameDialog:
        dlg = WorkspaceNameDialog(
            title, label, text, lambda name: self.name_problem(name, ws_id), self
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog = dlg
        return dlg

    def ask_create(self) -> WorkspaceNameDialog:
        dlg = self._prompt("New Workspace", "Name of the new workspace:", "")
        dlg.nameChosen.connect(self.createRequested.emit)
        dlg.open()
        return dlg

    def ask_rename(self) -> WorkspaceNameDialog | None:
        ws_id = self.current_ws_id()
        if ws_id is None:
            return None
        dlg = self._prompt("Rename Workspace", "New name:", self.model.name_of(ws_id) or "", ws_id)
        dlg.nameChosen.connect(lambda name: self.renameRequested.emit(ws_id, name))
        dlg.open()
        return dlg

    def ask_delete(self) -> None:
        ws_id = self.current_ws_id()
        if ws_id is None:
            return
        name = self.model.name_of(ws_id) or ws_id
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete Workspace",
            f"Delete workspace “{name}”?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        running = self.running_bundles(ws_id)
        now = (
            f"Running now, and stopped by the deletion: {', '.join(running)}.\n\n"
            if running
            else ""
        )
        box.setInformativeText(
            now + "Its bundles are stopped; its stored credentials, logs and process records "
            "are removed. Installed bundle files shared with other workspaces are kept."
        )
        box.setTextFormat(Qt.TextFormat.PlainText)  # names are the administrator's text
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: b is delete and self.deleteRequested.emit(ws_id))
        self._dialog = box
        box.open()
