"""``connect`` with no console running starts ``serve`` for the data dir, then relays."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import psutil

from tests.gateway.support import ROOT, client, short_dir, text


def _serve_pids(data_dir: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "serve" in cmd and data_dir in cmd:
            found.append(proc.pid)
    return found


async def test_connect_starts_a_console_when_none_runs() -> None:
    data_dir = short_dir() / "data"
    try:
        notes: list[str] = []
        async with client(data_dir, notes=notes) as session:
            # The new console seeds Demo and starts its bundles: list_changed follows.
            for _ in range(400):
                names = {t.name for t in (await session.list_tools()).tools}
                if "demo-clock__echo" in names:
                    break
                await asyncio.sleep(0.05)
            assert "demo-clock__echo" in names
            echoed = await session.call_tool("demo-clock__echo", {"text": "auto"})
            assert text(echoed).strip() and not echoed.is_error
            vault = await session.call_tool("demo-vault__token_fingerprint", {})
            assert text(vault) == (
                'Demo Vault needs setup in workspace Demo: "API token" is missing.'
            )
        pids = _serve_pids(str(data_dir))
        assert len(pids) == 1  # detached: it outlives the relay
        assert os.getsid(pids[0]) == pids[0]  # in a session of its own
        assert (data_dir / "logs" / "serve.log").exists()
        calls = subprocess.run(
            [sys.executable, "-m", "core.cli", "calls", "--json", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        outcomes = [line for line in calls.stdout.splitlines() if '"echo"' in line]
        assert outcomes and '"outcome": "ok"' in outcomes[0] and '"client": "test"' in outcomes[0]
    finally:
        for pid in _serve_pids(str(data_dir)):
            os.kill(pid, signal.SIGTERM)
            psutil.Process(pid).wait(30)
