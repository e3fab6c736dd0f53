"""Figure 5: the console at scale — 100 workspaces × 20 bundles, none started.

Setup (timed, reported): the data dir is filled through the Host API —
``create_workspace`` ×100 and ``install_bundle`` ×2000 of one temp MCPB
folder (the fixture server) under 20 server names; then a fresh
``Host.open(restore=False)`` loads it, as the console does at start.

* first frame: ``MainWindow()`` built and shown, ``attach(host)`` (bundle and
  workspace models filled), until the bundle table's viewport has finished
  its first paint. Baseline, interleaved: the same on an empty data dir.
* burst: 2000 state events (1000 bundles across every workspace, stopped →
  starting → running) delivered through the window's lifecycle bridge, as
  core's subscriber call does; the instance state is set before each event
  (the models read it live). "apply" is the synchronous delivery; "+ frame"
  runs until the next paint has finished. Baseline: the same 2000 emits on a
  bridge with no views connected.
* RSS of the console process (Host + window, nothing started), next to the
  RSS of the same process before the Host was opened (Qt + an empty window).
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
from pathlib import Path
from typing import Any

import psutil

from benchmarks import qt_support
from benchmarks.harness import Figure, interleave
from benchmarks.qt_support import make_window, run_on_qasync
from benchmarks.support import now, write_fixture_bundle
from core.models import LifecycleEvent
from core.states import BundleState

S = BundleState
WORKSPACES = 100
PER_WORKSPACE = 20
BURST = 2000


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


class PaintProbe:
    """Stamps the end of the next paint of a widget (a zero timer fires after it)."""

    def __init__(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QObject, QTimer

        probe = self

        class _Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint and probe.armed:
                    probe.armed = False
                    QTimer.singleShot(0, probe._stamp)
                return False

        self.armed = False
        self.done_at: float | None = None
        self._filter = _Filter()
        self.widget = widget
        widget.installEventFilter(self._filter)

    def _stamp(self) -> None:
        self.done_at = now()

    def arm(self) -> None:
        self.armed = True
        self.done_at = None

    async def wait(self, timeout: float = 10.0) -> float:
        deadline = now() + timeout
        while self.done_at is None:
            if now() > deadline:
                raise TimeoutError("no paint")
            await asyncio.sleep(0.001)
        return self.done_at

    def remove(self) -> None:
        self.widget.removeEventFilter(self._filter)


def _viewport(window: Any) -> Any:
    table = getattr(window, "table", None)
    return table.viewport() if table is not None else window


async def _fill(host: Any, folder: Path) -> None:
    for w in range(WORKSPACES):
        ws = host.create_workspace(f"Scale {w:03d}")
        for b in range(PER_WORKSPACE):
            await host.install_bundle(ws.id, folder, server_name=f"fx-{b:02d}")


async def _first_frame(host: Any) -> tuple[dict[str, float], Any]:
    """Build + show + attach a window; time until the table's first paint is done."""
    from PySide6.QtWidgets import QApplication

    gc.collect()
    t0 = now()
    window, kind = make_window()
    window.show()
    t1 = now()
    if hasattr(window, "attach"):
        window.attach(host)
    t2 = now()
    probe = PaintProbe(_viewport(window))
    probe.arm()
    _viewport(window).update()
    done = await probe.wait()
    probe.remove()
    QApplication.processEvents()
    return {"total": done - t0, "build": t1 - t0, "attach": t2 - t1, "paint": done - t2}, (
        window,
        kind,
    )


def _close(window: Any) -> None:
    if hasattr(window, "detach"):
        window.detach()
    window.close()
    window.deleteLater()


