"""End to end with the real engine and the shipped demo bundles, checked in the OS process table.

Setup -> running with the credential in the process env -> a second write
respawns with the newer value; restore at open; uninstall/delete stop processes;
process records for reaping what a killed console left.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from core.demo import demo_bundles_root
from core.host import Host
from core.models import MARKER_ENV
from core.orphans import OrphanRecord, ProcessRecords
from core.states import BundleState
from tests.core.data.hosting import bundle_processes, opened
from tests.procs import proc_env

VAULT = demo_bundles_root() / "demo-vault"
CLOCK = demo_bundles_root() / "demo-clock"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        yield h


def live(host: Host) -> dict[str, list[int]]:
    return bundle_processes(host.data_dir)


async def test_setup_then_respawn_with_newer_value(host: Host) -> None:
    await host.install_bundle("ws_team", VAULT, server_name="vault")
    lc = host.lifecycle
    refused = await lc.start_bundle("vault", "ws_team")
    assert refused.outcome == "needs_setup" and live(host) == {}

    first = await host.set_user_config("ws_team", "vault", {"api_token": "token-one-111"})
    assert first.outcome == "respawned" and first.respawn is not None and first.respawn.ok
    inst = lc.get_instance("vault", "ws_team")
    assert inst is not None and inst.state is BundleState.RUNNING and inst.needs_setup is None
    old_pid = inst.pid
    assert live(host) == {"ws_team/vault": [old_pid]}
    assert proc_env(old_pid)["VAULT_API_TOKEN"] == "token-one-111"  # type: ignore[arg-type]

    second = await host.set_user_config(
        "ws_team", "vault", {"api_token": "token-two-222", "read_only": True}
    )
    assert second.outcome == "respawned"
    assert "token-two-222" not in repr(second)
    [new_pid] = live(host)["ws_team/vault"]
    assert new_pid == inst.pid and new_pid != old_pid
    env = proc_env(new_pid)
    assert env["VAULT_API_TOKEN"] == "token-two-222" and env["VAULT_READ_ONLY"] == "true"
    assert env["VAULT_MAX_ITEMS"] == "50"  # manifest default, printed without ".0"
    assert "token-two-222" in inst._secrets  # the engine knows what to redact

    # a cleared required field: the respawn stops at setup, no process is left
    third = await host.set_user_config("ws_team", "vault", {"api_token": ""})
    assert third.outcome == "needs_setup" and live(host) == {}


async def test_concurrent_writes_last_one_wins(host: Host) -> None:
    await host.install_bundle("ws_team", VAULT, server_name="vault")
    await host.set_user_config("ws_team", "vault", {"api_token": "start-token"})
    await host.lifecycle.start_bundle("vault", "ws_team")
    spawns = host.lifecycle.spawn_count
    results = await asyncio.gather(
        *(host.set_user_config("ws_team", "vault", {"api_token": f"tok-{i:03d}"}) for i in range(6))
    )
    assert all(r.outcome == "respawned" for r in results)
    assert host.lifecycle.spawn_count - spawns <= 2
    [pid] = live(host)["ws_team/vault"]
    assert proc_env(pid)["VAULT_API_TOKEN"] == "tok-005"


async def test_open_restores_running_bundles(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data) as host:
        host.create_workspace("Team")
        await host.install_bundle("ws_team", CLOCK, server_name="clock")
        await host.install_bundle("ws_team", CLOCK, server_name="idle")
        assert (await host.lifecycle.start_bundle("clock", "ws_team")).ok
    assert bundle_processes(data) == {}
    async with opened(data, restore=False) as host:
        assert live(host) == {}
    async with opened(data) as host:
        assert set(live(host)) == {"ws_team/clock"}
        inst = host.lifecycle.get_instance("clock", "ws_team")
        assert inst is not None and inst.state is BundleState.RUNNING


async def test_uninstall_and_delete_stop_processes(host: Host) -> None:
    other = host.create_workspace("Other")
    await host.install_bundle("ws_team", CLOCK, server_name="clock")
    await host.install_bundle(other.id, CLOCK, server_name="clock")
    await asyncio.gather(
        host.lifecycle.start_bundle("clock", "ws_team"),
        host.lifecycle.start_bundle("clock", other.id),
    )
    assert set(live(host)) == {"ws_team/clock", "ws_other/clock"}
    await host.uninstall_bundle("ws_team", "clock")
    assert set(live(host)) == {"ws_other/clock"}
    await host.delete_workspace(other.id)
    assert live(host) == {}
    assert not (host.data_dir / "bundles").exists() or not any(
        (host.data_dir / "bundles").iterdir()
    )


async def test_write_after_an_explicit_stop_only_saves(host: Host) -> None:
    await host.install_bundle("ws_team", VAULT, server_name="vault")
    saved = await host.set_user_config("ws_team", "vault", {"api_token": "never-started"})
    assert saved.outcome == "saved_stopped" and live(host) == {}
    assert (await host.lifecycle.start_bundle("vault", "ws_team")).ok
    await host.lifecycle.stop_bundle("vault", "ws_team")
    result = await host.set_user_config("ws_team", "vault", {"api_token": "after-stop"})
    assert result.outcome == "saved_stopped" and result.respawn is None
    assert live(host) == {}
    assert host.workspace("ws_team").bundles[0].desired_running is False


async def test_running_bundles_are_recorded_and_leftovers_reaped_at_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data) as host:
        host.create_workspace("Team")
        await host.install_bundle("ws_team", CLOCK, server_name="clock")
        await host.lifecycle.start_bundle("clock", "ws_team")
        record = data / "run/ws_team/clock.json"
        assert json.loads(record.read_text())["marker"] == "ws_team/clock"
        await host.lifecycle.stop_bundle("clock", "ws_team")
        assert not record.exists()

    # A process a killed console left behind: it carries the marker and has a record.
    env = {**os.environ, MARKER_ENV: "ws_team/clock"}
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True
    )
    try:
        ProcessRecords(data / "run").record(
            OrphanRecord(
                "clock",
                "ws_team",
                leftover.pid,
                leftover.pid,
                psutil.Process(leftover.pid).create_time(),
                "ws_team/clock",
            )
        )
        async with opened(data, restore=False) as host:
            [message] = host.reaped
            assert f"pid {leftover.pid}" in message and "previous session" in message
            assert leftover.wait(5) is not None
            assert not (data / "run/ws_team/clock.json").exists()
    finally:
        leftover.kill()
        leftover.wait()
