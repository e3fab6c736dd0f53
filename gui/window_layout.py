"""Window geometry, splitters and table header saved across launches.

A mixin of :class:`gui.main_window.MainWindow`; it uses the window's models and views.
"""

from __future__ import annotations

from gui.bundle_model import Column

#: Column widths saved with another set of columns would land on the wrong ones.
HEADER_KEY = f"bundles-{len(Column)}"


class LayoutMixin:
    """Part of the main window (see the module docstring)."""

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
        if (header := s.header(HEADER_KEY)) is not None:
            self.table.horizontalHeader().restoreState(header)

    def save_layout(self) -> None:
        self.settings.save_window(
            self.saveGeometry(),
            self.saveState(),
            {"main": self.hsplit.saveState(), "detail": self.vsplit.saveState()},
            {HEADER_KEY: self.table.horizontalHeader().saveState()},
        )
        if self.host is not None:
            self.settings.set_selected_workspace(self.host.data_dir, self.current_ws_id)
        self.settings.sync()
