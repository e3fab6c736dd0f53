"""Hostile servers: the console's memory and loop during a request storm and a huge tool list.

* storm: ``hostile_server.py --storm`` answers the handshake, then sends
  ``ping`` / ``sampling/createMessage`` requests in a loop and never reads its
  stdin (before the guard: 39 MB -> 1.3 GB in 30 s, a 3 s stall, kept after
  Stop). Each round runs it until the console flags it (running -> crashed),
  restarting it with backoff until the retry budget is spent (dead).
* tools: a server paging ``tools/list`` out to 100,000 tools (was 666 MB).
* flood: ``hostile_server.py --flood-notifications`` sends 200,000 notifications
  as fast as its pipe takes them while another bundle is called in a loop
  (the console drops past 500 + 200/s and counts them).

After each storm, RSS is shown three ways: right after Stop, once the
console's own debounced ``malloc_trim`` (core.memory, ``QUIET`` s after the
last storm event) has run, and after an explicit trim (what is still in use).

Baseline: the console's RSS after one healthy bundle started and stopped in
the same process (SDK imported, loop warm). Peak is sampled every 10 ms; loop
responsiveness is the longest gap between 10 ms ticks during the storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psutil

from benchmarks.harness import Figure
from benchmarks.support import ROOT, Server, SpecTable, make_lifecycle, now
from core import memory
from core.states import BundleState

WS = "ws_bench"
HOSTILE = ROOT / "tests" / "fixtures" / "servers" / "hostile_server.py"
MB = 1024 * 1024


def rss() -> float:
    return psutil.Process().memory_info().rss / MB


class Sampler:
    """Peak RSS and the longest loop gap while running."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.gap = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = now()
        while True:
            await asyncio.sleep(0.01)
            t = now()
            self.gap = max(self.gap, t - last - 0.01)
            last = t
            self.peak = max(self.peak, rss())

    def __enter__(self) -> Sampler:
        self.peak = rss()
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _settle() -> float:
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.05)
    return rss()


def trimmed() -> float:
    """RSS once glibc has handed freed heap back to the OS: what is still *used*."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss()


async def self_trimmed() -> float:
    """RSS once the console's own trim (core.memory) has run, without trimming here."""
    runs = memory.trimmer().runs
    deadline = now() + memory.QUIET + 5
    while memory.trimmer().runs == runs and now() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # the trim thread
    return rss()


async def run(quick: bool) -> list[Figure]:
    fig = Figure("hostile", "hostile servers: console memory and loop gaps (MB above baseline)")
    rounds = 2 if quick else 5
    tag = f"hostile-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        table = SpecTable(tag)
        hostile = Server("hostile", sys.executable, (str(HOSTILE),))
        table.add("healthy", WS, hostile)
        table.add("storm", WS, Server("storm", sys.executable, (str(HOSTILE), "--storm")))
        flood = (str(HOSTILE), "--flood-notifications", str(FLOOD))
        table.add("flood", WS, Server("flood", sys.executable, flood))
        table.add(
            "tools",
            WS,
            Server(
                "tools", sys.executable, (str(HOSTILE), "--tools", "100000", "--page-size", "1000")
            ),
        )
        lc = make_lifecycle(
            table, Path(tmp) / "logs", backoff=(0.2, 0.2, 0.2, 0.2, 0.2), max_restarts=5
        )
        for name in ("healthy", "storm", "tools", "flood"):
            lc.register(name, WS)
        try:
            await lc.start_bundle("healthy", WS)
            await lc.stop_bundle("healthy", WS)
            base = await _settle()
            base_trimmed = trimmed()
            peaks, afters, gaps, spans, used, selfs = [], [], [], [], [], []
            for _ in range(rounds):
                t0 = now()
                with Sampler() as sampler:
                    await lc.start_bundle("storm", WS)
                    inst = lc.get_instance("storm", WS)
                    while inst.state is not BundleState.DEAD:
                        await asyncio.sleep(0.02)
                spans.append(now() - t0)
                await lc.stop_bundle("storm", WS)
                peaks.append(sampler.peak - base)
                gaps.append(sampler.gap)
                afters.append(await _settle() - base)
                selfs.append(await self_trimmed() - base)
                used.append(trimmed() - base_trimmed)
            fig.series(
                "storm: peak RSS above baseline (6 runs until dead)",
                peaks,
                unit="MB",
                goal=("<", 100.0),
            )
            fig.series("storm: RSS above baseline after Stop", afters, unit="MB")
            fig.series("storm: same, after the console's own trim", selfs, unit="MB")
            fig.series("storm: same, after malloc_trim (memory still in use)", used, unit="MB")
            fig.series("storm: longest loop gap", gaps)
            fig.series("storm: start until dead (5 restarts, 0.2 s backoff)", spans)
            fig.fact("storm: last error", str(lc.get_instance("storm", WS).last_error)[:90])
            peaks, afters = [], []
            for _ in range(rounds):
                with Sampler() as sampler:
                    result = await lc.start_bundle("tools", WS)
                peaks.append(sampler.peak - base)
                afters.append(await _settle() - base)
            fig.series("100,000 tools: peak RSS above baseline", peaks, unit="MB")
            fig.series("100,000 tools: RSS above baseline after refusal", afters, unit="MB")
            fig.fact("100,000 tools: error", str(result.error)[:90])
            await _flood(fig, lc, base, rounds)
            fig.notes.append(f"baseline RSS {base:.0f} MB (one healthy bundle started and stopped)")
        finally:
            await lc.shutdown()
    return [fig]


FLOOD = 200_000


async def _flood(fig: Figure, lc: Any, base: float, rounds: int) -> None:
    """A notification flood while another bundle is called: memory, loop, calls."""
    await lc.start_bundle("healthy", WS)
    quiet = []
    for _ in range(200):  # the baseline: the same calls with no flood
        t = now()
        await lc.call_tool("healthy", WS, "noop")
        quiet.append(now() - t)
    peaks, gaps, calls, dropped, afters, selfs, spans = [], [], [], [], [], [], []
    for _ in range(rounds):
        done = asyncio.Event()

        def seen(
            server: str, ws: str, method: str, params: Any, done: asyncio.Event = done
        ) -> None:
            if server == "flood" and method.endswith("list_changed"):
                done.set()

        lc.on_server_notification = seen
        with Sampler() as sampler:
            t0 = now()
            await lc.start_bundle("flood", WS)
            inst = lc.get_instance("flood", WS)
            while not done.is_set():
                t = now()
                await lc.call_tool("healthy", WS, "noop")
                calls.append(now() - t)
            spans.append(now() - t0)
        dropped.append(inst.notifications_dropped)
        await lc.stop_bundle("flood", WS)
        peaks.append(sampler.peak - base)
        gaps.append(sampler.gap)
        afters.append(await _settle() - base)
        selfs.append(await self_trimmed() - base)
    lc.on_server_notification = None
    await lc.stop_bundle("healthy", WS)
    fig.series(f"flood of {FLOOD:,} notifications: peak RSS above baseline", peaks, unit="MB")
    fig.series("flood: RSS above baseline after Stop", afters, unit="MB")
    fig.series("flood: same, after the console's own trim", selfs, unit="MB")
    fig.series("flood: longest loop gap", gaps)
    fig.series("another bundle's call, no flood (baseline)", quiet)
    fig.series("flood: another bundle's call during it (each call)", calls)
    fig.series("flood: until its last notification was handled", spans)
    fig.series("flood: notifications dropped (of 200,001)", dropped, unit="count")
