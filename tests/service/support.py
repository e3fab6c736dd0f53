"""Real ``serve`` and CLI subprocesses for the service tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def deep_data_dir(tmp_path: Path) -> Path:
    """A data dir whose control socket path is longer than sun_path's 107 bytes."""
    d = tmp_path / ("d" * 60) / ("e" * 40)
    assert len(str(d / "service" / "control.sock")) > 107
    return d


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        env=ENV,
        cwd=REPO,
    )


def cli_many(
    data_dir: Path, commands: Iterable[Sequence[str]]
) -> list[subprocess.CompletedProcess[str]]:
    """Independent CLI commands run at once (each its own client), results in order."""
    commands = list(commands)
    with ThreadPoolExecutor(max_workers=len(commands) or 1) as pool:
        return list(pool.map(lambda args: cli(data_dir, *args), commands))


def cli_json(data_dir: Path, *args: str) -> Any:
    proc = cli(data_dir, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


class Serve:
    """``python -m core.cli serve`` as G's relay starts it."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.stderr_path = data_dir.parent / f"serve-{time.monotonic_ns()}.log"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._err = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--data-dir", str(data_dir), *extra],
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            env=ENV,
            cwd=REPO,
        )

    def wait_listening(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        sock = self.data_dir / "service" / "control.sock"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited early: {self.stderr()}"
            if not sock.exists():  # an offline CLI now would take the lock serve needs
                time.sleep(0.1)
                continue
            proc = cli(self.data_dir, "status", "--json")
            if proc.returncode == 0:
                status = json.loads(proc.stdout)
                if status["console"] == "serve":
                    return status
            time.sleep(0.2)
        raise AssertionError(f"serve never listened: {self.stderr()}")

    def wait_state(self, ws: str, bundle: str, state: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for w in cli_json(self.data_dir, "status")["workspaces"]:
                for b in w["bundles"]:
                    if w["name"] == ws and b["server_name"] == bundle and b["state"] == state:
                        return b
            time.sleep(0.2)
        raise AssertionError(f"{bundle} never reached {state}")

    def terminate(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._err.close()

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.stderr_path.read_text(errors="replace")
