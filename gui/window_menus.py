"""Menus, the toolbar, the status bar and the table's context menu: where every action is reachable.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QToolBar

from gui.env_passthrough_dialog import open_env_passthrough
from gui.pane_focus import add_go_to_menu


class MenusMixin:
    """Part of the main window (see the module docstring)."""

    def _build_menus(self) -> None:
        a = self.bundle_actions
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setObjectName("action_quit")
        self.quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.request_quit)
        self.find_action = QAction("&Filter Bundles", self)
        self.find_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        self.find_action.triggered.connect(self._focus_filter)
        about = QAction("&About Bundle Console", self)
        about.triggered.connect(self._about)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.workspace_panel.new_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        ws_menu = bar.addMenu("&Workspace")
        for action in (
            self.workspace_panel.new_action,
            self.workspace_panel.rename_action,
            self.workspace_panel.delete_action,
        ):
            ws_menu.addAction(action)
        ws_menu.addSeparator()
        for action in self.workspace_panel.bulk_actions:
            ws_menu.addAction(action)
        ws_menu.addSeparator()
        ws_menu.addAction(self.workspace_panel.connect_action)
        self.env_action = QAction("Host &Environment…", self)  # gui.env_passthrough_dialog
        self.env_action.setObjectName("action_env_passthrough")
        self.env_action.triggered.connect(lambda: open_env_passthrough(self))
        ws_menu.addAction(self.env_action)
        bundles_menu = bar.addMenu("&Bundles")
        bundles_menu.addAction(a.install)
        bundles_menu.addAction(a.install_folder)
        bundles_menu.addSeparator()
        bundles_menu.addAction(a.configure)
        bundles_menu.addSeparator()
        bundles_menu.addAction(a.start)
        bundles_menu.addAction(a.stop)
        bundles_menu.addAction(a.restart)
        bundles_menu.addSeparator()
        bundles_menu.addAction(a.protect)
        bundles_menu.addAction(a.rollback)
        bundles_menu.addAction(a.uninstall)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.find_action)
        self.activity_action = QAction("&Clients and Calls…", self)
        self.activity_action.setObjectName("action_activity")
        self.activity_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.activity_action.setStatusTip("AI clients connected to the gateway, and their calls")
        self.activity_action.triggered.connect(self.open_activity)
        view_menu.addAction(self.activity_action)
        view_menu.addSeparator()
        self.go_to_actions = add_go_to_menu(self, view_menu)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(about)
        # Uninstall's Delete shortcut is scoped to the table (not the filter box).
        self.table.addAction(a.uninstall)

    def _build_toolbar(self) -> None:
        a = self.bundle_actions
        tb = QToolBar("Bundle actions", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (a.install, None, a.start, a.stop, a.restart, None, a.configure, a.uninstall):
            if action is None:
                tb.addSeparator()
            else:
                tb.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        self.totals_label = QLabel(self)
        self.totals_label.setObjectName("totalsLabel")
        self.statusBar().addPermanentWidget(self.totals_label)

    def _context_menu(self, pos: QPoint) -> None:
        idx = self.table.indexAt(pos)
        if idx.isValid():
            self.table.selectionModel().setCurrentIndex(
                idx,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        a = self.bundle_actions
        menu = QMenu(self)
        if idx.isValid():
            for action in (
                a.start,
                a.stop,
                a.restart,
                None,
                a.configure,
                None,
                a.protect,
                a.rollback,
                a.uninstall,
            ):
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)
            menu.addSeparator()
        menu.addAction(a.install)
        menu.addAction(a.install_folder)
        menu.popup(self.table.viewport().mapToGlobal(pos))
