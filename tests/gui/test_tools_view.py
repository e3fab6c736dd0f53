"""The Tools tab's table: one short line per tool, the whole text beside it and in tooltips.

Its speed for 2,000 × 4 KiB tools is benchmarks/tools_tab.py; this checks what
it shows, with the ToolInfo records core.process makes from ``tools/list``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.models import ToolInfo
from gui.tools_view import CELL_CHARS, ToolsView

SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string", "description": "query"}, "n": {"type": "integer"}},
    "required": ["q"],
}


def _tools(count: int, description: str) -> list[ToolInfo]:
    return [ToolInfo(f"tool_{i}", f"{i}: {description}", SCHEMA) for i in range(count)]


def test_cells_are_one_short_line_and_the_side_view_has_it_all() -> None:
    long = "<b>first line</b>\nsecond line " + "d" * 4096
    view = ToolsView()
    view.resize(900, 400)
    view.set_tools(_tools(2000, long))
    view.show()
    QApplication.processEvents()
    model = view.model
    assert model.rowCount() == 2000 and view.tool_names()[:2] == ["tool_0", "tool_1"]
    cell = model.data(model.index(7, 2))
    assert cell == "7: <b>first line</b>…"  # first line only, shown as typed, cut marked
    assert all(len(model.data(model.index(r, 2))) <= CELL_CHARS + 1 for r in (0, 1999))
    assert model.data(model.index(7, 1)) == "q *: string, n: integer"
    # the whole description: in the tooltip (escaped, so never rich text) and beside it
    tip = model.data(model.index(7, 2), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;first line&lt;/b&gt;" in tip and "<b>" not in tip
    assert "second line" in tip
    # the first tool is current; choosing another shows all of its text and schema
    assert view.selected_tool().name == "tool_0"
    assert view.select("tool_7") and view.selected_tool().name == "tool_7"
    about = view.about.toPlainText()
    assert f"7: {long}" in about and "q *: string — query" in about
    assert '"required": [' in view.schema.toPlainText()
    # a new list keeps the chosen tool when it is still there, else the first
    view.set_tools(_tools(10, "again"))
    assert view.selected_tool().name == "tool_7" and "7: again" in view.about.toPlainText()
    view.set_tools([ToolInfo("other", "", {})])
    assert view.selected_tool().name == "other" and "No parameters." in view.about.toPlainText()
    assert not view.select("tool_7")
    # no tools: the hint, nothing current, Try disabled with the reason
    view.set_tools([], "Tools appear once the bundle is running.")
    view.set_try_enabled(True)
    assert view.selected_tool() is None and view.about.toPlainText() == ""
    assert view.empty.text() == "Tools appear once the bundle is running."
    assert not view.try_button.isEnabled()
    view.close()


def test_try_is_asked_for_the_current_tool_only_when_enabled() -> None:
    view = ToolsView()
    asked: list[str] = []
    view.tryRequested.connect(asked.append)
    view.set_tools(_tools(3, "x"))
    view.select("tool_2")
    view.set_try_enabled(False, "Start the bundle to try its tools.")
    view.try_button.click()
    view.try_action.trigger()
    assert asked == [] and view.try_button.toolTip() == "Start the bundle to try its tools."
    view.set_try_enabled(True)
    view.try_button.click()
    view.try_action.trigger()
    view.table.doubleClicked.emit(view.model.index(2, 0))
    assert asked == ["tool_2"] * 3
    view.close()
