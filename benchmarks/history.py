"""Figure: what the persistent history (core/history) costs on the loop.

Append: one lifecycle record written by ``HistoryStore.append`` (JSON, one
``O_APPEND`` write, the in-memory index, rotation past the cap), against a
baseline measured in the same rounds: ``os.write`` of the same bytes to an
``O_APPEND`` file. Read: the Events tab's first ``for_bundle`` on a store
filled to its cap (both files), which parses them once, then a later one
(served from the index).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Figure
from core.history import HistoryRecord, HistoryStore


def _record(n: int) -> HistoryRecord:
    return HistoryRecord(
        f"ws_{n % 7}",
        f"bundle-{n % 50}",
        "transition",
        previous="starting",
        state="running",
        error=None if n % 5 else "exited with code 1 during the MCP handshake",
        restarts=n % 9,
        crash_restarts=n % 4,
        respawns=n % 5,
    )


async def run(quick: bool) -> list[Figure]:
    fig = Figure("history", "history: append and Events-tab read cost")
    batch = 500 if quick else 2000
    rounds = 3 if quick else 7
    appends, baseline = [], []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        root = Path(tmp)
        store = HistoryStore(root / "h" / "events.jsonl", root=root)
        fd = os.open(root / "plain.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        records = [_record(n) for n in range(batch)]
        lines = [(r.to_json() + "\n").encode() for r in records]
        store.for_bundle("ws_0", "bundle-0")  # index on, as with the Events tab open
        for _ in range(rounds):
            t = time.perf_counter()
            for record in records:
                store.append(record)
            appends.append((time.perf_counter() - t) / batch)
            t = time.perf_counter()
            for line in lines:
                os.write(fd, line)
            baseline.append((time.perf_counter() - t) / batch)
        os.close(fd)
        store.close()
        fig.series("append one record, µs (HistoryStore)", [a * 1e6 for a in appends], unit="")
        fig.series("baseline: os.write of the line, µs", [b * 1e6 for b in baseline], unit="")
        fig.pair("ratio append / os.write", appends, baseline)
        sizes = sum(p.stat().st_size for p in store.files() if p.exists())
        first, later = [], []
        for _ in range(rounds):
            fresh = HistoryStore(store.path, root=root)
            t = time.perf_counter()
            got = fresh.for_bundle("ws_1", "bundle-1")
            first.append(time.perf_counter() - t)
            t = time.perf_counter()
            fresh.for_bundle("ws_2", "bundle-2")
            later.append(time.perf_counter() - t)
        fig.series(f"first Events-tab read ({sizes // 1024} KiB on disk)", first)
        fig.series("later read (from the index)", later)
        fig.fact("records shown for one bundle", str(len(got)))
    return [fig]
