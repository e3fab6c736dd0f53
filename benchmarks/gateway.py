"""The workspace gateway: what a client pays for going through ``bundle-console connect``.

Figure "gateway-latency": the same ``echo`` call on demo-clock, through the relay
and a headless ``serve`` (client -> relay -> gateway -> bundle) and straight to a
second copy of the server over the SDK's stdio client, interleaved call by call.
Goal: p50 through the gateway <= 1.5x direct.

Figure "gateway-throughput": 4 relay clients calling at once, calls per second,
against 4 direct stdio connections in the same run.

Figure "gateway-rotation": 20 credential rotations of demo-vault (CLI ``config
set api_token=-``) while 2 clients loop ``token_fingerprint`` through the
gateway: failed calls (goal 0) and the slowest call, against the respawn time.

Figure "gateway-startup": ``connect`` start until ``tools/list`` is answered,
with the console running, against ``python -c pass``. Goal: under 150 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.harness import Figure, interleave
from benchmarks.service import _cli_cmd, _run, _Serve, bare_interpreter
from benchmarks.support import ROOT, now

CLOCK = ROOT / "resources" / "bundles" / "demo-clock" / "server" / "main.py"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.asynccontextmanager
async def _session(command: str, args: list[str]) -> AsyncIterator[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=args, cwd=str(ROOT))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _relay(data: Path, ws: str = "Demo") -> tuple[str, list[str]]:
    return sys.executable, ["-m", "core.cli", "connect", ws, "--data-dir", str(data)]


async def _wait_tool(session: Any, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if name in {t.name for t in (await session.list_tools()).tools}:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{name} never appeared through the gateway")


async def latency_figures(calls: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-gw-", dir="/tmp") as tmp:
        data = Path(tmp) / "data"
        serve = _Serve(data)
        try:
            await serve.ready()
            async with (
                _session(*_relay(data)) as gw,
                _session(sys.executable, [str(CLOCK)]) as direct,
            ):
                await _wait_tool(gw, "demo-clock__echo")

                async def via_gateway() -> dict[str, float]:
                    t0 = now()
                    result = await gw.call_tool("demo-clock__echo", {"text": "hi"})
                    assert not result.is_error
                    return {"t": now() - t0}

                async def via_direct() -> dict[str, float]:
                    t0 = now()
                    result = await direct.call_tool("echo", {"text": "hi"})
                    assert not result.is_error
                    return {"t": now() - t0}

                samples = await interleave({"gw": via_gateway, "direct": via_direct}, calls, 5)
                g, d = samples["gw"]["t"], samples["direct"]["t"]
                latency = Figure("gateway-latency", "tools/call latency: gateway vs direct stdio")
                latency.series("through the gateway (p50)", g)
                latency.series("direct SDK stdio (p50)", d)
                latency.fact(
                    "p99 gateway / direct", f"{_p(g, 0.99) * 1e3:.1f} / {_p(d, 0.99) * 1e3:.1f} ms"
                )
                latency.pair("ratio gateway / direct", g, d, goal=("<=", 1.5))
                latency.notes.append(f"{calls} calls each, interleaved; demo-clock echo")

                throughput = Figure("gateway-throughput", "4 clients calling at once (calls/s)")
                for label, factory, tool in (
                    ("through the gateway", lambda: _session(*_relay(data)), "demo-clock__echo"),
                    ("direct SDK stdio", lambda: _session(sys.executable, [str(CLOCK)]), "echo"),
                ):
                    async with contextlib.AsyncExitStack() as stack:
                        sessions = [await stack.enter_async_context(factory()) for _ in range(4)]
                        if tool.startswith("demo-clock__"):
                            await _wait_tool(sessions[0], tool)
                        per_client = max(20, calls // 2)

                        async def loop(s: Any, tool: str = tool, n: int = per_client) -> None:
                            for _ in range(n):
                                await s.call_tool(tool, {"text": "x"})

                        t0 = now()
                        await asyncio.gather(*(loop(s) for s in sessions))
                        elapsed = now() - t0
                    throughput.series(label, [4 * per_client / elapsed], unit="")
        finally:
            serve.stop()
    return [latency, throughput]


async def rotation_figure(rotations: int) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-gwr-", dir="/tmp") as tmp:
        data = Path(tmp) / "data"
        opts = ["--data-dir", str(data)]
        serve = _Serve(data)
        failures: list[str] = []
        latencies: list[float] = []
        respawns: list[float] = []
        notes: list[str] = []
        try:
            await serve.ready()
            cli = _cli_cmd()
            await _run([*cli, "config", "set", "Demo", "demo-vault", "api_token=-", *opts], b"r0\n")
            try:
                await _run([*cli, "start", "Demo", "demo-vault", *opts])
            except RuntimeError as exc:  # raced the first launch's own start of Demo
                notes.append(f"start after the first save failed: {exc}"[:200])
            stop = asyncio.Event()

            async def caller() -> None:
                async with _session(*_relay(data)) as s:
                    await _wait_tool(s, "demo-vault__token_fingerprint")
                    while not stop.is_set():
                        t0 = now()
                        try:
                            result = await s.call_tool("demo-vault__token_fingerprint", {})
                            if result.is_error:
                                failures.append(str(result.content[0])[:120])
                        except Exception as exc:
                            failures.append(str(exc)[:120])
                        latencies.append(now() - t0)

            tasks = [asyncio.ensure_future(caller()) for _ in range(2)]
            await asyncio.sleep(3)
            for n in range(1, rotations + 1):
                t0 = now()
                await _run(
                    [*cli, "config", "set", "Demo", "demo-vault", "api_token=-", *opts],
                    f"r{n}\n".encode(),
                )
                respawns.append(now() - t0)
            stop.set()
            await asyncio.gather(*tasks)
        finally:
            serve.stop()
    fig = Figure(
        "gateway-rotation", f"{rotations} rotations while 2 clients call through the gateway"
    )
    fig.fact("failed calls", f"{len(failures)} of {len(latencies)}", met=not failures, goal="0")
    fig.series("slowest call", [max(latencies)])
    fig.series("median call", [statistics.median(latencies)])
    fig.series("rotation (CLI save → respawned)", respawns)
    fig.notes.extend(notes)
    return fig


async def startup_figure(rounds: int) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-gws-", dir="/tmp") as tmp:
        data = Path(tmp) / "data"
        serve = _Serve(data)
        try:
            await serve.ready()
            async with _session(*_relay(data)) as warm:
                await _wait_tool(warm, "demo-clock__echo")

            async def connect() -> dict[str, float]:
                t0 = now()
                async with _session(*_relay(data)) as s:
                    await s.list_tools()
                    t = now() - t0
                return {"t": t}

            samples = await interleave(
                {"connect": connect, "bare": bare_interpreter}, rounds, warmup=1
            )
        finally:
            serve.stop()
    fig = Figure("gateway-startup", "connect start until tools/list is answered")
    c, b = samples["connect"]["t"], samples["bare"]["t"]
    fig.series("connect → tools/list answered", c, goal=("<", 0.150))
    fig.series("python -c pass", b)
    fig.pair("ratio connect / python -c pass", c, b, diff_name="relay cost over a bare interpreter")
    fig.notes.append("the SDK client's own initialize handshake is included")
    return fig


async def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("BUNDLE_CONSOLE_SECRETS", "file")
    return [
        *(await latency_figures(40 if quick else 300)),
        await rotation_figure(5 if quick else 20),
        await startup_figure(5 if quick else 20),
    ]
