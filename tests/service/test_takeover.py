"""A GUI opened on a data dir held by ``serve`` takes it over; then it answers the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.service.support import ENV, REPO, Serve, cli, cli_json


def _bundles(data_dir: Path) -> tuple[str, dict[str, dict]]:
    status = cli_json(data_dir, "status")
    [ws] = status["workspaces"]
    return status["console"], {b["server_name"]: b for b in ws["bundles"]}


def _poll(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return value


def test_gui_takes_over_from_serve_and_answers_the_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    serve = Serve(data_dir)
    gui: subprocess.Popen[str] | None = None
    try:
        serve.wait_listening()
        clock = serve.wait_state("Demo", "demo-clock", "running")
        # `bundle-console` with no subcommand opens the window (here through core.cli).
        gui = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "--data-dir", str(data_dir)],
            cwd=REPO,
            env={
                **ENV,
                "QT_QPA_PLATFORM": "offscreen",
                "BUNDLE_CONSOLE_GUI_SETTINGS": str(tmp_path / "gui.ini"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert serve.proc.wait(60) == 0, serve.stderr()  # handed over, exit 0
        assert "handing over" in serve.stderr()
        assert not psutil.pid_exists(clock["pid"])

        def gui_running():  # type: ignore[no-untyped-def]
            if not (data_dir / "service" / "control.sock").exists():
                return None
            console, bundles = _bundles(data_dir)
            return console == "gui" and bundles["demo-clock"]["state"] == "running" and bundles

        bundles = _poll(gui_running, 90, "the GUI to restore the bundles")
        assert bundles["demo-clock"]["pid"] != clock["pid"]
        assert bundles["demo-clock"]["pid"] in [
            p.pid for p in psutil.Process(gui.pid).children(recursive=True)
        ]
        # CLI commands now go through the GUI's Host.
        stopped = cli(data_dir, "stop", "Demo", "demo-clock")
        assert stopped.returncode == 0, stopped.stderr
        assert _bundles(data_dir)[1]["demo-clock"]["state"] == "stopped"
    finally:
        serve.kill()
        if gui is not None and gui.poll() is None:
            gui.send_signal(signal.SIGTERM)
            out, _ = gui.communicate(timeout=60)
            assert gui.returncode == 0, out
    assert not (data_dir / "service" / "control.sock").exists()
