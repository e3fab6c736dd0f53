"""Figure 6: stop latency, console ``stop_bundle`` vs leaving the SDK's ``stdio_client``.

Each sample stops a running server (timed) and starts it again (not timed).

* well-behaved: the fixture exits on stdin EOF. Console: running → stopped
  (session closed, stdin closed, exit observed, process group checked).
  SDK: ``ClientSession`` + ``stdio_client`` context exit (stdin closed, exit
  polled every 10 ms).
* ignores SIGTERM: ``fixture --ignore-term`` ignores EOF and SIGTERM, so only
  SIGKILL ends it. The console waits ``stop_grace`` after stdin close, then
  ``term_grace`` after SIGTERM, then kills: bounded by their sum (defaults,
  2 s + 3 s). The SDK's fixed steps are 2 s + 2 s.
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
    base_env,
    make_lifecycle,
    now,
    tmp_log,
)

WS = "ws_bench"
NAME = "srv"


async def measure(
    server: Server, rounds: int, warmup: int
) -> tuple[list[float], list[float], float]:
    tag = f"stop-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-stop-") as tmp:
        table = SpecTable(tag)
        table.add(NAME, WS, server)
        lc = make_lifecycle(table, Path(tmp) / "logs")
        bound = lc.stop_grace + lc.term_grace
        lc.register(NAME, WS)
        errlog = tmp_log(Path(tmp) / "sdk", "stderr.log")
        sdk = SdkSession(server, base_env(tag), errlog)
        try:

            async def console() -> dict[str, float]:
                if not (await lc.start_bundle(NAME, WS)).ok:
                    raise RuntimeError(f"{server.label} did not start")
                t0 = now()
                await lc.stop_bundle(NAME, WS)
                return {"stop": now() - t0}

            async def baseline() -> dict[str, float]:
                await sdk.start()
                t0 = now()
                await sdk.stop()
                return {"stop": now() - t0}

            samples = await interleave({"console": console, "sdk": baseline}, rounds, warmup)
        finally:
            await sdk.stop()
            await lc.shutdown()
            errlog.close()
    return samples["console"]["stop"], samples["sdk"]["stop"], bound


async def run(quick: bool) -> list[Figure]:
    fig = Figure("stop", "stop latency: console stop_bundle vs SDK stdio_client exit")
    console, sdk, _ = await measure(Server.fixture(), 6 if quick else 30, warmup=1)
    fig.series("well-behaved: console stop_bundle", console)
    fig.series("well-behaved: SDK context exit", sdk)
    fig.pair("well-behaved: ratio console / SDK", console, sdk, diff_name="  difference")
    console, sdk, bound = await measure(
        Server.fixture("--ignore-term"), 1 if quick else 3, warmup=0
    )
    fig.series(
        f"ignores SIGTERM: console (bound stop_grace+term_grace = {bound:g} s)",
        console,
        goal=("<=", bound + 0.25),
    )
    fig.series("ignores SIGTERM: SDK (fixed 2 s + 2 s)", sdk)
    fig.notes.append(
        "stop: the ignores-SIGTERM goal allows 250 ms over stop_grace + term_grace for the "
        "SIGKILL, the exit being observed and the group check."
    )
    return [fig]
