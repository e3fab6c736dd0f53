"""The details pane's Tools tab for the largest tool list the console accepts.

Two real bundles run ``hostile_server.py``: one lists 10 tools, the other the
console's maximum (``core.process.MAX_TOOLS`` = 2,000) with descriptions of
``MAX_DESCRIPTION`` (4 KiB) characters. A real ``DetailPane`` (Tools tab
current, 1180×560) is pointed at each in turn, as a click in the bundle table
does; the figure is the time from ``show_bundle`` until the Tools view's
viewport has finished its next paint (the window is frozen for that long).
Baseline, interleaved in the same run: the same for the 10-tool bundle.

Before the Tools tab became a model/view table (one ``QTreeWidgetItem`` per tool
and parameter, ``ResizeToContents`` over every row), the 2,000-tool case took
0.7-1.8 s on this machine.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks.gui_scale import PaintProbe
from benchmarks.harness import Figure, interleave
from benchmarks.qt_support import run_on_qasync, window_notes
from benchmarks.support import ROOT, Server, SpecTable, make_lifecycle, now
from core.process import MAX_DESCRIPTION, MAX_TOOLS

WS = "ws_bench"
HOSTILE = ROOT / "tests" / "fixtures" / "servers" / "hostile_server.py"


async def _main(quick: bool) -> list[Figure]:
    from PySide6.QtWidgets import QApplication

    from gui.detail_pane import DetailPane
    from gui.events_view import EventHistory

    rounds = 3 if quick else 10
    fig = Figure(
        "tools-tab",
        f"Tools tab: {MAX_TOOLS:,} tools × {MAX_DESCRIPTION} B descriptions vs 10 tools",
    )
    table = SpecTable(f"tools-tab-{uuid.uuid4().hex[:8]}")
    big = (str(HOSTILE), "--tools", str(MAX_TOOLS), "--page-size", "500")
    table.add("big", WS, Server("big", sys.executable, (*big, "--description-bytes", "4096")))
    table.add("small", WS, Server("small", sys.executable, (str(HOSTILE), "--tools", "10")))
    with tempfile.TemporaryDirectory(prefix="bench-tools-tab-") as tmp:
        lc = make_lifecycle(table, Path(tmp) / "logs")
        pane: Any = None
        try:
            for name in ("big", "small"):
                lc.register(name, WS)
                result = await lc.start_bundle(name, WS)
                assert result.ok, result.error
            counts = {n: len(lc.get_instance(n, WS).tools) for n in ("big", "small")}
            pane = DetailPane(EventHistory())
            pane.resize(1180, 560)
            pane.show()
            pane.tabs.setCurrentWidget(pane.tools)
            QApplication.processEvents()
            viewport = pane.tools.table.viewport()
            probe = PaintProbe(viewport)

            def select(name: str) -> Any:
                async def measure() -> dict[str, float]:
                    pane.show_bundle(None, None)  # from "nothing selected", as a fresh click
                    QApplication.processEvents()
                    probe.arm()
                    t0 = now()
                    pane.show_bundle(lc, (WS, name), name)
                    t1 = now()
                    viewport.update()
                    done = await probe.wait()
                    return {"total": done - t0, "fill": t1 - t0, "paint": done - t1}

                return measure

            runs = await interleave({"big": select("big"), "small": select("small")}, rounds)
            probe.remove()
            pane.grab()  # a full render once, to be sure the big list draws at all
            big_runs, small_runs = runs["big"], runs["small"]
            fig.series(f"show Tools, {counts['big']:,} tools (select → painted)", big_runs["total"])
            fig.series("  of which fill (show_bundle)", big_runs["fill"])
            fig.series("  of which paint", big_runs["paint"])
            fig.series(f"show Tools, {counts['small']} tools (baseline)", small_runs["total"])
            fig.pair(
                f"{counts['big']:,} tools / 10 tools",
                big_runs["total"],
                small_runs["total"],
                diff_name="extra time for the big list",
            )
            fig.notes += window_notes("gui.detail_pane.DetailPane (Tools tab current)")
        finally:
            if pane is not None:
                pane.close()
                pane.deleteLater()
            await lc.shutdown()
    return [fig]


def run_qt(quick: bool) -> list[Figure]:
    return run_on_qasync(lambda: _main(quick))
