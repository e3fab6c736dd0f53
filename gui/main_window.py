"""The main window: workspaces (left), bundles (centre), details (bottom), actions.

It is built and shown before core is loaded (a "Loading…" page), then
:meth:`MainWindow.attach` wires it to an open ``Host``. Every action calls
core and reports what core answered; no state is decided here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.errors import SignatureError
from gui.actions import BundleActions
from gui.bridge import LifecycleBridge
from gui.bundle_model import (
    KEY_ROLE,
    LABEL_ROLE,
    BundleFilterProxy,
    BundleTableModel,
    Column,
    Label,
)
from gui.bundle_table import BundleTable
from gui.configure_dialog import ConfigureDialog
from gui.detail_pane import DetailPane
from gui.events_view import EventHistory
from gui.settings import GuiSettings
from gui.spinner import Spinner
from gui.tasks import async_slot
from gui.workspace_list import WorkspaceListModel
from gui.workspace_panel import WorkspacePanel

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 8000


def error_text(exc: BaseException) -> str:
    """Core's ConsoleError messages are complete sentences; anything else gets its type."""
    text = str(exc)
    return text if text else type(exc).__name__


class MainWindow(QMainWindow):
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
        ws_menu.addAction(self.workspace_panel.connect_action)
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
        bundles_menu.addAction(a.uninstall)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.find_action)
        self.activity_action = QAction("&Clients and Calls…", self)
        self.activity_action.setObjectName("action_activity")
        self.activity_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.activity_action.setStatusTip("AI clients connected to the gateway, and their calls")
        self.activity_action.triggered.connect(self.open_activity)
        view_menu.addAction(self.activity_action)
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
        self.bridge.event.connect(self._on_event)
        self.workspace_panel.selected.connect(self._on_workspace_selected)
        self.workspace_panel.createRequested.connect(self.create_workspace)
        self.workspace_panel.renameRequested.connect(self.rename_workspace)
        self.workspace_panel.deleteRequested.connect(self.delete_workspace)
        self.workspace_panel.connectRequested.connect(self.open_connect)
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
        self.bridge.connect_lifecycle(self.lc)
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
        if self.activity_window is not None:
            self.activity_window.detach()

    def _describe(self, ws_id: str, server_name: str) -> Label:
        manifest = self.host.manifest(ws_id, server_name)
        alias = server_name if server_name != manifest.name else ""
        return Label(manifest.label, manifest.version, alias)

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

    # -- live updates -------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        """One lifecycle event: its row now; summaries once per burst (see _flush_summaries)."""
        self.history.add(event)
        self.bundles.on_event(event)
        self.detail.events.on_event(event)
        if event.kind == "unregistered":
            self.history.forget(event.ws_id, event.server_name)
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
        if self.activity_window is not None:
            self.activity_window.attach(gateway, gateway.history() if gateway else [])

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

    # -- bundle actions -------------------------------------------------------------------

    def _label_of(self, key: tuple[str, str]) -> str:
        row = self.bundles.row_for(*key)
        if row is None:
            return key[1]
        return str(self.bundles.index(row, Column.NAME).data(LABEL_ROLE).display_name)

    @async_slot()
    async def start_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Starting {label}…")
        result = await self.lc.start_bundle(key[1], key[0])
        self._report(label, "started", result)

    @async_slot()
    async def stop_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Stopping {label}…")
        result = await self.lc.stop_bundle(key[1], key[0])
        self._report(label, "stopped", result)

    @async_slot()
    async def restart_selected(self) -> None:
        key = self.current_key()
        if key is None or self.lc is None:
            return
        label = self._label_of(key)
        self.show_status(f"Restarting {label}…")
        result = await self.lc.respawn_bundle(key[1], key[0])
        self._report(label, "restarted", result)

    def _report(self, label: str, verb: str, result: Any) -> None:
        if result.ok:
            self.show_status(f"{label} {verb}.")
        elif result.outcome == "needs_setup":
            self.show_status(f"{label} needs setup: {result.error}", error=True)
        elif result.outcome == "protected":
            self.show_status(f"{label} is protected: {result.error}", error=True)
        elif result.outcome == "stopped":  # a Stop asked for later won: not a failure
            self.show_status(f"{label} was stopped before it was {verb}, as asked.")
        else:
            self.show_status(f"{label} could not be {verb}: {result.error}", error=True)

    def open_configure(self) -> None:
        """Open Configure with ``open()`` (never ``exec()``: no nested loop)."""
        key = self.current_key()
        if key is None or self.host is None:
            return
        try:
            dialog = ConfigureDialog(self.host, key[0], key[1], self)
        except Exception as exc:
            self.show_status(f"Cannot configure {key[1]}: {error_text(exc)}", error=True)
            return
        dialog.saved.connect(lambda _res, text, k=key: self._after_configure(k, text))
        dialog.finished.connect(dialog.deleteLater)
        self.configure_dialog = dialog
        dialog.open()

    def _after_configure(self, key: tuple[str, str], text: str) -> None:
        self.bundles.refresh_row(*key)
        self.show_status(f"{self._label_of(key)}: {text}.")

    def ask_install(self, *, folder: bool) -> None:
        if self.current_ws_id is None:
            return
        ws_id = self.current_ws_id
        if folder:
            dlg = QFileDialog(self, "Install bundle from folder")
            dlg.setFileMode(QFileDialog.FileMode.Directory)
            dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dlg = QFileDialog(self, "Install bundle")
            dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
            dlg.setNameFilters(["MCP bundles (*.mcpb manifest.json)", "All files (*)"])
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.fileSelected.connect(lambda path: self.install(ws_id, path))
        self._dialog = dlg
        dlg.open()

    @async_slot(str, str)
    async def install(self, ws_id: str, path: str, allow_invalid_signature: bool = False) -> None:
        """Install a ``.mcpb``, a folder, or the folder of a chosen ``manifest.json``."""
        source = Path(path)
        if source.name == "manifest.json":
            source = source.parent
        self.show_status(f"Installing {source.name}…")
        try:
            inst = await self.host.install_bundle(
                ws_id, source, allow_invalid_signature=allow_invalid_signature
            )
        except SignatureError as exc:
            self.show_status(f"Install refused: {error_text(exc)}", error=True)
            self._ask_signature_override(ws_id, path, str(exc))
            return
        except Exception as exc:
            self.show_status(f"Install failed: {error_text(exc)}", error=True)
            return
        label = self._label_of((ws_id, inst.server_name))
        hint = " It needs setup: use Configure…" if inst.needs_setup else " Press Start to run it."
        signature = self.host.signature(ws_id, inst.server_name)
        signed = f" {signature.summary}." if signature is not None else ""
        self.show_status(f"Installed {label}.{signed}{hint}")
        if ws_id == self.current_ws_id:
            self.select_bundle(inst.server_name)

    def _ask_signature_override(self, ws_id: str, path: str, reason: str) -> None:
        """An invalid signature installs only after an explicit, default-No confirmation."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Invalid Signature",
            "This bundle's signature does not match its contents: it was changed after "
            "it was signed, or the signature is damaged.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText(
            "Install it anyway only if you trust where it came from. The override is recorded."
        )
        box.setDetailedText(reason)
        anyway = box.addButton("Install Anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda b: b is anyway and self.install(ws_id, path, allow_invalid_signature=True)
        )
        self._dialog = box
        box.open()

    def ask_uninstall(self) -> None:
        key = self.current_key()
        if key is None:
            return
        label = self._label_of(key)
        ws_name = self.workspaces.name_of(key[0]) or key[0]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Uninstall Bundle",
            f"Uninstall {label} from workspace “{ws_name}”?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText("The bundle is stopped and its stored settings are removed.")
        box.setTextFormat(Qt.TextFormat.PlainText)  # the label is the bundle's display name
        uninstall = box.addButton("Uninstall", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: b is uninstall and self.uninstall(key[0], key[1]))
        self._dialog = box
        box.open()

    @async_slot(str, str)
    async def uninstall(self, ws_id: str, server_name: str) -> None:
        label = self._label_of((ws_id, server_name))
        self.show_status(f"Uninstalling {label}…")
        try:
            await self.host.uninstall_bundle(ws_id, server_name)
        except Exception as exc:
            self.show_status(f"Uninstall failed: {error_text(exc)}", error=True)
            return
        self.show_status(f"Uninstalled {label}.")

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

    def set_protected(self, protected: bool) -> None:
        """The Protected toggle: core saves the flag; the lock and actions follow."""
        key = self.current_key()
        if key is None or self.host is None:
            return
        try:
            self.host.set_protected(key[0], key[1], protected)
        except Exception as exc:
            self.show_status(f"Cannot change protection: {error_text(exc)}", error=True)
        else:
            label = self._label_of(key)
            self.show_status(
                f"{label} is protected: restarts and uninstall are refused."
                if protected
                else f"{label} is no longer protected."
            )
        self.bundles.refresh_row(key[0], key[1])
        self._sync_actions()

    # -- workspaces ------------------------------------------------------------------------

    def create_workspace(self, name: str) -> None:
        try:
            ws = self.host.create_workspace(name)
        except Exception as exc:
            self.show_status(f"Cannot create workspace: {error_text(exc)}", error=True)
            return
        self.workspaces.sync(self.host.workspaces())
        self.select_workspace(ws.id)
        self.show_status(f"Created workspace “{ws.name}”.")

    def rename_workspace(self, ws_id: str, name: str) -> None:
        try:
            ws = self.host.rename_workspace(ws_id, name)
        except Exception as exc:
            self.show_status(f"Cannot rename workspace: {error_text(exc)}", error=True)
            return
        self.workspaces.sync(self.host.workspaces())
        if ws_id == self.current_ws_id:
            self.ws_title.setText(ws.name)
        self.show_status(f"Renamed workspace to “{ws.name}”.")

    def _live_bundle_labels(self, ws_id: str) -> list[str]:
        """Display names of the workspace's bundles that have a process (or are about to)."""
        if self.host is None:
            return []
        live = []
        for bundle in self.host.workspace(ws_id).bundles:
            inst = self.lc.get_instance(bundle.server_name, ws_id) if self.lc else None
            if inst is not None and str(inst.state) in ("starting", "running", "crashed"):
                live.append(self._label_of((ws_id, bundle.server_name)))
        return sorted(live)

    @async_slot(str)
    async def delete_workspace(self, ws_id: str) -> None:
        name = self.workspaces.name_of(ws_id) or ws_id
        self.show_status(f"Deleting workspace “{name}”…")
        try:
            await self.host.delete_workspace(ws_id)
        except Exception as exc:
            self.show_status(f"Cannot delete workspace: {error_text(exc)}", error=True)
            return
        self.bundles.remove_workspace(ws_id)
        self.history.forget(ws_id)
        self.workspaces.sync(self.host.workspaces())
        self.show_status(f"Deleted workspace “{name}”.")

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

    # -- layout persistence and quitting ---------------------------------------------------

    def _restore_layout(self) -> None:
        s = self.settings
        if (geometry := s.geometry) is not None:
            self.restoreGeometry(geometry)
        if (state := s.window_state) is not None:
            self.restoreState(state)
        if (sizes := s.splitter("main")) is not None:
            self.hsplit.restoreState(sizes)
        if (sizes := s.splitter("detail")) is not None:
            self.vsplit.restoreState(sizes)
        if (header := s.header("bundles")) is not None:
            self.table.horizontalHeader().restoreState(header)

    def save_layout(self) -> None:
        self.settings.save_window(
            self.saveGeometry(),
            self.saveState(),
            {"main": self.hsplit.saveState(), "detail": self.vsplit.saveState()},
            {"bundles": self.table.horizontalHeader().saveState()},
        )
        if self.host is not None:
            self.settings.set_selected_workspace(self.host.data_dir, self.current_ws_id)
        self.settings.sync()

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
