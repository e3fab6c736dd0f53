"""The app on a real X display (Xvfb, Qt's xcb plugin), not offscreen.

Proves what a fresh desktop needs: the xcb plugin loads (its Debian libraries
are installed by ``make install``), the main window maps, and SIGTERM quits
with exit 0 and no bundle left. Xvfb and xwininfo come from ``make test-deps``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gui.conftest import bundle_pids
from tests.gui.test_app_process import ROOT, finish, poll


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb on a free display number (Xvfb picks it and writes it to -displayfd)."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is missing: run `make test-deps` (Debian package xvfb)"
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        assert number.isdigit(), (
            f"Xvfb did not start: {server.stderr.read() if server.stderr else ''}"
        )
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def window_state(display: str, name: str) -> str | None:
    """The map state xwininfo reports for the top-level window called ``name``, if any."""
    probe = subprocess.run(
        ["xwininfo", "-display", display, "-name", name],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in probe.stdout.splitlines():
        if "Map State:" in line:
            return line.split(":", 1)[1].strip()
    return None


def test_window_maps_on_a_real_display_and_sigterm_quits_clean(
    display: str, tmp_path: Path
) -> None:
    assert shutil.which("xwininfo"), "xwininfo is missing: run `make test-deps` (x11-utils)"
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"},
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": display,
        "BUNDLE_CONSOLE_GUI_SETTINGS": str(tmp_path / "gui.ini"),
        "PYTHONPATH": str(ROOT),
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "gui", "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    mapped = False
    try:
        poll(
            lambda: (
                app.poll() is not None or window_state(display, "Bundle Console") == "IsViewable"
            ),
            60,
            "the main window to map on the X display",
        )
        mapped = app.poll() is None
        if mapped:
            poll(lambda: len(bundle_pids(data)) == 2, 60, "the demo bundles to start")
    finally:
        rc, out = finish(app, signal.SIGTERM)
    assert mapped, f"the app exited ({rc}) before its window mapped; its output:\n{out}"
    assert rc == 0, out
    assert "could not load the Qt platform plugin" not in out.lower(), out
    assert "Traceback" not in out, out
    assert bundle_pids(data) == []
