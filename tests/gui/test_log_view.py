"""The Logs tab opens on the newest lines from their left edge; each line has its time."""

from __future__ import annotations

import re
from pathlib import Path

from core.logs import BundleLog, read_tail
from gui.log_view import LogView


def test_log_view_opens_at_the_left_edge_of_the_newest_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.log"
    log = BundleLog(path)
    for i in range(300):
        log.feed(f"line {i}\n")
    log.feed("last " + "x" * 3000 + "\n")  # a long newest line pulled the view right
    log.close()
    view = LogView()
    view.resize(600, 300)
    view.show()
    view.set_source(lambda: read_tail(path, 500), lambda: path)
    lines = view.plain_text().splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", line) for line in lines)
    assert lines[-1].endswith("x" * 100)
    vbar, hbar = view.text.verticalScrollBar(), view.text.horizontalScrollBar()
    assert vbar.maximum() > 0 and vbar.value() == vbar.maximum()
    assert hbar.maximum() > 0 and hbar.value() == 0
    assert view.text.textCursor().block().text() == lines[-1]
    view.close()
