"""Every pane is reachable from the keyboard: Tab walks them (the bundle table is one
stop), and View → Go To jumps to each (Ctrl+1 ... one per details tab)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from gui.main_window import MainWindow
from tests.core.data.hosting import opened
from tests.gui.conftest import wait_until

CLOCK = Path(__file__).resolve().parents[2] / "resources" / "bundles" / "demo-clock"


async def test_tab_and_go_to_reach_every_pane(tmp_path: Path) -> None:
    async with opened(tmp_path / "data", restore=False) as host:
        ws = host.create_workspace("Keys").id
        await host.install_bundle(ws, CLOCK, server_name="clock")
        await host.install_bundle(ws, CLOCK, server_name="clock-2")
        window = MainWindow()
        window.resize(1200, 760)
        window.show()
        window.attach(host)
        try:
            window.activateWindow()
            view = window.workspace_panel.view
            await wait_until(lambda: window.isActiveWindow(), 5, "the window to be active")
            view.setFocus()
            await wait_until(lambda: QApplication.focusWidget() is view, 5, "focus on the list")
            detail = window.detail
            stops = []
            for _ in range(40):  # once round the chain is enough
                focused = QApplication.focusWidget()
                assert focused is not None, stops
                if stops and focused is stops[0]:
                    break
                stops.append(focused)
                QTest.keyClick(focused, Qt.Key.Key_Tab)
            assert stops[0] is window.workspace_panel.view
            order = [window.workspace_panel.view, window.filter_box, window.table]
            assert [s for s in stops if s in order] == order  # in that order, once each
            assert detail.tabs.tabBar() in stops and detail.logs.text in stops
            assert stops.index(window.table) < stops.index(detail.tabs.tabBar())
            # The table is one stop: Tab from it leaves it, the selection stays.
            row = window.table.currentIndex().row()
            window.table.setFocus()
            QTest.keyClick(window.table, Qt.Key.Key_Tab)
            assert QApplication.focusWidget() is detail.tabs.tabBar()
            assert window.table.currentIndex().row() == row

            # Go To: each pane by its shortcut.
            keys = window.go_to_actions
            assert [a.shortcut().toString() for a in keys[:3]] == ["Ctrl+1", "Ctrl+2", "Ctrl+3"]
            expected = {1: window.workspace_panel.view, 2: window.filter_box, 3: window.table}
            for n, widget in expected.items():
                QTest.keyClick(
                    window, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.ControlModifier
                )
                assert QApplication.focusWidget() is widget, (n, QApplication.focusWidget())
            # Then one per details tab, bound to the page: a tab inserted later shifts
            # the indices, not the shortcuts; a tab hidden for this bundle is skipped.
            tabs = detail.tabs
            pages = [tabs.widget(i) for i in range(tabs.count())]
            assert [a.text() for a in keys[3:]] == [tabs.tabText(i) for i in range(len(pages))]
            assert pages[0] is detail.logs and detail.events in pages
            tabs.insertTab(1, QWidget(), "Inserted later")
            for n, page in enumerate(pages, start=4):
                before = tabs.currentWidget()
                QTest.keyClick(
                    window, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.ControlModifier
                )
                if not tabs.isTabVisible(tabs.indexOf(page)):
                    assert tabs.currentWidget() is before, n
                    continue
                assert tabs.currentWidget() is page, n
                assert page.isAncestorOf(QApplication.focusWidget()), (
                    n,
                    QApplication.focusWidget(),
                )
            tabs.removeTab(1)
            QTest.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
            assert QApplication.focusWidget() is detail.logs.text  # Logs lands on the lines
        finally:
            window.detach()
            window.close()
            window.deleteLater()
