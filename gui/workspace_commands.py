"""Create, rename and delete workspaces, and Start/Stop/Restart All, from the workspace panel.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from gui.formatting import error_text
from gui.tasks import async_slot


class WorkspaceCommandsMixin:
    """Part of the main window (see the module docstring)."""

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

    def _workspace_name_problem(self, name: str, ws_id: str | None) -> str | None:
        """Core's rule for the name editor's inline error (None before core is loaded)."""
        return self.host.workspace_name_problem(name, ws_id) if self.host is not None else None

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
        self.workspaces.sync(self.host.workspaces())
        self.show_status(f"Deleted workspace “{name}”.")

    @async_slot(str, str)
    async def bulk_action(self, verb: str, ws_id: str) -> None:
        """Start/Stop/Restart All: core paces them like a mass start; one summary here."""
        if self.host is None:
            return
        run = {"start": self.host.start_all, "stop": self.host.stop_all}.get(
            verb, self.host.restart_all
        )
        name = self.workspaces.name_of(ws_id) or ws_id
        doing = {"start": "Starting", "stop": "Stopping"}.get(verb, "Restarting")
        self.show_status(f"{doing} every bundle in {name}…")
        try:
            result = await run(ws_id)
        except Exception as exc:
            self.show_status(f"Cannot {verb} all: {error_text(exc)}", error=True)
            return
        self.show_status(result.summary() + ".", error=not result.ok)
