"""Figure 4: event-loop stall while 100 bundles in 10 workspaces respawn at once.

A 1 ms ticker (``asyncio.sleep(0.001)`` in a loop) runs on the qasync loop
with the console's main window shown offscreen and attached to a ``Host``
holding 10 workspaces × 10 fixture bundles, all running. One sample: start
the ticker, ``gather`` 100 ``respawn_bundle`` calls, stop the ticker when all
are running again. The figure is the largest gap between two ticks (16 ms is
one frame at 60 Hz).

Variants, interleaved: spawn pacing on (``spawn_interval`` = 2 ms, the
default) and off (0); "idle" is the ticker alone for as long as a paced
respawn took (the loop's own jitter, same run); "paced, window detached" is
the paced run with the window unsubscribed from lifecycle events (the engine's
share of the stall, without the GUI's event handling).

Why the gap stays far above a frame on 2 cores: starting and stopping 100
interpreters keeps both cores busy, and the console's main thread, though
runnable, waits for a CPU. The figure reports that wait (``schedstat`` of the
main thread: time runnable but not running), the main thread's own CPU time,
and how busy the whole machine was (``/proc/stat``), all for the same rounds.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import Any

from benchmarks import qt_support
from benchmarks.harness import Figure, interleave
from benchmarks.qt_support import Ticker, make_window, run_on_qasync
from benchmarks.support import now, write_fixture_bundle

WORKSPACES = 10
PER_WORKSPACE = 10
FRAME = 0.016


Reading = tuple[float, float, int, int]


class CpuProbe:
    """The main thread's CPU and run-queue wait, and the machine's busy share (Linux)."""

    def __init__(self) -> None:
        self.tid = threading.get_native_id()
        self.ok = Path(f"/proc/self/task/{self.tid}/schedstat").exists()

    def read(self) -> Reading:
        if not self.ok:
            return (0.0, 0.0, 0, 0)
        run, wait = Path(f"/proc/self/task/{self.tid}/schedstat").read_text().split()[:2]
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return (int(run) / 1e9, int(wait) / 1e9, sum(ticks) - idle, sum(ticks))

    @staticmethod
    def delta(a: Reading, b: Reading) -> dict[str, float]:
        total = b[3] - a[3]
        busy = 100.0 * (b[2] - a[2]) / total if total > 0 else float("nan")
        return {"cpu": b[0] - a[0], "waited": b[1] - a[1], "busy": busy}


async def _main(quick: bool) -> list[Figure]:
    from PySide6.QtWidgets import QApplication

    from core.host import Host

    rounds = 1 if quick else 4
    fig = Figure(
        "stall",
        f"event-loop stall: {WORKSPACES * PER_WORKSPACE} bundles respawn at once (qasync + window)",
    )
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        folder = write_fixture_bundle(Path(tmp) / "src")
        host = await Host.open(Path(tmp) / "data", restore=False)
        window, kind = make_window()
        window.show()
        keys: list[tuple[str, str]] = []
        try:
            for w in range(WORKSPACES):
                ws = host.create_workspace(f"Stall {w:02d}")
                for b in range(PER_WORKSPACE):
                    inst = await host.install_bundle(ws.id, folder, server_name=f"fx-{b:02d}")
                    keys.append((inst.server_name, ws.id))
            attached = hasattr(window, "attach")
            if attached:
                window.attach(host)
            lc = host.lifecycle
            results = await asyncio.gather(*(lc.start_bundle(n, w) for n, w in keys))
            if not all(r.ok for r in results):
                raise RuntimeError("not every bundle started")
            QApplication.processEvents()
            ticker = Ticker()
            probe = CpuProbe()
            durations: list[float] = []

            async def respawn_all(interval: float, listen: bool) -> dict[str, float]:
                lc.spawn_interval = interval
                if attached and not listen:
                    window.detach()
                try:
                    ticker.start()
                    await asyncio.sleep(0.05)
                    t0, c0 = now(), probe.read()
                    res = await asyncio.gather(*(lc.respawn_bundle(n, w) for n, w in keys))
                    wall, cpu = now() - t0, CpuProbe.delta(c0, probe.read())
                    await asyncio.sleep(0.05)
                    await ticker.stop()
                finally:
                    if attached and not listen:
                        window.bridge.connect_lifecycle(lc)
                if not all(r.ok for r in res):
                    raise RuntimeError("a respawn failed")
                durations.append(wall)
                return {
                    "largest": ticker.largest,
                    "p99": ticker.p99,
                    "frames": float(ticker.over(FRAME)),
                    "wall": wall,
                    **cpu,
                }

            async def idle() -> dict[str, float]:
                ticker.start()
                await asyncio.sleep(max(durations[-3:], default=1.0))
                await ticker.stop()
                return {"largest": ticker.largest, "p99": ticker.p99}

            async def paced() -> dict[str, float]:
                return await respawn_all(0.002, True)

            async def unpaced() -> dict[str, float]:
                return await respawn_all(0.0, True)

            async def detached() -> dict[str, float]:
                return await respawn_all(0.002, False)

            variants: dict[str, Any] = {"paced": paced, "unpaced": unpaced, "idle": idle}
            if attached:
                variants["detached"] = detached
            samples = await interleave(variants, rounds, warmup=1)
        finally:
            if hasattr(window, "detach"):
                window.detach()
            await host.shutdown()
            window.close()
    p, u, i = samples["paced"], samples["unpaced"], samples["idle"]
    fig.series("largest gap, pacing on (2 ms)", p["largest"], goal=("<=", FRAME))
    fig.series("largest gap, pacing off", u["largest"], goal=("<=", FRAME))
    fig.series("largest gap, idle loop (same duration)", i["largest"])
    if "detached" in samples:
        fig.series("largest gap, pacing on, window detached", samples["detached"]["largest"])
    fig.series("p99 gap, pacing on", p["p99"])
    fig.series("p99 gap, pacing off", u["p99"])
    fig.series("ticks over 16 ms, pacing on", p["frames"], unit="count")
    fig.series("ticks over 16 ms, pacing off", u["frames"], unit="count")
    fig.series("respawn-all wall, pacing on", p["wall"])
    fig.series("respawn-all wall, pacing off", u["wall"])
    fig.pair("wall ratio on / off", p["wall"], u["wall"])
    fig.series("machine CPU busy during respawn-all, pacing on", p["busy"], unit="%")
    fig.series("console main thread: CPU used, pacing on", p["cpu"])
    fig.series("console main thread: runnable but waiting for a CPU, pacing on", p["waited"])
    fig.notes.extend(qt_support.window_notes(kind))
    return [fig]


def run_qt(quick: bool) -> list[Figure]:
    return run_on_qasync(lambda: _main(quick))
