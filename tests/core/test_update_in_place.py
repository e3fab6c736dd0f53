"""Update in place, Roll back and the bulk actions, on the real demo bundles.

A v2/v3 of Demo Vault is the demo folder copied to tmp with its manifest edited.
Each test drives one real scenario (real processes, real handshakes) and checks
every outcome along it, so the whole file spawns a handful of processes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.demo import demo_bundle_dirs
from core.errors import InstallError
from core.host import Host
from core.states import BundleState
from tests.core.data.hosting import opened

DEMOS = {d.name: d for d in demo_bundle_dirs()}


def vault_version(tmp_path: Path, version: str, edit: Any = None) -> Path:
    """A copy of demo-vault whose manifest says ``version`` (``edit`` changes user_config)."""
    folder = tmp_path / f"demo-vault-{version}"
    shutil.copytree(DEMOS["demo-vault"], folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = version
    if edit is not None:
        edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def v2_config(m: dict[str, Any]) -> None:
    uc = m["user_config"]
    del uc["read_only"]  # removed: its stored value is dropped with a note
    del m["server"]["mcp_config"]["env"]["VAULT_READ_ONLY"]
    uc["max_items"].update(max=10, default=5)  # the stored 20 no longer fits: dropped
    uc["region"] = {"type": "string", "title": "Region", "description": "d", "default": "eu"}


def v3_config(m: dict[str, Any]) -> None:
    v2_config(m)
    m["user_config"]["tenant"] = {
        "type": "string",
        "title": "Tenant",
        "description": "d",
        "required": True,
    }  # a new required setting: needs setup


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        yield h


async def fingerprint(host: Host) -> str:
    result = await host.lifecycle.call_tool("demo-vault", "ws_team", "token_fingerprint", {})
    return json.dumps(result.structured_content or [c.text for c in result.content])


async def test_update_keeps_credentials_respawns_and_rolls_back(host: Host, tmp_path: Path) -> None:
    data = tmp_path / "data"
    inst = await host.install_bundle("ws_team", DEMOS["demo-vault"])
    assert await host.plan_update("ws_team", DEMOS["demo-clock"]) is None  # not installed
    await host.set_user_config(
        "ws_team", "demo-vault", {"api_token": "tok-123", "max_items": "20", "read_only": "true"}
    )
    assert (await host.lifecycle.start_bundle("demo-vault", "ws_team")).ok
    before_pid, before_fp = inst.pid, await fingerprint(host)

    v2 = vault_version(tmp_path, "2.0.0", v2_config)
    plan = await host.plan_update("ws_team", v2)
    assert plan is not None and (plan.server_name, plan.kind) == ("demo-vault", "update")
    assert (plan.old_version, plan.new_version) == ("1.0.0", "2.0.0")
    assert plan.diff.added == ("region",) and plan.diff.removed == ("read_only",)
    assert plan.diff.incompatible == ("max_items",) and plan.diff.needs_setup == ()
    assert any("Read-only" in n and "dropped" in n for n in plan.diff.notes)
    assert not any("tok-123" in n for n in plan.diff.notes)

    result = await host.update_bundle("ws_team", "demo-vault", v2)
    assert result.outcome == "respawned" and result.previous_version == "1.0.0"
    assert [b.server_name for b in host.workspace("ws_team").bundles] == ["demo-vault"]
    assert inst.state is BundleState.RUNNING and inst.pid != before_pid
    assert await fingerprint(host) == before_fp  # same token reached the new process
    assert host.manifest("ws_team", "demo-vault").version == "2.0.0"
    assert host.config_status("ws_team", "demo-vault") == {
        "api_token": True,
        "max_items": False,
        "region": False,
    }
    assert (data / "bundles/demo-vault-1.0.0").is_dir()  # kept for Roll back
    assert (data / "bundles/demo-vault-2.0.0").is_dir()
    assert host.previous_version("ws_team", "demo-vault") == "1.0.0"
    details = host.bundle_details("ws_team", "demo-vault")
    assert details["previous_version"] == "1.0.0" and details["source"] == str(v2)

    rolled = await host.rollback_bundle("ws_team", "demo-vault")
    assert rolled.outcome == "respawned" and rolled.plan.kind == "rollback"
    assert host.manifest("ws_team", "demo-vault").version == "1.0.0"
    assert inst.state is BundleState.RUNNING and await fingerprint(host) == before_fp
    assert not (data / "bundles/demo-vault-2.0.0").exists()
    assert host.previous_version("ws_team", "demo-vault") is None
    with pytest.raises(InstallError, match="no previous version"):
        await host.rollback_bundle("ws_team", "demo-vault")

    # v1 -> v3 (a new required setting): saved, needs setup, the process is not revived
    v3 = vault_version(tmp_path, "3.0.0", v3_config)
    result = await host.update_bundle("ws_team", "demo-vault", v3)
    assert result.plan.diff.needs_setup == ("tenant",) and result.outcome == "needs_setup"
    assert inst.needs_setup is not None and "Tenant" in inst.needs_setup
    # the same version again, changed on disk: Replace; v1 (before the previous) is freed
    (v3 / "server" / "extra.txt").write_text("changed")
    plan = await host.plan_update("ws_team", v3)
    assert plan is not None and plan.kind == "replace"
    result = await host.update_bundle("ws_team", "demo-vault", v3)
    assert result.previous_version == "3.0.0"
    assert not (data / "bundles/demo-vault-1.0.0").exists()
    assert sorted(p.name for p in (data / "bundles").iterdir() if p.name.startswith("demo")) == [
        "demo-vault-3.0.0",
        "demo-vault-3.0.0-" + host.workspace("ws_team").bundles[0].bundle_dir[-8:],
    ]
    # a second copy only when asked (install_bundle is the explicit "second copy")
    copy = await host.install_bundle("ws_team", v3)
    assert copy.server_name == "demo-vault-2"
    assert host.installed_as("ws_team", "demo-vault") == "demo-vault"

    # protected: refused, nothing written; another bundle's source: refused
    host.set_protected("ws_team", "demo-vault", True)
    wsfile = data / "workspaces/ws_team/workspace.json"
    saved = wsfile.read_text()
    with pytest.raises(InstallError, match="protected"):
        await host.update_bundle("ws_team", "demo-vault", v2)
    with pytest.raises(InstallError, match="protected"):
        await host.rollback_bundle("ws_team", "demo-vault")
    assert wsfile.read_text() == saved
    with pytest.raises(InstallError, match='not "demo-vault"'):
        await host.update_bundle("ws_team", "demo-vault-2", DEMOS["demo-clock"])

    # the previous version survives a relaunch (workspace.json), and uninstall frees it
    await host.shutdown()
    async with opened(data, restore=False) as again:
        assert again.previous_version("ws_team", "demo-vault") == "3.0.0"
        await again.uninstall_bundle("ws_team", "demo-vault", force=True)
        await again.uninstall_bundle("ws_team", "demo-vault-2")
        assert not [p for p in (data / "bundles").iterdir() if p.name.startswith("demo")]


async def test_bulk_actions_one_summary(host: Host) -> None:
    for name in ("demo-clock", "demo-notes", "demo-vault"):
        await host.install_bundle("ws_team", DEMOS[name])
    lc = host.lifecycle

    started = await host.start_all("ws_team")
    assert started.summary() == "Started 2 of 3 bundles in Team; Demo Vault needs setup"
    assert not started.ok and [i.server_name for i in started.failed] == ["demo-vault"]
    pids = {n: lc.get_instance(n, "ws_team").pid for n in ("demo-clock", "demo-notes")}
    assert all(pids.values())

    await lc.stop_bundle("demo-notes", "ws_team")
    restarted = await host.restart_all("ws_team")
    # notes was stopped by choice: left alone; vault's Start was refused: tried again
    assert restarted.summary() == (
        "Restarted 1 of 2 bundles in Team; Demo Vault needs setup; 1 stopped bundle left stopped"
    )
    clock = lc.get_instance("demo-clock", "ws_team")
    assert clock.state is BundleState.RUNNING and clock.pid != pids["demo-clock"]
    assert lc.get_instance("demo-notes", "ws_team").state is BundleState.STOPPED

    host.set_protected("ws_team", "demo-clock", True)
    stopped = await host.stop_all("ws_team")
    assert stopped.summary() == "Stopped 2 of 3 bundles in Team; Demo Clock is protected"
    assert clock.state is BundleState.RUNNING
    host.set_protected("ws_team", "demo-clock", False)
    assert (await host.stop_all("ws_team")).summary() == "Stopped 3 of 3 bundles in Team"
    assert clock.state is BundleState.STOPPED


async def test_bundle_icon_nearest_size_and_never_outside_the_folder(
    host: Host, tmp_path: Path
) -> None:
    def with_icons(m: dict[str, Any]) -> None:
        m["icon"] = "../../outside.png"  # resolves out of the bundle folder: never read
        m["icons"] = [{"src": "small.png", "size": "16x16"}, {"src": "big.png", "size": "64x64"}]

    folder = vault_version(tmp_path, "1.0.0", with_icons)
    (folder / "small.png").write_bytes(b"small")
    (folder / "big.png").write_bytes(b"big")
    await host.install_bundle("ws_team", folder)
    (tmp_path / "data" / "outside.png").write_bytes(b"outside")
    assert host.bundle_icon("ws_team", "demo-vault", 16) == b"small"
    assert host.bundle_icon("ws_team", "demo-vault", 48) == b"big"
    for name in ("small.png", "big.png"):
        (host.bundle_path("ws_team", "demo-vault") / name).unlink()
    assert host.bundle_icon("ws_team", "demo-vault") is None  # not data/outside.png
    details = host.bundle_details("ws_team", "demo-vault")
    assert details["compatibility"]["platforms"] == ["darwin", "win32", "linux"]
    assert details["bundle_dir"] == str(host.bundle_path("ws_team", "demo-vault"))
    assert details["installed_at"] > 0 and details["previous_version"] is None
