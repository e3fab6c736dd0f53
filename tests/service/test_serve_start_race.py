"""A CLI command run while ``serve`` starts: it waits for the console, never opens around it.

``serve`` takes the data-dir lock, then loads the dir, reaps, and only then
listens; a command arriving in between used to go offline and be refused by
the lock ("Close it first"). Real ``serve`` and CLI processes throughout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.service.client import find_console, lock_holder
from core.service.protocol import ServiceError
from tests.service.support import ENV, REPO, Serve, cli

CLOSE_IT = "Close it first"


def _data_dir(tmp_path: Path) -> Path:
    """A data dir with a workspace of its own: ``serve`` seeds nothing, starts nothing."""
    data_dir = tmp_path / "data"
    made = cli(data_dir, "workspace", "create", "Team")
    assert made.returncode == 0, made.stderr
    return data_dir


def test_cli_run_at_once_after_serve_starts_always_answers(tmp_path: Path) -> None:
    data_dir = _data_dir(tmp_path)
    for _ in range(3):
        serve = Serve(data_dir, "--no-restore")
        try:
            status = cli(data_dir, "status", "--json")
            assert status.returncode == 0, status.stderr
            assert CLOSE_IT not in status.stderr
            assert json.loads(status.stdout)["workspaces"][0]["name"] == "Team"
            # Nor did the command make serve fail: it still comes up and answers.
            _wait_for_lock(serve)
            remote = find_console(data_dir, timeout=60)
            assert remote is not None and remote.call("hello")["pid"] == serve.proc.pid
        finally:
            serve.kill()  # nothing runs in Team; the next serve finds a stale lock pid


def _wait_for_lock(serve: Serve) -> None:
    """Until ``serve`` holds the data-dir lock (read from the lock file, never probed)."""
    while lock_holder(serve.data_dir) != serve.proc.pid:
        assert serve.proc.poll() is None, f"serve exited: {serve.stderr()}"
        time.sleep(0.002)


def _stopped_between_lock_and_listen(data_dir: Path) -> Serve:
    """A real ``serve`` frozen (SIGSTOP) after it took the lock, before it listens."""
    sock = data_dir / "service" / "control.sock"
    for _ in range(3):
        serve = Serve(data_dir, "--no-restore")
        _wait_for_lock(serve)
        os.kill(serve.proc.pid, signal.SIGSTOP)
        if serve.proc.poll() is None and not sock.exists():
            return serve
        os.kill(serve.proc.pid, signal.SIGCONT)  # it got past the window: try again
        serve.terminate()
    pytest.fail("never caught serve between its lock and its socket")


def test_cli_waits_for_a_serve_that_holds_the_lock_but_does_not_listen_yet(
    tmp_path: Path,
) -> None:
    data_dir = _data_dir(tmp_path)
    serve = _stopped_between_lock_and_listen(data_dir)
    try:
        # Never answering: the error names the dir and the pid, and says why.
        with pytest.raises(ServiceError) as caught:
            find_console(data_dir, timeout=0.3)
        message = str(caught.value)
        assert str(data_dir) in message and f"pid {serve.proc.pid}" in message
        assert "starting" in message and CLOSE_IT not in message

        status = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "status", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            cwd=REPO,
        )
        assert status.stderr is not None
        # Wait until the command says it is waiting (or it gave up: the old bug).
        first = status.stderr.readline()
        assert f"(a console (pid {serve.proc.pid}) is starting on {data_dir}" in first, (
            first + status.stderr.read()
        )
        os.kill(serve.proc.pid, signal.SIGCONT)
        out, err = status.communicate(timeout=60)
        assert status.returncode == 0, err
        assert f"Console: serve (pid {serve.proc.pid})" in out
    finally:
        os.kill(serve.proc.pid, signal.SIGCONT)
        assert serve.terminate() == 0, serve.stderr()
