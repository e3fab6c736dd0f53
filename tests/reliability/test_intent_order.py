"""The administrator's last Start/Stop/Restart wins, whatever is still in flight.

These are the interleavings the randomized run (test_concurrency.py) found, made
deterministic: a Stop racing a Restart that is queued or mid-way, and a Save that
lands while a Stop is still in progress. The end state, the OS process table and
the persisted intent (``workspace.json``'s ``desired_running``) must all follow the
last request.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.host import Host
from core.states import BundleState
from tests.procs import marked_processes, proc_env, wait_for
from tests.reliability.support import EventLog, opened, write_bundle, ws_name

S = BundleState
FIELDS = {"token": {"type": "string", "title": "Token", "sensitive": True}}
ENV = {"TOKEN": "${user_config.token}"}


class Bench:
    def __init__(self, host: Host, tag: str, tmp_path: Path) -> None:
        self.host = host
        self.lc = host.lifecycle
        self.tag = tag
        self.tmp_path = tmp_path
        self.ws = host.create_workspace(ws_name(tag)).id
        self.events = EventLog()
        self.lc.subscribe(self.events)

    async def install(self, server: str, *flags: str) -> Any:
        folder = write_bundle(self.tmp_path / server, flags, user_config=FIELDS, env=ENV)
        await self.host.install_bundle(self.ws, folder, server_name=server)
        return self.lc.get_instance(server, self.ws)

    def pids(self, server: str) -> list[int]:
        return marked_processes(self.tag).get(f"{self.ws}/{server}", [])

    def desired(self, server: str) -> bool:
        data = json.loads((self.host.data_dir / f"workspaces/{self.ws}/workspace.json").read_text())
        [entry] = [b for b in data["bundles"] if b["server_name"] == server]
        return bool(entry["desired_running"])


@pytest.fixture
async def bench(tmp_path: Path, tag: str) -> AsyncIterator[Bench]:
    async with opened(tmp_path / "data", tag) as host:
        b = Bench(host, tag, tmp_path)
        yield b
        assert b.events.problems == []
        assert host.lifecycle.lock_count == 0


async def test_stop_after_queued_restarts_wins(bench: Bench) -> None:
    """Restart in flight, another queued, then Stop: stopped, and persisted as stopped."""
    inst = await bench.install("svc", "--ignore-eof")  # each stop takes stop_grace
    lc = bench.lc
    assert (await lc.start_bundle("svc", bench.ws)).ok
    first = asyncio.create_task(lc.respawn_bundle("svc", bench.ws))
    assert await wait_for(lambda: inst.state is S.STOPPING)
    queued = asyncio.create_task(lc.respawn_bundle("svc", bench.ws))
    await asyncio.sleep(0)
    await lc.stop_bundle("svc", bench.ws)
    results = await asyncio.gather(first, queued)
    assert [r.outcome for r in results] == ["stopped", "stopped"]
    assert inst.state is S.STOPPED and bench.pids("svc") == []
    assert bench.desired("svc") is False


async def test_restart_after_a_stop_is_not_swallowed_by_an_earlier_queued_one(
    bench: Bench,
) -> None:
    """Restart in flight, one queued, Stop, then Restart: the last Restart runs the bundle.

    The last request must not join the Restart queued before the Stop (which gives
    way to the Stop): it queues behind the Stop and runs.
    """
    inst = await bench.install("svc", "--ignore-eof")
    lc = bench.lc
    assert (await lc.start_bundle("svc", bench.ws)).ok
    first = asyncio.create_task(lc.respawn_bundle("svc", bench.ws))
    assert await wait_for(lambda: inst.state is S.STOPPING)
    queued = asyncio.create_task(lc.respawn_bundle("svc", bench.ws))
    await asyncio.sleep(0)
    stop = asyncio.create_task(lc.stop_bundle("svc", bench.ws))
    await asyncio.sleep(0)
    last = await lc.respawn_bundle("svc", bench.ws)
    await asyncio.gather(first, queued, stop)
    assert last.ok and inst.state is S.RUNNING
    assert bench.pids("svc") == [inst.pid]
    assert bench.desired("svc") is True


async def test_a_save_while_a_stop_is_in_progress_does_not_revive_the_bundle(
    bench: Bench,
) -> None:
    """Stop lands during a slow handshake; the state still reads starting when Save runs."""
    inst = await bench.install("svc", "--slow-tools", "1.5")
    lc = bench.lc
    start = asyncio.create_task(lc.start_bundle("svc", bench.ws))
    assert await wait_for(lambda: inst.state is S.STARTING)
    stop = asyncio.create_task(lc.stop_bundle("svc", bench.ws))
    await asyncio.sleep(0)
    assert inst.state is S.STARTING  # the stop is in progress, the state lags
    saved = await bench.host.set_user_config(bench.ws, "svc", {"token": "tok-after-stop"})
    await asyncio.gather(start, stop)
    assert saved.outcome == "saved_stopped" and saved.respawn is None
    # A much longer bound than a queued respawn needs to show itself.
    assert not await wait_for(lambda: inst.state is not S.STOPPED or bench.pids("svc") != [], 2.0)
    assert inst.state is S.STOPPED and bench.pids("svc") == []
    assert bench.desired("svc") is False
    # the value was kept: the next Start uses it
    assert (await lc.start_bundle("svc", bench.ws)).ok
    assert proc_env(inst.pid)["TOKEN"] == "tok-after-stop"  # type: ignore[arg-type]


async def test_a_stop_during_a_saves_restart_wins_and_the_value_is_kept(bench: Bench) -> None:
    """Save restarts a running bundle; Stop lands during the new handshake."""
    inst = await bench.install("svc", "--slow-tools", "1.5")
    lc = bench.lc
    assert (await lc.start_bundle("svc", bench.ws)).ok
    save = asyncio.create_task(bench.host.set_user_config(bench.ws, "svc", {"token": "tok-new"}))
    assert await wait_for(lambda: inst.state is S.STARTING and inst.restarts >= 1)
    await lc.stop_bundle("svc", bench.ws)
    saved = await save
    assert saved.outcome == "saved_stopped"  # not "failed": it was stopped as asked
    assert saved.respawn is not None and saved.respawn.outcome == "stopped"
    assert inst.state is S.STOPPED and bench.pids("svc") == []
    assert (await lc.start_bundle("svc", bench.ws)).ok
    assert proc_env(inst.pid)["TOKEN"] == "tok-new"  # type: ignore[arg-type]


async def test_start_after_a_stop_in_progress_runs(bench: Bench) -> None:
    """Stop of a starting bundle, then Start: the Start is the last word."""
    inst = await bench.install("svc", "--slow-tools", "1.5")
    lc = bench.lc
    first = asyncio.create_task(lc.start_bundle("svc", bench.ws))
    assert await wait_for(lambda: inst.state is S.STARTING)
    stop = asyncio.create_task(lc.stop_bundle("svc", bench.ws))
    await asyncio.sleep(0)
    second = await lc.start_bundle("svc", bench.ws)
    assert (await first).outcome == "stopped"
    await stop
    assert second.ok and inst.state is S.RUNNING
    assert bench.pids("svc") == [inst.pid]
    assert bench.desired("svc") is True


async def test_a_stop_during_an_install_in_the_same_workspace_stays_persisted(
    bench: Bench, tmp_path: Path
) -> None:
    """Installing another bundle must not write back a stale copy of the workspace."""
    inst = await bench.install("svc")
    assert (await bench.lc.start_bundle("svc", bench.ws)).ok
    assert bench.desired("svc") is True
    big = write_bundle(tmp_path / "big", name="big")
    (big / "payload.bin").write_bytes(os.urandom(32 * 1024 * 1024))  # staging takes a while
    install = asyncio.create_task(bench.host.install_bundle(bench.ws, big, server_name="big"))
    await wait_for(lambda: any(bench.host.paths.bundles_dir.glob(".staging-*")), 10)
    await bench.lc.stop_bundle("svc", bench.ws)
    bench.host.rename_workspace(bench.ws, "Renamed during install")
    await install
    assert inst.state is S.STOPPED
    assert bench.desired("svc") is False
    data = json.loads((bench.host.data_dir / f"workspaces/{bench.ws}/workspace.json").read_text())
    assert data["name"] == "Renamed during install"
    assert [b["server_name"] for b in data["bundles"]] == ["svc", "big"]
    assert bench.host.workspace(bench.ws).name == "Renamed during install"
