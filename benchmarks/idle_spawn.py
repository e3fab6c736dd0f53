"""A server spawned right after other work vs after a short idle: the scheduler's share.

Found while chasing the confined respawn's ratio with both cores saturated
(``--busy 2``): a fixture server spawned the moment the previous sample ended
answered ``initialize`` + ``tools/list`` in about the quiet time, one spawned
after the spawner had slept 50 ms took about twice as long, unconfined, and a
prepared sandbox released after 50 ms was like the latter. Quiet, all three
are alike. So a respawn's figure under saturation depends on what the machine
did just before it, and on/off ratios there move by 10 points between runs.
Samples follow one another with no settling time between them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.harness import Figure, interleave
from benchmarks.support import FIXTURE
from core.sandbox import availability, default_policy, prepare

IDLE = 0.05
_HANDSHAKE = b"".join(
    json.dumps(m).encode() + b"\n"
    for m in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    )
)


async def figure(rounds: int) -> Figure:
    """Spawn-to-answers of the fixture server in each variant, alternating the order."""
    argv = [sys.executable, str(FIXTURE)]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        own = Path(tmp) / "data" / "bundles" / "b-1"
        own.mkdir(parents=True)
        policy = default_policy(Path(tmp) / "data", own)

        def spawned(idle: float) -> Callable[[], Awaitable[dict[str, float]]]:
            async def go() -> dict[str, float]:
                time.sleep(idle)  # noqa: ASYNC251 - the spawner's idle is what is measured
                t0 = time.perf_counter()
                pipe = subprocess.PIPE
                proc = subprocess.Popen(argv, stdin=pipe, stdout=pipe)  # noqa: ASYNC220 - measured
                return {"total": _answers(proc, t0)}

            return go

        async def released() -> dict[str, float]:
            ready = prepare(argv, env, None, policy)
            assert ready is not None
            time.sleep(IDLE)  # noqa: ASYNC251 - as above
            t0 = time.perf_counter()
            started = ready.release()
            assert started is not None
            try:
                return {"total": _answers(started.popen, t0)}
            finally:
                if started.pid_one is not None:
                    started.pid_one.close()

        variants = {
            "spawned right after the previous sample": spawned(0.0),
            f"spawned after {IDLE * 1000:.0f} ms idle": spawned(IDLE),
        }
        if availability()[0] is not None:
            variants[f"prepared sandbox released after {IDLE * 1000:.0f} ms"] = released
        s = await interleave(variants, rounds, 2, settle=0)
    fig = Figure("isolation", "spawn to initialize + tools/list answered, after work vs idle")
    for name in variants:
        fig.series(name, s[name]["total"])
    first, second = list(variants)[:2]
    fig.pair("ratio after idle / right after", s[second]["total"], s[first]["total"])
    return fig


def _answers(proc: subprocess.Popen[bytes], t0: float) -> float:
    """Seconds from ``t0`` until both answers are in; the process is then ended and reaped."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(_HANDSHAKE)
    proc.stdin.flush()
    got = b""
    while got.count(b"\n") < 2:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise RuntimeError("the fixture server closed its stdout before answering")
        got += chunk
    took = time.perf_counter() - t0
    proc.stdin.close()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    return took
