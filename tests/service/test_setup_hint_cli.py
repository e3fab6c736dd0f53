"""A bundle that needs setup: the CLI says which ``config set`` sets it, not "Open Configure…".

The engine's message keeps the window's wording (the GUI shows it); every CLI
answer names the command, with the workspace, bundle and field key, and that
command, run as printed, sets the field. Real ``serve`` and CLI processes.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from core.launch import SETUP_HINT
from core.service.client import lock_holder
from tests.service.support import REPO, Serve, cli, cli_json

TOKEN = "tok-hint-5e1d9a"


def test_cli_needs_setup_names_the_config_set_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for args in (
        ("workspace", "create", "Team Ops"),
        ("install", "Team Ops", str(REPO / "resources" / "bundles" / "demo-vault")),
    ):
        done = cli(data_dir, *args)
        assert done.returncode == 0, done.stderr
    hint = (
        f"Set it with: bundle-console config set 'Team Ops' demo-vault api_token=- "
        f"--data-dir {shlex.quote(str(data_dir))} (the value on standard input)."
    )

    serve = Serve(data_dir, "--no-restore")
    try:
        while lock_holder(data_dir) != serve.proc.pid:  # from here the CLI waits for it
            assert serve.proc.poll() is None, serve.stderr()
            time.sleep(0.01)
        started = cli(data_dir, "start", "Team Ops", "demo-vault")
        assert started.returncode == 1
        assert 'Missing required config "API token"' in started.stderr
        assert started.stderr.strip().endswith(hint)
        assert SETUP_HINT not in started.stderr + started.stdout
        assert "Configure" not in started.stderr + started.stdout
    finally:
        assert serve.terminate() == 0, serve.stderr()

    # The printed command is the real one: run as printed, it sets the token (offline:
    # with serve up it would start the bundle, which this test does not need).
    printed = started.stderr.rsplit("Set it with: ", 1)[1].split(" (the value")[0]
    command = shlex.split(printed)
    assert command[0] == "bundle-console" and command[-2:] == ["--data-dir", str(data_dir)]
    saved = cli(data_dir, *command[1:-2], stdin=TOKEN + "\n")  # cli() adds the --data-dir
    assert saved.returncode == 0, saved.stderr
    assert TOKEN not in saved.stdout + saved.stderr
    [ws] = cli_json(data_dir, "status")["workspaces"]
    assert ws["bundles"][0]["needs_setup"] is None
