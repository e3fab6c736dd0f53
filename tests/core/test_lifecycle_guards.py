"""Guards that mutation testing found unguarded: each test fails when its guard is removed.

* Stop during crash backoff: without the retry cancel in Stop (and with a looser
  auto-restart guard) a bundle stopped while crashed came back running.
* Eager coalescing: a respawn request joining one that is already spawning means
  the newest credentials never reach a process.
* Backoff: the delay before each restart is measured, not read back.
* Unchecked transitions: ``_transition`` must refuse a move the table forbids.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from core.lifecycle import BundleLifecycleManager
from core.models import LifecycleEvent
from core.states import BundleState, IllegalTransition
from tests.core.engine_support import make_manager
from tests.procs import marked_processes, proc_env, wait_for

S = BundleState
WS = "ws_guard"


class Timeline:
    """Events with the monotonic time they were published at."""

    def __init__(self, lc: BundleLifecycleManager) -> None:
        self.events: list[tuple[float, LifecycleEvent]] = []
        lc.subscribe(lambda e: self.events.append((time.monotonic(), e)))

    def moves(self, server: str) -> list[tuple[float, BundleState, BundleState]]:
        return [
            (t, e.previous, e.state)
            for t, e in self.events
            if e.kind == "transition" and e.server_name == server
        ]


async def test_a_bundle_stopped_during_crash_backoff_is_never_revived(table, tmp_path):
    lc = make_manager(table, tmp_path, backoff=(3.0,))
    timeline = Timeline(lc)
    table.add("stopped", WS, "--exit-after", "0.05")
    table.add("control", WS, "--exit-after", "0.05")
    lc.register("stopped", WS)
    lc.register("control", WS)
    try:
        await lc.start_bundle("stopped", WS)
        assert await wait_for(lambda: lc.get_instance("stopped", WS).state is S.CRASHED, 20)
        # The control crashes later, so its restart timer fires after the stopped one's would.
        await lc.start_bundle("control", WS)
        assert await wait_for(lambda: lc.get_instance("control", WS).state is S.CRASHED, 20)
        assert (await lc.stop_bundle("stopped", WS)).ok
        stopped_at = time.monotonic()
        assert lc.get_instance("stopped", WS).state is S.STOPPED
        # Wait for the control's restart: by then the stopped bundle's timer has passed.
        assert await wait_for(
            lambda: any(
                t > stopped_at and new is S.RUNNING for t, _old, new in timeline.moves("control")
            ),
            30,
        )
        assert [m for m in timeline.moves("stopped") if m[0] > stopped_at] == []
        assert lc.get_instance("stopped", WS).state is S.STOPPED
        assert f"{table.tag}:{WS}/stopped" not in marked_processes(table.tag)
    finally:
        await lc.shutdown()


async def test_a_write_after_the_spawn_started_reaches_the_final_process(lc, table):
    """Deterministic "last wins": the second write lands while the first respawn spawns."""
    spec = table.add("coal", WS, env={"VALUE": "v1"})
    lc.register("coal", WS)
    later: list[asyncio.Task] = []

    def on_event(event: LifecycleEvent) -> None:
        if event.state is S.STARTING and not later:
            # The first spawn has read its spec: this write must reach a new process.
            spec.env["VALUE"] = "v2"
            later.append(asyncio.ensure_future(lc.respawn_bundle("coal", WS)))

    lc.subscribe(on_event)
    first = await lc.respawn_bundle("coal", WS)
    assert first.ok and later
    second = await later[0]
    assert second.ok and second.outcome == "respawned"
    inst = lc.get_instance("coal", WS)
    assert inst.state is S.RUNNING and proc_env(inst.pid)["VALUE"] == "v2"
    assert lc.spawn_count == 2


async def test_each_restart_waits_its_own_backoff_step(table, tmp_path):
    steps = (0.05, 0.8, 0.05, 60.0)
    lc = make_manager(table, tmp_path, backoff=steps)
    timeline = Timeline(lc)
    table.add("loop", WS, "--exit-after", "0.05")
    lc.register("loop", WS)
    try:
        await lc.start_bundle("loop", WS)

        def gaps() -> list[float]:
            moves = timeline.moves("loop")
            crashed = [t for t, old, new in moves if new is S.CRASHED]
            restarted = [t for t, old, new in moves if old is S.CRASHED and new is S.STARTING]
            return [r - c for c, r in zip(crashed, restarted, strict=False)]

        assert await wait_for(lambda: len(gaps()) >= 3, 30)
        measured = gaps()[:3]
        # A timer never fires early, so these lower bounds hold on any machine.
        for gap, step in zip(measured, steps, strict=False):
            assert gap >= step - 0.01, (measured, steps)
    finally:
        await lc.shutdown()


async def test_an_illegal_transition_raises_and_publishes_nothing(lc, table):
    table.add("x", WS)
    inst = lc.register("x", WS)
    events: list[LifecycleEvent] = []
    lc.subscribe(events.append)
    with pytest.raises(IllegalTransition, match="stopped -> running"):
        lc._transition(inst, S.RUNNING)
    assert inst.state is S.STOPPED and events == []
