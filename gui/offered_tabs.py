"""The details pane's Prompts and Resources tabs, beside Tools, for bundles that offer them.

:meth:`OfferedTabs.follow` is called whenever the pane re-renders (selection,
events, the one-second clock); it asks the bundle again only when the
selected bundle or its process changed, so an idle pane costs nothing. A tab
is shown when the bundle's last process listed something in it; while the
bundle is not running the tab stays, with a hint, and its buttons are off.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtWidgets import QTabWidget

from gui.prompts_view import PromptsView
from gui.resources_view import ResourcesView

log = logging.getLogger(__name__)


class OfferedTabs:
    """Owns the two views; ``tabs`` is the pane's QTabWidget, ``after`` the Tools tab."""

    def __init__(self, tabs: QTabWidget, after: Any) -> None:
        self.tabs = tabs
        self.prompts = PromptsView(tabs)
        self.resources = ResourcesView(tabs)
        at = tabs.indexOf(after) + 1
        tabs.insertTab(at, self.prompts, "Prompts")
        tabs.insertTab(at + 1, self.resources, "Resources")
        self._show_tabs(False, False)
        self._signature: Any = None
        self._task: asyncio.Task[Any] | None = None
        #: (ws_id, server) -> (any prompts, any resources) its last process listed
        self._known: dict[tuple[str, str], tuple[bool, bool]] = {}
        #: fetches completed, cancelled ones not counted (for observers and tests)
        self.fetches_done = 0

    def _show_tabs(self, prompts: bool, resources: bool) -> None:
        self.tabs.setTabVisible(self.tabs.indexOf(self.prompts), prompts)
        self.tabs.setTabVisible(self.tabs.indexOf(self.resources), resources)

    def follow(self, gateway: Any, key: tuple[str, str] | None, inst: Any) -> None:
        running = inst is not None and str(inst.state) == "running"
        signature = (id(gateway), key, inst.pid if running else None, running)
        if signature == self._signature:
            return
        self._signature = signature
        if self._task is not None:
            self._task.cancel()
            self._task = None
        known = self._known.get(key, (False, False)) if key is not None else (False, False)
        self._show_tabs(*known)
        if key is None or gateway is None or not running:
            why = (
                "No bundle selected."
                if key is None
                else "The gateway is not running."
                if gateway is None
                else "Start the bundle to see what it serves."
            )
            self.prompts.set_getter(None)
            self.resources.set_reader(None)
            if key is None or not any(known):
                self.prompts.set_prompts([], why)
                self.resources.set_offer([], [], why)
            else:
                self.prompts.hint.setText(why)
                self.prompts.hint.show()
                self.resources.hint.setText(why)
                self.resources.hint.show()
            return
        ws_id, server = key
        self.prompts.set_getter(lambda name, args: gateway.get_prompt(ws_id, server, name, args))
        self.resources.set_reader(lambda uri: gateway.read_resource(ws_id, server, uri))
        self._task = asyncio.ensure_future(self._fetch(gateway, key))

    def refetch(self) -> None:
        """Ask again on the next :meth:`follow` (a bundle's list changed)."""
        self._signature = None

    async def _fetch(self, gateway: Any, key: tuple[str, str]) -> None:
        ws_id, server = key
        try:
            offered = await gateway.offered(ws_id, server)
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            log.info("listing what %s offers failed: %s", server, text)
            self.prompts.set_prompts([], f"Could not list the prompts: {text}")
            self.resources.set_offer([], [], f"Could not list the resources: {text}")
        else:
            # SDK servers declare both capabilities even with nothing to list.
            known = (bool(offered.prompts), bool(offered.resources or offered.templates))
            self._known[key] = known
            self._show_tabs(*known)
            self.prompts.set_prompts(
                offered.prompts, "" if offered.prompts else "This bundle serves no prompts."
            )
            empty = not offered.resources and not offered.templates
            self.resources.set_offer(
                offered.resources,
                offered.templates,
                "This bundle serves no resources." if empty else "",
            )
        self.fetches_done += 1  # not counted when cancelled (another bundle was selected)
