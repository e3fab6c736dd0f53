"""A GUI taking over from the ``serve`` that ``connect`` started: the client's calls
keep succeeding, the relay reconnects by itself and says ``tools/list_changed``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.gateway.support import ROOT, client, short_dir, text
from tests.gateway.test_autostart import _serve_pids


def _console_kind(data_dir: str) -> str | None:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "status", "--json", "--data-dir", data_dir],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode != 0:
        return None
    import json

    return json.loads(out.stdout).get("console")


@pytest.mark.timeout(300)
async def test_gui_takeover_with_a_client_connected_fails_no_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir = short_dir() / "data"
    gui: subprocess.Popen[bytes] | None = None
    notes: list[str] = []
    try:
        async with client(data_dir, notes=notes) as session:
            for _ in range(400):  # the auto-started console seeds Demo and starts it
                names = {t.name for t in (await session.list_tools()).tools}
                if "demo-clock__echo" in names:
                    break
                await asyncio.sleep(0.05)
            [serve_pid] = _serve_pids(str(data_dir))
            gui = subprocess.Popen(
                [sys.executable, "-m", "core.cli", "--data-dir", str(data_dir)],
                cwd=ROOT,
                env={
                    **os.environ,
                    "QT_QPA_PLATFORM": "offscreen",
                    "BUNDLE_CONSOLE_GUI_SETTINGS": str(tmp_path / "gui.ini"),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            calls = 0

            def serve_alive() -> bool:
                try:
                    return psutil.Process(serve_pid).status() != psutil.STATUS_ZOMBIE
                except psutil.NoSuchProcess:
                    return False

            while serve_alive() or calls < 3:
                result = await session.call_tool("demo-clock__echo", {"text": f"c{calls}"})
                assert not result.is_error, text(result)  # every call succeeds
                assert f"c{calls}" in text(result)
                if not serve_alive():
                    calls += 1
            assert await asyncio.to_thread(_console_kind, str(data_dir)) == "gui"
            assert "notifications/tools/list_changed" in notes
    finally:
        if gui is not None:
            gui.send_signal(signal.SIGTERM)
            gui.wait(60)
        for pid in _serve_pids(str(data_dir)):
            os.kill(pid, signal.SIGTERM)
