"""The table model, badges and small helpers, driven by hand-made instances (no processes)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyleOptionViewItem

from core.models import LifecycleEvent
from core.states import BundleState as S
from gui.badge import BADGE_ROLE, BadgeDelegate, badge_colors, badge_for
from gui.bundle_model import KEY_ROLE, BundleFilterProxy, BundleTableModel, Column, Label
from gui.configure_dialog import outcome_message
from gui.formatting import format_duration, health_summary
from gui.log_view import new_lines


@dataclass
class Inst:
    server_name: str
    ws_id: str = "ws_a"
    state: S = S.STOPPED
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)
    tools: list[Any] = field(default_factory=list)
    protected: bool = False
    needs_setup: str | None = None
    next_retry_at: float | None = None


class Source:
    def __init__(self, *insts: Inst) -> None:
        self.insts = {(i.server_name, i.ws_id): i for i in insts}

    def get(self, server: str, ws_id: str) -> Inst | None:
        return self.insts.get((server, ws_id))


def make_model(*insts: Inst) -> tuple[BundleTableModel, Source]:
    src = Source(*insts)
    model = BundleTableModel()
    model.attach(list(insts), src.get, lambda ws, s: Label(s.title(), "1.0"))
    return model, src


def event(inst: Inst, previous: S, kind: str = "transition") -> LifecycleEvent:
    return LifecycleEvent(inst.ws_id, inst.server_name, previous, inst.state, kind=kind)  # type: ignore[arg-type]


def test_event_updates_only_its_row_never_resets(qtbot: Any) -> None:
    a, b = Inst("alpha"), Inst("beta")
    model, _src = make_model(a, b)
    changed: list[tuple[int, int]] = []
    resets: list[bool] = []
    model.dataChanged.connect(lambda tl, br, *_: changed.append((tl.row(), br.row())))
    model.modelReset.connect(lambda: resets.append(True))
    b.state = S.STARTING
    model.on_event(event(b, S.STOPPED))
    assert changed == [(1, 1)]
    assert not resets
    assert model.index(1, Column.STATUS).data(BADGE_ROLE).kind == "starting"
    assert model.index(0, Column.STATUS).data(BADGE_ROLE).kind == "stopped"


def test_registered_inserts_and_unregistered_removes(qtbot: Any) -> None:
    a = Inst("alpha")
    model, src = make_model(a)
    c = Inst("gamma")
    src.insts[("gamma", "ws_a")] = c
    inserted: list[int] = []
    model.rowsInserted.connect(lambda _p, first, _last: inserted.append(first))
    model.on_event(event(c, S.STOPPED, "registered"))
    assert inserted == [1] and model.rowCount() == 2
    model.on_event(event(c, S.STOPPED, "unregistered"))
    assert model.rowCount() == 1
    assert model.index(0, 0).data(KEY_ROLE) == ("ws_a", "alpha")


def test_badges_cover_every_state() -> None:
    now = time.time()
    assert badge_for(Inst("x", state=S.RUNNING)).text == "Running"
    assert badge_for(Inst("x", state=S.STARTING)).animated
    assert badge_for(Inst("x", state=S.STOPPING)).animated
    crashed = badge_for(Inst("x", state=S.CRASHED, next_retry_at=now + 4.2), now)
    assert crashed.kind == "crashed" and crashed.text == "Crashed · restart in 5 s"
    assert badge_for(Inst("x", state=S.DEAD)).kind == "dead"
    assert badge_for(Inst("x", state=S.STOPPED)).kind == "stopped"
    setup = badge_for(Inst("x", needs_setup='Missing "API token"'))
    assert setup.kind == "setup" and setup.text == "Needs setup" and "API token" in setup.tooltip
    locked = badge_for(Inst("x", state=S.RUNNING, protected=True))
    assert locked.protected and "Protected" in locked.tooltip


def test_badge_colours_stay_readable_on_light_and_dark() -> None:
    for base in ("#ffffff", "#1e1f22"):
        palette = QPalette()
        palette.setColor(QPalette.ColorRole.Base, QColor(base))
        bg = QColor(base)
        for kind in ("running", "starting", "stopping", "crashed", "dead", "stopped", "setup"):
            fg, _fill = badge_colors(kind, palette)
            # Enough lightness contrast between text and the cell background.
            assert abs(fg.lightness() - bg.lightness()) > 90, (base, kind)


def test_delegate_paints_each_badge(qtbot: Any) -> None:
    insts = [
        Inst("a", state=S.RUNNING, protected=True),
        Inst("b", state=S.STARTING),
        Inst("c", state=S.CRASHED, next_retry_at=time.time() + 3),
        Inst("d", needs_setup="x"),
    ]
    model, _ = make_model(*insts)
    delegate = BadgeDelegate()
    image = QImage(300, 40, QImage.Format.Format_ARGB32)
    for row in range(model.rowCount()):
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        option = QStyleOptionViewItem()
        option.rect = QRect(0, 0, 300, 40)
        delegate.paint(painter, option, model.index(row, Column.STATUS))
        painter.end()
        assert image.pixelColor(40, 20) != QColor(Qt.GlobalColor.white)  # something was drawn
        hint = delegate.sizeHint(option, model.index(row, Column.STATUS))
        assert hint.width() > 60


def test_proxy_filters_by_workspace_and_text_and_sorts_numbers(qtbot: Any) -> None:
    insts = [
        Inst("alpha", restarts=10),
        Inst("beta", restarts=9, last_error="token rejected"),
        Inst("gamma", ws_id="ws_b"),
    ]
    model, _ = make_model(*insts)
    proxy = BundleFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_workspace("ws_a")
    assert proxy.rowCount() == 2
    proxy.sort(Column.RESTARTS, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 0).data(KEY_ROLE)[1] for r in range(2)] == ["beta", "alpha"]
    proxy.set_text("rejected")
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data(KEY_ROLE)[1] == "beta"
    proxy.set_text("")
    proxy.set_workspace("ws_b")
    assert proxy.rowCount() == 1


def test_health_summary_and_durations() -> None:
    insts = [
        Inst("a", state=S.RUNNING),
        Inst("b", state=S.RUNNING),
        Inst("c", state=S.DEAD),
        Inst("d", needs_setup="x"),
    ]
    assert health_summary(insts) == "2 running · 1 failed · 1 needs setup"
    assert health_summary([]) == "no bundles"
    assert format_duration(5) == "5 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(3 * 3600 + 60) == "3 h 01 min"


def test_new_lines_follows_a_growing_and_sliding_tail() -> None:
    assert new_lines([], ["a"]) == ["a"]
    assert new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert new_lines(["a", "b"], ["x", "y"]) is None  # rotated: rebuild


@dataclass
class _Respawn:
    ok: bool
    error: str | None = None
    outcome: str = "respawned"


@dataclass
class _Configured:
    outcome: str
    respawn: _Respawn | None = None


def test_outcome_messages() -> None:
    assert outcome_message(_Configured("respawned", _Respawn(True)))[1] == "Saved and restarted"
    failed = _Configured("failed", _Respawn(False, "exit 2"))
    assert outcome_message(failed) == ("error", "Saved, but restart failed: exit 2")
    protected = _Configured("protected", _Respawn(False, "refused", "protected"))
    assert outcome_message(protected)[1] == "Saved; bundle is protected, restart refused"
    assert outcome_message(_Configured("saved_stopped"))[1] == "Saved (bundle is stopped)"
    started = outcome_message(_Configured("saved_stopped"), _Respawn(True))
    assert started == ("ok", "Saved and started")
