"""The bundle actions, shared by the menu bar, toolbar and context menu.

Enabling follows what core publishes (state, ``protected``, ``needs_setup``):
the GUI never guesses, it only avoids offering what core would refuse.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from gui.icons import action_icon

#: States from which Start makes sense.
STARTABLE = frozenset({"stopped", "crashed", "dead"})
#: States from which Stop makes sense.
STOPPABLE = frozenset({"starting", "running", "crashed"})


class BundleActions(QObject):
    """Owns the QActions; :meth:`update_for` sets their enabled state and tooltips."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)

        def make(text: str, name: str, shortcut: Any, tip: str) -> QAction:
            action = QAction(text, parent)
            action.setObjectName(f"action_{name}")
            action.setIcon(action_icon(name))
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.setToolTip(
                tip if shortcut is None else f"{tip} ({action.shortcut().toString()})"
            )
            return action

        Std = QKeySequence.StandardKey
        self.install = make("&Install…", "install", Std.Open, "Install a bundle (.mcpb or folder)")
        self.install_folder = make(
            "Install from &Folder…", "install", "Ctrl+Shift+O", "Install an unpacked bundle folder"
        )
        self.configure = make("&Configure…", "configure", "Ctrl+E", "Edit the bundle's settings")
        self.start = make("&Start", "start", "Ctrl+Return", "Start the bundle")
        self.stop = make("S&top", "stop", "Ctrl+.", "Stop the bundle")
        self.restart = make("&Restart", "restart", Std.Refresh, "Restart the bundle")
        self.uninstall = make("&Uninstall…", "uninstall", Std.Delete, "Uninstall the bundle")
        self.protect = make(
            "&Protected", "configure", None, "Protect the bundle: refuse restarts and uninstall"
        )
        self.protect.setCheckable(True)
        self.rollback = make(
            "Roll &Back", "restart", None, "Go back to the version the last update replaced"
        )
        # Delete must not fire while typing in the filter or search boxes.
        self.uninstall.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.bundle_actions = [
            self.configure,
            self.start,
            self.stop,
            self.restart,
            self.uninstall,
            self.protect,
        ]
        self.update_for(None, loaded=False)

    def update_for(self, inst: Any | None, *, loaded: bool = True) -> None:
        self.install.setEnabled(loaded)
        self.install_folder.setEnabled(loaded)
        if inst is None:
            for action in self.bundle_actions:
                action.setEnabled(False)
            self.rollback.setEnabled(False)
            return
        state = str(inst.state)
        protected = bool(inst.protected)
        self.configure.setEnabled(True)
        self.protect.setEnabled(state != "stopping")
        self.protect.blockSignals(True)  # reflecting core's state is not a request
        self.protect.setChecked(protected)
        self.protect.blockSignals(False)
        self.start.setEnabled(state in STARTABLE and not inst.needs_setup)
        self.stop.setEnabled(state in STOPPABLE and not protected)
        self.restart.setEnabled(state != "stopping" and not protected and not inst.needs_setup)
        self.uninstall.setEnabled(not protected and state != "stopping")
        why = " (protected bundle)" if protected else ""
        for action, tip in (
            (self.stop, "Stop the bundle"),
            (self.restart, "Restart the bundle"),
            (self.uninstall, "Uninstall the bundle"),
        ):
            action.setStatusTip(tip + why)
        setup = " (configure it first)" if inst.needs_setup else ""
        self.start.setStatusTip("Start the bundle" + setup)

    def set_rollback(self, previous_version: str | None, protected: bool) -> None:
        """Offer Roll Back while an update's previous version is kept (core says which)."""
        self.rollback.setEnabled(previous_version is not None and not protected)
        self.rollback.setText(
            f"Roll &Back to {previous_version}" if previous_version else "Roll &Back"
        )
        tip = "Go back to the version the last update replaced"
        self.rollback.setStatusTip(tip + (" (protected bundle)" if protected else ""))
