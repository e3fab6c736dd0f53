"""``protect`` / ``unprotect`` from the CLI, and unique workspace names through it."""

from __future__ import annotations

import json
from pathlib import Path

from core.demo import demo_bundle_dirs
from tests.service.support import cli, cli_json


def test_protect_unprotect_and_unique_names(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert cli(data_dir, "workspace", "create", "Ops").returncode == 0
    dup = cli(data_dir, "workspace", "create", " ops ")
    assert dup.returncode != 0 and 'A workspace named "Ops" already exists' in dup.stderr
    [vault] = [d for d in demo_bundle_dirs() if d.name == "demo-vault"]
    assert cli(data_dir, "install", "Ops", str(vault)).returncode == 0

    done = cli(data_dir, "protect", "Ops", "demo-vault")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '"demo-vault" is protected.'
    wsfile = data_dir / "workspaces" / "ws_ops" / "workspace.json"
    assert json.loads(wsfile.read_text())["bundles"][0]["protected"] is True
    refused = cli(data_dir, "uninstall", "Ops", "demo-vault")
    assert refused.returncode != 0 and "protected" in refused.stderr

    result = cli_json(data_dir, "unprotect", "Ops", "demo-vault")
    assert result == {"workspace": "ws_ops", "bundle": "demo-vault", "protected": False}
    assert json.loads(wsfile.read_text())["bundles"][0]["protected"] is False
    assert cli(data_dir, "uninstall", "Ops", "demo-vault").returncode == 0
