"""``install`` on an installed name updates it; ``--copy`` makes a second copy; ``rollback``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.test_update_in_place import v3_config, vault_version
from tests.service.support import cli, cli_json


def test_install_updates_copy_installs_rollback_returns(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert cli(data_dir, "workspace", "create", "Ops").returncode == 0
    v1 = vault_version(tmp_path, "1.0.0")
    assert cli(data_dir, "install", "Ops", str(v1)).returncode == 0
    set_token = cli(data_dir, "config", "set", "Ops", "demo-vault", "api_token=-", stdin="tok\n")
    assert set_token.returncode == 0, set_token.stderr

    v3 = vault_version(tmp_path, "3.0.0", v3_config)
    done = cli(data_dir, "install", "Ops", str(v3))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == 'Updated "demo-vault" (1.0.0 → 3.0.0).'
    assert "  Read-only: no longer used by 3.0.0." in lines
    assert "  Needs setup after the update: Tenant." in lines
    assert lines[-1] == "`rollback` returns to 1.0.0 until the next update."
    wsfile = data_dir / "workspaces/ws_ops/workspace.json"
    [entry] = json.loads(wsfile.read_text())["bundles"]
    assert (entry["version"], entry["previous"]["version"]) == ("3.0.0", "1.0.0")
    stored = json.loads((data_dir / "workspaces/ws_ops/credentials/demo-vault.json").read_text())
    assert "api_token" in stored  # kept (its value, or a keyring marker)

    copy = cli_json(data_dir, "install", "Ops", str(v3), "--copy")
    assert copy["bundle"] == "demo-vault-2" and "updated" not in copy

    back = cli_json(data_dir, "rollback", "Ops", "demo-vault")
    assert (back["kind"], back["from_version"], back["to_version"]) == (
        "rollback",
        "3.0.0",
        "1.0.0",
    )
    assert back["outcome"] == "saved_stopped" and back["previous_version"] is None
    assert [b["version"] for b in json.loads(wsfile.read_text())["bundles"]] == ["1.0.0", "3.0.0"]
