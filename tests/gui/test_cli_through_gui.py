"""CLI commands reach the window's own Host over the control socket; badges follow at once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from tests.gui.conftest import badge_kind, server_named, wait_badge

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-gui-cli-4e1f"


async def _cli(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        *args,
        "--data-dir",
        str(data_dir),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out, _ = await proc.communicate(stdin.encode() if stdin is not None else None)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_cli_goes_through_the_gui_and_badges_follow(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        data_dir = host.data_dir
        (demo,) = host.workspaces()
        vault = server_named(host, demo.id, "vault")
        assert badge_kind(window, vault) == "setup"
        rc, out = await _cli(data_dir, "config", "set", "Demo", vault, "api_token=-", stdin=TOKEN)
        assert rc == 0, out
        assert host.config_status(demo.id, vault)["api_token"] is True
        # The change is history, with its channel; the Events tab shows it as it lands.
        window.select_bundle(vault)
        change = [r for r in host.history.store.for_bundle(demo.id, vault) if r.kind == "config"]
        assert [(c.keys, c.via) for c in change] == [(("api_token",), "cli")]
        assert "settings changed" in window.detail.events.rows()
        rc, out = await _cli(data_dir, "start", "Demo", vault)
        assert rc == 0, out
        await wait_badge(window, vault, "running")
        rc, out = await _cli(data_dir, "status", "--json")
        assert rc == 0 and '"console": "gui"' in out and TOKEN not in out
        rc, out = await _cli(data_dir, "stop", "demo", vault)
        assert rc == 0, out
        await wait_badge(window, vault, "stopped")
