"""Bundle history survives a relaunch: events with reasons, restart counters, config
changes (keys, user, channel; never values); the file is private, capped and robust."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

from core.history import HistoryRecord, HistoryStore, current_user
from tests.core.data.hosting import opened

REPO = Path(__file__).resolve().parents[2]
VAULT = REPO / "resources" / "bundles" / "demo-vault"
SECRET = "hist-s3cret-token-4711"


async def _until(predicate, what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_history_survives_a_relaunch(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data, restore=False) as host:
        ws = host.create_workspace("Hist").id
        inst = await host.install_bundle(ws, VAULT, server_name="vault")
        await host.set_user_config(ws, "vault", {"api_token": SECRET, "max_items": 7}, via="cli")
        assert (await host.lifecycle.start_bundle("vault", ws)).ok
        os.kill(inst.pid, signal.SIGKILL)  # a crash: its reason must be kept
        await _until(lambda: inst.crash_restarts == 1 and str(inst.state) == "running", "restart")
        assert (inst.restarts, inst.crash_restarts, inst.respawns) == (1, 1, 0)
        await host.clear_user_config(ws, "vault", via="gui")  # a respawn, refused: needs setup
        counters = (inst.restarts, inst.crash_restarts, inst.respawns)
        assert counters == (2, 1, 1)

    path = data / "history" / "events.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert SECRET not in path.read_text()

    async with opened(data, restore=False) as host:
        inst = host.lifecycle.get_instance("vault", ws)
        assert (inst.restarts, inst.crash_restarts, inst.respawns) == counters
        records = host.history.store.for_bundle(ws, "vault")
        kinds = [r.kind for r in records]
        assert kinds.count("registered") == 1, kinds  # the relaunch is not an install
        configs = [r for r in records if r.kind == "config"]
        assert [(r.keys, r.via, r.user) for r in configs] == [
            (("api_token", "max_items"), "cli", current_user()),
            (("api_token", "max_items"), "gui", current_user()),
        ]
        crashed = [r for r in records if r.kind == "transition" and r.state == "crashed"]
        assert crashed and "SIGKILL" in (crashed[0].error or ""), crashed
        assert any(r.state == "running" and r.previous == "starting" for r in records)
        # Uninstall ends that bundle's history: a new one of the same name starts afresh.
        await host.uninstall_bundle(ws, "vault")
        await host.install_bundle(ws, VAULT, server_name="vault")
        fresh = [r.kind for r in host.history.store.for_bundle(ws, "vault")]
        assert fresh[:1] == ["registered"] and "config" not in fresh, fresh
        assert host.lifecycle.get_instance("vault", ws).restarts == 0


def test_history_is_capped_and_skips_cut_lines(tmp_path: Path) -> None:
    path = tmp_path / "h" / "events.jsonl"
    store = HistoryStore(path, max_bytes=4000, backups=1)
    seen: list[HistoryRecord] = []
    store.subscribe(seen.append)
    for n in range(300):
        store.append(HistoryRecord("ws", "b", "transition", previous="a", state="b", error=str(n)))
    store.close()
    assert len(seen) == 300
    assert path.stat().st_size <= 4000 and path.with_name("events.jsonl.1").stat().st_size <= 4000
    assert not path.with_name("events.jsonl.2").exists()
    with open(path, "a") as fh:
        fh.write('{"ws_id": "ws", "server_na')  # a write cut by a crash
    again = HistoryStore(path, max_bytes=4000, backups=1)
    kept = [r.error for r in again.for_bundle("ws", "b", limit=1000)]
    assert kept[-1] == "299" and 20 < len(kept) < 300
    assert kept == [str(n) for n in range(300 - len(kept), 300)]  # the newest, in order
