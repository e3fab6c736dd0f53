"""`bundle-console status` says when a bundle is not isolated, and why."""

from __future__ import annotations

from pathlib import Path

from core.host import Host
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.service.support import cli, cli_json


async def test_status_shows_isolation_off_and_network_blocked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "workspace", "create", "Team").returncode == 0
    for name in ("loose", "offline"):
        src = write_bundle(tmp_path / name, manifest())
        assert cli(data, "install", "Team", str(src), "--name", name).returncode == 0
    host = await Host.open(data, restore=False)
    try:
        ws = host.workspaces()[0].id
        assert host.set_sandbox(ws, "loose", isolated=False)
        assert host.set_sandbox(ws, "offline", network="blocked")
    finally:
        await host.shutdown()
    text = cli(data, "status", "Team")
    assert text.returncode == 0, text.stderr
    assert "loose: not isolated: turned off for this bundle by the administrator" in text.stdout
    bundles = {b["server_name"]: b for b in cli_json(data, "status")["workspaces"][0]["bundles"]}
    assert bundles["offline"]["network"] == "blocked"
    assert bundles["loose"]["isolation"].startswith("not isolated")