async def _main(quick: bool) -> list[Figure]:
    from PySide6.QtWidgets import QApplication, QWidget

    from core.host import Host

    rounds = 2 if quick else 5
    fig = Figure(
        "gui-scale", f"GUI scale: {WORKSPACES} workspaces × {PER_WORKSPACE} bundles, none started"
    )
    bare = QWidget()
    bare.resize(1180, 760)
    bare.show()
    QApplication.processEvents()
    rss_bare = _rss_mb()
    bare.close()
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        folder = write_fixture_bundle(Path(tmp) / "src")
        filler = await Host.open(Path(tmp) / "data", restore=False)
        t0 = now()
        await _fill(filler, folder)
        fill_time = now() - t0
        await filler.shutdown()
        del filler
        gc.collect()

        t0 = now()
        host = await Host.open(Path(tmp) / "data", restore=False)
        open_time = now() - t0
        empty = await Host.open(Path(tmp) / "empty", restore=False)
        lc = host.lifecycle
        insts = lc.instances()
        kind = ""
        try:

            async def full() -> dict[str, float]:
                nonlocal kind
                timings, (window, kind) = await _first_frame(host)
                _close(window)
                return timings

            async def bare_frame() -> dict[str, float]:
                timings, (window, _kind) = await _first_frame(empty)
                _close(window)
                return timings

            frames = await interleave({"full": full, "empty": bare_frame}, rounds, warmup=1)

            # One window stays up for the burst and the RSS.
            _timings, (window, kind) = await _first_frame(host)
            rss_console = _rss_mb()
            chosen = insts[:: max(1, len(insts) // (BURST // 2))][: BURST // 2]
            bridge = getattr(window, "bridge", None)

            def events_for(targets: list[Any]) -> list[tuple[Any, Any]]:
                out = []
                for inst in targets:
                    for prev, state in ((S.STOPPED, S.STARTING), (S.STARTING, S.RUNNING)):
                        out.append(
                            (inst, LifecycleEvent(inst.ws_id, inst.server_name, prev, state))
                        )
                return out

            def reset(emit: Any) -> None:
                for inst in chosen:
                    inst.state = S.STOPPED
                    emit(LifecycleEvent(inst.ws_id, inst.server_name, S.RUNNING, S.STOPPED))

            probe = PaintProbe(_viewport(window))

            async def burst() -> dict[str, float]:
                events = events_for(chosen)
                emit = bridge.event.emit if bridge is not None else (lambda _e: None)
                probe.arm()
                t0 = now()
                for inst, event in events:
                    inst.state = event.state
                    emit(event)
                t1 = now()
                _viewport(window).update()
                done = await probe.wait()
                reset(emit)
                await asyncio.sleep(0.05)
                return {"apply": t1 - t0, "frame": done - t0}

            async def no_views() -> dict[str, float]:
                from gui.bridge import LifecycleBridge

                lone = LifecycleBridge()
                events = events_for(chosen)
                t0 = now()
                for inst, event in events:
                    inst.state = event.state
                    lone.event.emit(event)
                t1 = now()
                for inst in chosen:
                    inst.state = S.STOPPED
                return {"apply": t1 - t0}

            variants: dict[str, Any] = {"burst": burst}
            if bridge is not None:
                variants["no_views"] = no_views
            bursts = await interleave(variants, rounds, warmup=1)
            probe.remove()
            _close(window)
        finally:
            await host.shutdown()
            await empty.shutdown()
    f, e = frames["full"], frames["empty"]
    fig.series(
        f"setup: create {WORKSPACES} ws + install {WORKSPACES * PER_WORKSPACE} bundles (Host API)",
        [fill_time],
    )
    fig.series("  per install", [fill_time / (WORKSPACES * PER_WORKSPACE)])
    fig.series("Host.open(restore=False) of that data dir", [open_time])
    fig.series("first frame: build + attach + first paint", f["total"], goal=("<=", 1.0))
    fig.series("  build + show MainWindow", f["build"])
    fig.series("  attach(host): models filled", f["attach"])
    fig.series("  until first paint done", f["paint"])
    fig.series("first frame, empty data dir (baseline)", e["total"])
    fig.pair("first frame ratio full / empty", f["total"], e["total"])
    b = bursts["burst"]
    fig.series(f"burst of {BURST} state events: apply", b["apply"], goal=("<=", 0.100))
    fig.series(f"burst of {BURST} state events: apply + next frame", b["frame"])
    if "no_views" in bursts:
        fig.series(f"  {BURST} emits, bridge with no views (baseline)", bursts["no_views"]["apply"])
    fig.series(
        "console RSS (Host + window, nothing started)", [rss_console], "MB", goal=("<=", 250)
    )
    fig.series("  RSS before Host.open (Qt + bare QWidget)", [rss_bare], "MB")
    fig.notes.extend(qt_support.window_notes(kind))
    return [fig]


def run_qt(quick: bool) -> list[Figure]:
    return run_on_qasync(lambda: _main(quick))
