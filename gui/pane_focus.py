"""Keyboard reach: View → Go to, one shortcut per pane of the main window.

Tab already walks the panes in order (the bundle table is one stop, not one
per cell); these jump straight to one: Ctrl+1 the workspace list, Ctrl+2 the
bundle filter, Ctrl+3 the bundle table, then Ctrl+4... each details tab the
pane is built with, in order (Logs first); a tab it shows only for some
bundles (Prompts, Resources) is reached with Tab and the arrows.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget


def focus_target(page: QWidget) -> QWidget | None:
    """Where focus goes in ``page``: its focus proxy, else its first Tab stop."""
    if page.focusProxy() is not None:
        return page.focusProxy()
    for child in page.findChildren(QWidget):
        if (
            child.focusPolicy() & Qt.FocusPolicy.TabFocus
            and child.isEnabled()
            and not child.isHidden()
        ):
            return child
    return None


def focus_tab(tabs: Any, page: QWidget) -> None:
    """Show ``page`` and focus it (a page the pane has hidden for now is skipped)."""
    index = tabs.indexOf(page)
    if index < 0 or not tabs.isTabVisible(index):
        return
    tabs.setCurrentIndex(index)
    target = focus_target(page)
    if target is not None:
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)


def add_go_to_menu(window: Any, view_menu: QMenu) -> list[QAction]:
    """Add View → Go to with its shortcuts to ``window``; returns the actions (in order)."""
    menu = view_menu.addMenu("&Go To")
    targets: list[tuple[str, Any]] = [
        ("&Workspaces", lambda: window.workspace_panel.view.setFocus()),
        ("&Filter", window._focus_filter),
        ("&Bundles", lambda: window.table.setFocus()),
    ]
    tabs = window.detail.tabs
    for i in range(tabs.count()):
        page = tabs.widget(i)  # bound to the page: tabs shown later shift the indices
        targets.append((tabs.tabText(i), lambda _checked=False, p=page: focus_tab(tabs, p)))
    actions = []
    for n, (text, slot) in enumerate(targets[:9], start=1):
        action = QAction(text, window)
        action.setObjectName(f"action_go_{n}")
        action.setShortcut(QKeySequence(f"Ctrl+{n}"))
        action.triggered.connect(slot)
        menu.addAction(action)
        window.addAction(action)  # works while the menu bar is hidden too
        actions.append(action)
    return actions
