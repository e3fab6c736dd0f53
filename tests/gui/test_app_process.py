"""The real ``python -m gui`` process: signals quit it cleanly, exit 0, no bundle left behind."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.gui.conftest import bundle_pids

ROOT = Path(__file__).resolve().parents[2]
#: how long a launch may take to show its bundles: a hang detector, not a speed
#: check (a cold app start imports Qt and the SDK; under pytest-xdist on two
#: loaded cores that took over 30 s)
LAUNCH_WAIT = 90
TWO = "2 bundle processes"


def launch_app(data_dir: Path, settings: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "BUNDLE_CONSOLE_GUI_SETTINGS": str(settings),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gui", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def poll(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Blocking poll: these tests are synchronous, no event loop is involved."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def finish(app: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    app.send_signal(sig)
    try:
        out, _ = app.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()
        out, _ = app.communicate()
        raise AssertionError(f"the app did not quit on signal {sig}:\n{out}") from None
    return app.returncode, out


def test_sigterm_while_bundles_start_exits_0_and_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = launch_app(data, tmp_path / "gui.ini")
    try:
        poll(lambda: bundle_pids(data), LAUNCH_WAIT, "a bundle process to appear")
    finally:
        rc, out = finish(app, signal.SIGTERM)  # the demo bundles are still handshaking
    assert rc == 0, out
    assert "Fatal Python error" not in out and "Traceback" not in out, out
    assert bundle_pids(data) == []


def test_quit_keeps_layout_and_next_launch_restores_bundles(tmp_path: Path) -> None:
    data, settings = tmp_path / "data", tmp_path / "gui.ini"
    app = launch_app(data, settings)
    try:
        first = poll(lambda: len(bundle_pids(data)) == 2 and bundle_pids(data), LAUNCH_WAIT, TWO)
        time.sleep(1.0)
    finally:
        rc, out = finish(app, signal.SIGINT)
    assert rc == 0, out
    assert bundle_pids(data) == []
    ini = configparser.ConfigParser()
    ini.read(settings)
    assert ini.has_option("window", "geometry")
    assert ini.has_option("splitters", "main")
    (group,) = [s for s in ini.sections() if s.startswith("data-")]
    assert ini.get(group, "selected_workspace") == "ws_demo"

    # Next launch: no seeding, and the bundles that were running come back.
    app = launch_app(data, settings)
    try:
        again = poll(lambda: len(bundle_pids(data)) == 2 and bundle_pids(data), LAUNCH_WAIT, TWO)
    finally:
        rc, out = finish(app, signal.SIGTERM)
    assert rc == 0, out
    assert set(again).isdisjoint(first)
    assert bundle_pids(data) == []
    assert len(list((data / "workspaces").iterdir())) == 1  # the demo was not seeded twice
