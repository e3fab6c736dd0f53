"""Bottom pane: a one-line summary of the selected bundle and its Logs / Tools / Events tabs."""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from gui.bundle_details_view import BundleDetailsView
from gui.events_view import EventHistory, EventsView
from gui.formatting import format_duration
from gui.log_view import LogView
from gui.offered_tabs import OfferedTabs
from gui.provenance_box import ProvenanceBox
from gui.start_failure_banner import StartFailureBanner
from gui.tools_view import ToolsView


class DetailPane(QWidget):
    """Renders one bundle; :meth:`show_bundle` switches, :meth:`refresh` re-reads it."""

    def __init__(self, history: EventHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self.title = QLabel(self)
        self.title.setObjectName("detailTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.logs = LogView(self)
        self.tools = ToolsView(self)
        self.events = EventsView(history, self)
        self.tabs.addTab(self.logs, "Logs")
        self.tabs.addTab(self.tools, "Tools")
        self.tabs.addTab(self.events, "Events")
        self.offered = OfferedTabs(self.tabs, after=self.tools)  # Prompts, Resources
        self.details = BundleDetailsView(self)  # manifest metadata and provenance
        self.tabs.addTab(self.details, "Details")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        self.start_failure = StartFailureBanner(self)  # why it failed, above the Logs tab
        layout.addWidget(self.start_failure)
        self.provenance = ProvenanceBox(self)  # signature verdict, install warnings
        layout.addWidget(self.provenance)
        layout.addWidget(self.tabs, 1)
        self._lc: Any = None
        self._key: tuple[str, str] | None = None
        self._label = ""
        #: where sensitive values are kept ("Secrets: OS keyring (...)"), set by the window
        self.secrets_summary = ""
        #: (ws_id, server) -> the bundle's isolation line (core.sandbox), set by the window
        self.isolation_for: Any = None
        #: the data dir of the Host shown (tool arguments are remembered per data dir)
        self.data_dir: Any = None
        #: the open "Try a tool" dialog, if any
        self.tool_runner: Any = None
        #: the console's gateway: tried calls go its way (wait through a respawn, recorded)
        self.gateway: Any = None
        self.tools.tryRequested.connect(self.try_tool)
        self.show_bundle(None, None)

    def show_bundle(self, lc: Any, key: tuple[str, str] | None, label: str = "") -> None:
        """Point the tabs at ``key = (ws_id, server_name)`` (None: nothing selected)."""
        if key == self._key and lc is self._lc:
            self.refresh()
            return
        self._lc, self._key, self._label = lc, key, label
        if lc is None or key is None:
            self.logs.set_source(None, None)
            self.events.set_key(None)
        else:
            ws_id, server = key
            self.logs.set_source(
                lambda: lc.read_log(server, ws_id, max_lines=500),
                lambda: lc.log_path(server, ws_id),
            )
            self.events.set_key(key)
        self.details.show_key(key)
        self.refresh()

    def refresh(self) -> None:
        inst = self._instance()
        self.start_failure.update_for(inst, self._label)
        self.offered.follow(self.gateway, self._key, inst)
        self.provenance.show_key(self._key if inst is not None else None)
        if inst is None:
            self.title.setText("Select a bundle to see its logs, tools and events.")
            self.tools.set_tools([], "No bundle selected.")
            return
        parts = [f"<b>{html.escape(self._label)}</b>", str(inst.state)]
        if inst.pid:
            parts.append(f"pid {inst.pid}")
        if str(inst.state) == "running" and inst.started_at:
            parts.append(f"up {format_duration(time.time() - inst.started_at)}")
        parts.append(f"{len(inst.tools)} tools")
        if inst.protected:
            parts.append("protected")
        if self.secrets_summary:
            parts.append(self.secrets_summary)
        if self.isolation_for is not None and self._key is not None:
            try:
                parts.append(html.escape(self.isolation_for(*self._key)))
            except Exception:  # uninstalled meanwhile: the next refresh has no key
                pass
        self.title.setText("  ·  ".join(parts))
        hint = (
            ""
            if inst.tools
            else (
                "Tools appear once the bundle is running."
                if str(inst.state) != "running"
                else "This bundle reported no tools."
            )
        )
        self.tools.set_tools(list(inst.tools), hint)
        running = str(inst.state) == "running"
        self.tools.set_try_enabled(running, "" if running else "Start the bundle to try its tools.")

    def try_tool(self, tool_name: str) -> Any:
        """Open the tool runner for ``tool_name`` of the bundle shown (``open()``, never exec)."""
        from gui.settings import GuiSettings
        from gui.tool_runner import ToolRunner

        inst = self._instance()
        if inst is None or self._key is None:
            return None
        tool = next((t for t in inst.tools if t.name == tool_name), None)
        if tool is None:
            return None
        lc, (ws_id, server) = self._lc, self._key
        settings = GuiSettings()
        data_dir = self.data_dir

        gateway = self.gateway

        async def call(arguments: dict[str, Any]) -> Any:
            if gateway is not None:
                return await gateway.call_tool(
                    ws_id, server, tool_name, arguments, client_name="Bundle Console (Try a tool)"
                )
            return await lc.call_tool(server, ws_id, tool_name, arguments)

        def remember(arguments: dict[str, Any]) -> None:
            if data_dir is not None:
                settings.set_tool_arguments(data_dir, ws_id, server, tool_name, arguments)
                settings.set_last_tried_tool(data_dir, ws_id, server, tool_name)
                settings.sync()

        last = settings.tool_arguments(data_dir, ws_id, server, tool_name) if data_dir else {}
        if self.tool_runner is not None:
            self.tool_runner.close()
        runner = ToolRunner(
            self._label or server,
            tool,
            call,
            last_arguments=last,
            remember=remember,
            parent=self.window(),
        )
        runner.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        runner.destroyed.connect(lambda *_: setattr(self, "tool_runner", None))
        self.tool_runner = runner
        runner.open()
        return runner

    def _instance(self) -> Any:
        if self._lc is None or self._key is None:
            return None
        ws_id, server = self._key
        return self._lc.get_instance(server, ws_id)

    @property
    def key(self) -> tuple[str, str] | None:
        return self._key
