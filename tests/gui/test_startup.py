"""Before core is loaded: cheap imports, a window that says it is loading, saved layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray

from gui.main_window import MainWindow
from gui.settings import GuiSettings

ROOT = Path(__file__).resolve().parents[2]


def test_gui_modules_import_neither_core_host_nor_mcp() -> None:
    code = (
        "import sys, gui.app, gui.main_window, gui.configure_dialog, gui.screenshots;"
        "bad = [m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'core.host',"
        " 'core.lifecycle'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_window_shows_loading_until_attached(qtbot: Any, tmp_path: Path) -> None:
    window = MainWindow(GuiSettings(tmp_path / "gui.ini"))
    qtbot.addWidget(window)
    window.show()
    assert window.pages.currentIndex() == 0
    assert window.loading_label.text() == "Loading workspaces…"
    assert window.loading_spinner.spinning
    assert not window.bundle_actions.install.isEnabled()
    assert not window.workspace_panel.new_action.isEnabled()


def test_layout_round_trips_through_the_settings_file(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "gui.ini"
    first = MainWindow(GuiSettings(path))
    qtbot.addWidget(first)
    first.resize(1000, 700)
    first.show()
    first.hsplit.setSizes([300, 700])
    first.table.setColumnWidth(0, 321)
    sizes = first.hsplit.sizes()
    first.save_layout()
    GuiSettings(path).set_selected_workspace(tmp_path / "data", "ws_two")

    second = MainWindow(GuiSettings(path))
    qtbot.addWidget(second)
    second.show()
    assert second.hsplit.sizes() == sizes
    assert second.table.columnWidth(0) == 321
    assert isinstance(GuiSettings(path).geometry, QByteArray)
    assert GuiSettings(path).selected_workspace(tmp_path / "data") == "ws_two"
    assert GuiSettings(path).selected_workspace(tmp_path / "other") is None
