"""Figure 1: respawn overhead of ``respawn_bundle`` over the bare SDK.

Both sides do the same work per sample, starting with one server running:
stop the old process, then spawn a new one and finish ``initialize`` +
``tools/list``.

* console: ``await lc.respawn_bundle(name, ws)`` — the old process is stopped
  by the console's policy (stdin close, wait for exit, group reap), then the
  spec is read, the spawn is paced, the process is spawned with stderr routed
  to the bundle log, and ``running`` is published after the handshake.
* SDK: leave ``stdio_client`` + ``ClientSession`` of the old process (stdin
  close, wait for exit), then enter new ones and call ``initialize`` +
  ``list_tools``. stderr goes to a file, as the console's goes to its log.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from benchmarks.harness import Figure, interleave
from benchmarks.support import (
    SdkSession,
    Server,
    SpecTable,
    Stamps,
    base_env,
    make_lifecycle,
    now,
    tmp_log,
)
from core.states import BundleState

S = BundleState
WS = "ws_bench"
NAME = "srv"


async def measure_pair(
    server: Server, rounds: int, warmup: int = 2
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Interleaved respawns: (console timings, SDK timings), each split into stop/start."""
    tag = f"respawn-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-respawn-") as tmp:
        table = SpecTable(tag)
        table.add(NAME, WS, server)
        lc = make_lifecycle(table, Path(tmp) / "logs")
        stamps = Stamps(lc)
        lc.register(NAME, WS)
        errlog = tmp_log(Path(tmp) / "sdk", "stderr.log")
        sdk = SdkSession(server, base_env(tag), errlog)
        try:
            result = await lc.start_bundle(NAME, WS)
            if not result.ok:
                raise RuntimeError(f"{server.label} did not start: {result.error}")
            await sdk.start()

            async def console() -> dict[str, float]:
                stamps.clear()
                t0 = now()
                res = await lc.respawn_bundle(NAME, WS)
                t1 = now()
                if not res.ok:
                    raise RuntimeError(f"respawn failed: {res.error}")
                stopped = stamps.get(NAME, WS, S.STOPPED)
                return {"total": t1 - t0, "stop": stopped - t0, "start": t1 - stopped}

            async def baseline() -> dict[str, float]:
                t0 = now()
                await sdk.stop()
                t1 = now()
                await sdk.start()
                t2 = now()
                return {"total": t2 - t0, "stop": t1 - t0, "start": t2 - t1}

            samples = await interleave({"console": console, "sdk": baseline}, rounds, warmup)
        finally:
            await sdk.stop()
            await lc.shutdown()
            errlog.close()
    return samples["console"], samples["sdk"]


async def run(quick: bool) -> list[Figure]:
    figures = []
    for key, server, rounds in (
        ("respawn", Server.fixture(), 6 if quick else 30),
        ("respawn-sdk-demo", Server.demo_clock(), 3 if quick else 12),
    ):
        console, sdk = await measure_pair(server, rounds)
        fig = Figure(key, f"respawn overhead: {server.label} server, console vs bare SDK")
        fig.series("console respawn_bundle (stop old + spawn→tools listed)", console["total"])
        fig.series("SDK stdio_client exit + enter/initialize/list_tools", sdk["total"])
        fig.pair(
            "ratio console / SDK",
            console["total"],
            sdk["total"],
            goal=("<=", 1.10),
            diff_name="overhead console − SDK",
        )
        fig.series("  console: stop old (→ stopped)", console["stop"])
        fig.series("  SDK: stop old (context exit)", sdk["stop"])
        fig.series("  console: spawn → running with tools", console["start"])
        fig.series("  SDK: spawn → tools listed", sdk["start"])
        fig.pair("  start ratio console / SDK", console["start"], sdk["start"])
        fig.pair("  stop ratio console / SDK", console["stop"], sdk["stop"])
        figures.append(fig)
    return figures
