"""The calls table: live appends, filters by client / bundle / outcome, CSV of what is shown."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from gui import calls_view
from gui.calls_view import CallsView


def record(n: int, client: str, bundle: str, outcome: str) -> dict[str, Any]:
    return {
        "at": 1_790_000_000.0 + n,
        "workspace": "ws_demo",
        "workspace_name": "Demo",
        "client": client,
        "client_version": "1.2",
        "bundle": bundle,
        "tool": "token_fingerprint",
        "duration_ms": 3.0 + n,
        "outcome": outcome,
    }


def test_filters_and_export_show_exactly_the_matching_calls(qtbot: Any, tmp_path: Path) -> None:
    view = CallsView()
    qtbot.addWidget(view)
    view.add(
        [record(1, "claude-code", "demo-vault", "ok"), record(2, "cursor", "demo-clock", "ok")]
    )
    view.add([record(3, "claude-code", "demo-clock", "tool_error")])
    assert view.model.rowCount() == 3 and view.count.text() == "3 calls"
    clients = [view.filters["client"].itemText(i) for i in range(view.filters["client"].count())]
    assert clients == ["All", "claude-code 1.2", "cursor 1.2"]

    view.filters["client"].setCurrentText("claude-code 1.2")
    assert view.proxy.rowCount() == 2 and view.count.text() == "2 of 3 calls"
    view.filters["bundle"].setCurrentText("demo-clock")
    assert [r["outcome"] for r in view.proxy.visible_records()] == ["tool_error"]
    view.filters["bundle"].setCurrentText("All")
    view.filters["outcome"].setCurrentText("ok")
    assert [r["bundle"] for r in view.proxy.visible_records()] == ["demo-vault"]

    out = tmp_path / "calls.csv"
    assert view.export_to(str(out)) == 1
    rows = list(csv.reader(out.open()))
    assert rows[0][:3] == ["time", "client", "client_version"]
    assert rows[1][1:] == [
        "claude-code",
        "1.2",
        "Demo",
        "demo-vault",
        "token_fingerprint",
        "4.0",
        "ok",
    ]
    assert "Exported 1 calls" in view.count.text()


def test_the_view_keeps_the_newest_rows_only(qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(calls_view, "MAX_ROWS", 5)
    view = CallsView()
    qtbot.addWidget(view)
    view.add([record(n, "c", "b", "ok") for n in range(4)])
    view.add([record(n, "c", "b", "ok") for n in range(4, 8)])
    assert [r["at"] - 1_790_000_000 for r in view.model.records] == [3, 4, 5, 6, 7]
