"""The main window: workspaces (left), bundles (centre), details (bottom), actions.

It is built and shown before core is loaded (a "Loading…" page), then
:meth:`MainWindow.attach` wires it to an open ``Host``. Every action calls
core and reports what core answered; no state is decided here.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.actions import BundleActions
from gui.bridge import LifecycleBridge
from gui.bundle_activity import BundleActivity
from gui.bundle_commands import BundleCommandsMixin
from gui.bundle_model import (
    KEY_ROLE,
    BundleFilterProxy,
    BundleTableModel,
    Column,
    Label,
)
from gui.bundle_table import BundleTable
from gui.configure_dialog import ConfigureDialog
from gui.detail_pane import DetailPane
from gui.events_view import EventHistory
from gui.install_flow import InstallFlowMixin
from gui.settings import GuiSettings
from gui.spinner import Spinner
from gui.window_layout import LayoutMixin
from gui.window_menus import MenusMixin
from gui.workspace_commands import WorkspaceCommandsMixin
from gui.workspace_list import WorkspaceListModel
from gui.workspace_panel import WorkspacePanel

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 8000


class MainWindow(
    MenusMixin,
    BundleCommandsMixin,
    InstallFlowMixin,
    WorkspaceCommandsMixin,
    LayoutMixin,
    QMainWindow,
):
    """Renders what core publishes; see the module docstring."""

    #: Ctrl+Q, File → Quit or closing the window: the app runs its shutdown path.
    quitRequested = Signal()

    def __init__(self, settings: GuiSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or GuiSettings()
        self.host: Any = None
        self.lc: Any = None
        self.bridge = LifecycleBridge(self)
        self.history = EventHistory()
        self.bundles = BundleTableModel(self)
        self.proxy = BundleFilterProxy(self)
        self.proxy.setSourceModel(self.bundles)
        self.activity = BundleActivity(self._repaint_activity, self)
        self.bundles.activity = self.activity
        self.workspaces = WorkspaceListModel(self)
        self.bundle_actions = BundleActions(self)
        self.configure_dialog: ConfigureDialog | None = None
        self.connect_dialog: Any = None
        self.activity_window: Any = None
        #: the console's workspace gateway (core.gateway), once it listens
        self.gateway: Any = None
        self._dialog: QWidget | None = None  # keeps the open file dialog / message box alive
        self._closing = False
        self._current_key: tuple[str, str] | None = None
        self._unsubscribe_history: Any = None

        self.setObjectName("mainWindow")
        self.setWindowTitle("Bundle Console")
        self.resize(1180, 760)
        self._build_pages()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._tick)
        self.clock.start()
        # Workspace summaries and totals count every bundle: recompute them once
        # per burst of events rather than once per event.
        self._dirty_workspaces: set[str] = set()
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(0)
        self._summary_timer.timeout.connect(self._flush_summaries)
        self._restore_layout()
        self.set_loading("Loading workspaces…")

    # -- construction ------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.pages = QStackedWidget(self)
        self.setCentralWidget(self.pages)

        loading = QWidget(self)
        lay = QVBoxLayout(loading)
        lay.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.loading_spinner = Spinner(loading, 22)
        self.loading_label = QLabel(loading)
        self.loading_label.setObjectName("loadingLabel")
        self.loading_label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.loading_spinner)
        row.addWidget(self.loading_label)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(2)
        self.pages.addWidget(loading)

        self.workspace_panel = WorkspacePanel(self.workspaces, self)
        self.workspace_panel.running_bundles = self._live_bundle_labels
        self.workspace_panel.name_problem = self._workspace_name_problem

        centre = QWidget(self)
        centre_lay = QVBoxLayout(centre)
        centre_lay.setContentsMargins(4, 8, 8, 0)
        centre_lay.setSpacing(6)
        head = QHBoxLayout()
        self.ws_title = QLabel(centre)
        self.ws_title.setObjectName("workspaceTitle")
        self.ws_title.setTextFormat(Qt.TextFormat.PlainText)
        self.filter_box = QLineEdit(centre)
        self.filter_box.setObjectName("filterBox")
        self.filter_box.setPlaceholderText("Filter bundles…")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.setMaximumWidth(280)
        head.addWidget(self.ws_title, 1)
        head.addWidget(self.filter_box)
        centre_lay.addLayout(head)
        self.table = BundleTable(centre)
        self.table.setModel(self.proxy)
        centre_lay.addWidget(self.table, 1)
        self.empty_label = QLabel(self.table.viewport())
        self.empty_label.setObjectName("emptyLabel")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)

        self.detail = DetailPane(self.history, self)
        self.vsplit = QSplitter(Qt.Orientation.Vertical, self)
        self.vsplit.setObjectName("detailSplitter")
        self.vsplit.addWidget(centre)
        self.vsplit.addWidget(self.detail)
        self.vsplit.setStretchFactor(0, 3)
        self.vsplit.setStretchFactor(1, 2)
        self.vsplit.setSizes([400, 300])
        self.hsplit = QSplitter(Qt.Orientation.Horizontal, self)
        self.hsplit.setObjectName("mainSplitter")
        self.hsplit.addWidget(self.workspace_panel)
        self.hsplit.addWidget(self.vsplit)
        self.hsplit.setStretchFactor(1, 1)
        self.hsplit.setSizes([230, 950])
        self.pages.addWidget(self.hsplit)

    def _connect(self) -> None:
        a = self.bundle_actions
        a.install.triggered.connect(lambda: self.ask_install(folder=False))
        a.install_folder.triggered.connect(lambda: self.ask_install(folder=True))
        a.configure.triggered.connect(self.open_configure)
        a.start.triggered.connect(lambda: self.start_selected())
        a.stop.triggered.connect(lambda: self.stop_selected())
        a.restart.triggered.connect(lambda: self.restart_selected())
        a.uninstall.triggered.connect(self.ask_uninstall)
        a.protect.toggled.connect(self.set_protected)
        a.rollback.triggered.connect(lambda: self.rollback_selected())
        self.bridge.event.connect(self._on_event)
        self.workspace_panel.selected.connect(self._on_workspace_selected)
        self.workspace_panel.createRequested.connect(self.create_workspace)
        self.workspace_panel.renameRequested.connect(self.rename_workspace)
        self.workspace_panel.deleteRequested.connect(self.delete_workspace)
        self.workspace_panel.connectRequested.connect(self.open_connect)
        self.workspace_panel.bulkRequested.connect(self.bulk_action)
        self.filter_box.textChanged.connect(self.proxy.set_text)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._on_bundle_selected())
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _i: a.configure.trigger())
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._after_rows_changed)
        self.proxy.layoutChanged.connect(self._after_rows_changed)

    # -- loading ---------------------------------------------------------------------

    def set_loading(self, text: str) -> None:
        self.loading_label.setText(text)
        self.loading_spinner.start()
        self.pages.setCurrentIndex(0)
        self.statusBar().showMessage(text)

    def attach(self, host: Any) -> None:
        """Core is open: subscribe to lifecycle events and render the workspaces."""
        self.host = host
        self.lc = host.lifecycle
        self.detail.data_dir = host.data_dir
        self.detail.secrets_summary = host.secrets_status().summary
        self.detail.isolation_for = lambda ws, server: host.isolation(ws, server).summary()
        self.detail.details.fetch = lambda ws, server: (
            host.bundle_details(ws, server),
            host.bundle_icon(ws, server, 64),
        )
        self.detail.provenance.details_for = host.bundle_details
        self.bridge.connect_lifecycle(self.lc)
        if host.history is not None:
            self.history.attach(host.history.store)
            self._unsubscribe_history = host.history.store.subscribe(self.detail.events.on_event)
        self.bundles.attach(self.lc.instances(), self.lc.get_instance, self._describe)
        self.workspaces.set_source(self.bundles.instances)
        self.workspaces.sync(host.workspaces())
        self.loading_spinner.stop()
        self.pages.setCurrentIndex(1)
        self.workspace_panel.set_loaded(True)
        self.workspace_panel.select(self.settings.selected_workspace(host.data_dir))
        self.statusBar().clearMessage()
        self._update_totals()
        self._sync_actions()

    def refresh_workspaces(self) -> None:
        """Re-read the workspace list from core (after seeding or any structural change)."""
        if self.host is not None:
            self.workspaces.sync(self.host.workspaces())
            if self.current_ws_id is None:
                self.workspace_panel.select(None)

    def detach(self) -> None:
        """Stop listening to core (shutdown): late events must not touch half-deleted views."""
        self.bridge.disconnect_lifecycle()
        self.activity.detach()
        if self._unsubscribe_history is not None:
            self._unsubscribe_history()
            self._unsubscribe_history = None
        if self.activity_window is not None:
            self.activity_window.detach()

    def _describe(self, ws_id: str, server_name: str) -> Label:
        manifest = self.host.manifest(ws_id, server_name)
        alias = server_name if server_name != manifest.name else ""
        return Label(manifest.label, manifest.version, alias, self._bundle_icon(ws_id, server_name))

    # -- selection ----------------------------------------------------------------------

    @property
    def current_ws_id(self) -> str | None:
        return self.proxy.ws_id

    def current_key(self) -> tuple[str, str] | None:
        """``(ws_id, server_name)`` of the selected bundle (kept up to date on selection)."""
        return self._current_key

    def _read_current_key(self) -> tuple[str, str] | None:
        idx = self.table.currentIndex()
        if not idx.isValid():
            return None
        return idx.siblingAtColumn(0).data(KEY_ROLE)

    def current_instance(self) -> Any:
        key = self.current_key()
        return self.bundles.instance(*key) if key else None

    def select_bundle(self, server_name: str) -> bool:
        """Select a row of the current workspace by server name (keyboard users and tests)."""
        for row in range(self.proxy.rowCount()):
            idx = self.proxy.index(row, 0)
            if idx.data(KEY_ROLE)[1] == server_name:
                self.table.selectionModel().setCurrentIndex(
                    idx,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                return True
        return False

    def select_workspace(self, ws_id: str) -> None:
        self.workspace_panel.select(ws_id)

    def _on_workspace_selected(self, ws_id: str | None) -> None:
        self.proxy.set_workspace(ws_id)
        name = self.workspaces.name_of(ws_id) if ws_id else None
        self.ws_title.setText(name or "")
        self.workspace_panel.set_loaded(self.host is not None)
        if self.host is not None:
            self.settings.set_selected_workspace(self.host.data_dir, ws_id)
        self._after_rows_changed()

    def _after_rows_changed(self, *_: Any) -> None:
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self.proxy.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        self._update_empty_label()
        self._on_bundle_selected()

    def _update_empty_label(self) -> None:
        if self.proxy.rowCount():
            self.empty_label.hide()
            return
        if self.current_ws_id is None:
            text = "No workspace selected. Create one with File → New Workspace."
        elif self.filter_box.text():
            text = "No bundle matches the filter."
        else:
            text = (
                "No bundles in this workspace yet.\nUse Install… to add a .mcpb file or a folder."
            )
        self.empty_label.setText(text)
        self.empty_label.setGeometry(self.table.viewport().rect())
        self.empty_label.show()

    def _on_bundle_selected(self) -> None:
        key = self._current_key = self._read_current_key()
        label = ""
        if key is not None:
            row = self.bundles.row_for(*key)
            name = self.bundles.index(row, Column.NAME).data() if row is not None else None
            label = str(name or key[1])
        self.detail.show_bundle(self.lc, key, label)
        self._sync_actions()

    def _sync_actions(self) -> None:
        loaded = self.host is not None and self.current_ws_id is not None
        self.bundle_actions.update_for(self.current_instance(), loaded=loaded)
        self._sync_rollback()

    # -- live updates -------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        """One lifecycle event: its row now; summaries once per burst (see _flush_summaries)."""
        # The Events tab is fed by core's history store (attach), which records an
        # event before this runs: a row the insert selects reads it once, from there.
        self.bundles.on_event(event)
        if event.kind == "unregistered":
            self.activity.forget((event.ws_id, event.server_name))
        if self.current_key() == (event.ws_id, event.server_name):
            self.detail.refresh()
            self._sync_actions()
        if event.kind == "transition" and str(event.state) in ("crashed", "dead"):
            self._replace_stale_status(event)
        self._dirty_workspaces.add(event.ws_id)
        if not self._summary_timer.isActive():
            self._summary_timer.start()

    def _replace_stale_status(self, event: Any) -> None:
        """ "Demo Vault started." must not stay up while its badge says Crashed."""
        label = self._label_of((event.ws_id, event.server_name))
        if self.statusBar().currentMessage().startswith(label):
            word = "crashed" if str(event.state) == "crashed" else "failed"
            first = (event.error or "").splitlines()[0] if event.error else ""
            self.show_status(f"{label} {word}" + (f": {first}" if first else "."), error=True)

    def _flush_summaries(self) -> None:
        for ws_id in self._dirty_workspaces:
            self.workspaces.refresh(ws_id)
        self._dirty_workspaces.clear()
        self._update_totals()

    def _tick(self) -> None:
        self.bundles.refresh_clock()
        self.activity.tick()
        if self.current_key() is not None:
            self.detail.refresh()

    def _update_totals(self) -> None:
        if self.lc is None:
            return
        instances = self.lc.instances()
        running = sum(1 for i in instances if str(i.state) == "running")
        crashed = sum(1 for i in instances if str(i.state) == "crashed")
        failed = sum(1 for i in instances if str(i.state) == "dead")
        # All workspaces, and said so: the table beside it shows only one.
        text = f"{running} of {len(instances)} bundles running in all workspaces"
        if crashed:
            text += f" · {crashed} crashed"
        if failed:  # the word the workspace summaries and badges use
            text += f" · {failed} failed"
        self.totals_label.setText(text)

    def open_connect(self, ws_id: str) -> Any:
        """Connect a client…: the snippets for one workspace (``open()``, never ``exec()``)."""
        if self.host is None:
            return None
        from gui.connect_dialog import open_connect_dialog

        self.connect_dialog = open_connect_dialog(self, self.host, ws_id)
        return self.connect_dialog

    def set_gateway(self, gateway: Any) -> None:
        """The gateway started (or not): Try a tool calls through it, the activity view shows it."""
        self.gateway = gateway
        self.detail.gateway = gateway
        self.activity.attach(gateway)
        self._repaint_activity(None)
        if self.activity_window is not None:
            self.activity_window.attach(gateway, gateway.history() if gateway else [])

    def _repaint_activity(self, keys: Any) -> None:
        """The Calls and Last call error cells of ``keys`` (None: every row)."""
        if keys is None:
            keys = [self.bundles.key_at(i) for i in range(self.bundles.rowCount())]
        self.bundles.refresh_cells(keys, Column.CALLS, Column.CALL_ERROR)

    def open_activity(self) -> Any:
        """Clients and Calls: one window, attached to the console's gateway when it runs."""
        from gui.activity_window import ActivityWindow

        if self.activity_window is None:
            self.activity_window = ActivityWindow(self)
        gateway = self.gateway
        if self.activity_window.gateway is not gateway:
            history = list(gateway.history()) if gateway is not None else []
            self.activity_window.attach(gateway, history)
        self.activity_window.show()
        self.activity_window.raise_()
        return self.activity_window

    def show_status(self, text: str, *, error: bool = False) -> None:
        if error:
            log.warning("%s", text)
        self.statusBar().showMessage(text, STATUS_TIMEOUT_MS * (2 if error else 1))

    # -- misc ---------------------------------------------------------------------------

    def _focus_filter(self) -> None:
        self.filter_box.setFocus()
        self.filter_box.selectAll()

    def _about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About Bundle Console")
        box.setText("<b>Bundle Console</b>")
        box.setInformativeText(
            "An admin console for MCP bundles: per-workspace credentials, "
            "safe restarts and live status."
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog = box
        box.open()

    # -- quitting ---------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._closing

    def request_quit(self) -> None:
        """Every quit path ends here; the app then stops bundles before the loop closes."""
        if self._closing:
            return
        self._closing = True
        self.save_layout()
        self.set_loading("Stopping bundles…")
        self.quitRequested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.request_quit()
        event.accept()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.empty_label.isVisible():
            self.empty_label.setGeometry(self.table.viewport().rect())

    # Used by tests to reach rows without knowing proxy internals.
    def proxy_index(self, server_name: str, column: Column = Column.STATUS) -> QModelIndex:
        for row in range(self.proxy.rowCount()):
            idx = self.proxy.index(row, 0)
            if idx.data(KEY_ROLE)[1] == server_name:
                return self.proxy.index(row, column)
        return QModelIndex()
