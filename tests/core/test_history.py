"""Bundle history survives a relaunch: events with reasons, restart counters, config
changes (keys, user, channel; never values); the file is private, capped and robust."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

from core.history import HistoryRecord, HistoryStore, current_user
from tests.core.data.bundle_factory import with_config, write_bundle
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
        host.set_protected(ws, "vault", True, via="cli")
        host.set_protected(ws, "vault", False, via="cli")
        host.set_sandbox(ws, "vault", network="blocked", via="gui")
        host.set_sandbox(ws, "vault", network="blocked", via="gui")  # no change: no record

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
            (("protected",), "cli", current_user()),
            (("protected",), "cli", current_user()),
            (("network",), "gui", current_user()),
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


async def test_updates_and_roll_backs_are_history(tmp_path: Path) -> None:
    fields = {
        "token": {"type": "string", "title": "Token", "sensitive": True},
        "old": {"type": "string", "title": "Old"},
    }
    v1 = write_bundle(tmp_path / "v1", with_config(fields) | {"version": "1.0.0"})
    v2 = write_bundle(
        tmp_path / "v2", with_config({"token": fields["token"]}) | {"version": "1.1.0"}
    )
    async with opened(tmp_path / "data", restore=False) as host:
        ws = host.create_workspace("Upd").id
        await host.install_bundle(ws, v1, server_name="svc")
        await host.set_user_config(ws, "svc", {"token": "upd-secret-1", "old": "x"})
        await host.update_bundle(ws, "svc", v2)
        await host.rollback_bundle(ws, "svc")
        notes = [r for r in host.history.store.for_bundle(ws, "svc") if r.kind != "setup"]
        assert [(r.kind, r.error, r.keys) for r in notes[-2:]] == [
            ("update", "Update sample 1.0.0 → 1.1.0", ("old",)),
            ("rollback", "Rolled back sample 1.1.0 → 1.0.0", ()),
        ]
        assert "upd-secret-1" not in host.history.store.path.read_text()
