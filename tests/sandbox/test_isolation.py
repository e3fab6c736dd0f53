"""Bundles confined by core.sandbox, run by a console that is an unprivileged user.

Root reads any /proc/<pid>/environ whatever the sandbox, so the console runs as
a user created here (tests/sandbox/driver.py drops to it after its imports).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sandbox import availability
from tests.users import reachable, system_user

ROOT = Path(__file__).resolve().parents[2]
USER = "bcsandbox"

pytestmark = [
    pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs /usr/bin/python3"),
    pytest.mark.skipif(availability()[0] is None, reason=f"no sandbox: {availability()[1]}"),
]


@pytest.fixture(scope="module")
def uid() -> Iterator[int]:
    if os.getuid() != 0:
        yield os.getuid()  # already unprivileged
        return
    with reachable(ROOT):  # the console, run as the user, reads its own files
        yield system_user(USER).pw_uid


@pytest.fixture
def work(uid: int) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bcsbx-"))  # short: unix socket paths
    os.chown(path, uid, -1)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run(scenario: str, work: Path, uid: int, **args: object) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.sandbox.driver",
            scenario,
            str(work),
            str(uid),
            json.dumps(args),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_hostile_bundle_reaches_nothing_of_another_workspace(work: Path, uid: int) -> None:
    report = run("hostile", work, uid)
    confined = report["isolated"]
    for route in ("credentials", "log", "run_records", "settings", "environ", "cmdline"):
        assert confined[route].startswith("FAILED"), (route, confined)
    assert confined["write_bundle"].startswith("FAILED") and report["evil_True"] is False
    assert confined["signal"].startswith("FAILED") and confined["ptrace"] == "FAILED"
    assert confined["socket"].startswith("FAILED")
    assert confined["secret_in_any_environ"] == []
    assert report["summary_True"] == "isolated (bubblewrap), network allowed"
    # A kept running with its credentials through it all
    assert report["alpha_pid_True"] and report["alpha_env_True"] == "alpha-secret-7f3e9c"
    # the same probe with isolation turned off gets in: the routes are real
    loose = report["unconfined"]
    assert "alpha-secret-7f3e9c" in loose["credentials"] and loose["secret_in_any_environ"]
    assert report["evil_False"] is True and loose["socket"] == "'connected'"
    assert report["summary_False"].startswith("not isolated: turned off")


@pytest.fixture
def tcp_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_network_blocked_cannot_connect_allowed_can(work: Path, uid: int, tcp_port: int) -> None:
    report = run("network", work, uid, port=tcp_port)
    assert report["allowed"] == "connected"
    assert report["blocked"] != "connected" and "Error" in report["blocked"], report
    assert report["summary_blocked"] == "isolated (bubblewrap), network blocked"


def test_setsid_helpers_with_scrubbed_env_are_gone_after_stop(work: Path, uid: int) -> None:
    seconds = f"777.{uuid.uuid4().int % 10**6}"
    report = run("descendants", work, uid, count=20, seconds=seconds)
    assert report["spawned"] == "spawned" and report["running_before"] == 20
    assert report["left_after"] == 0


def test_a_sandbox_bwrap_cannot_build_starts_not_isolated_with_bwraps_reason(
    work: Path, uid: int
) -> None:
    report = run("fallback", work, uid)
    gone = work / "engine" / "bundles" / "gone"
    reason = f"Can't find source path {gone}: No such file or directory"
    assert report["ok_broken"] and report["env_broken"] == "broken-value"
    assert (
        report["summary_broken"]
        == f"not isolated: bubblewrap could not set up its sandbox ({reason})"
    )
    assert report["summary_broken"] in report["log_broken"]
    # the failure was that bundle's own: the next one is confined as usual
    assert report["ok_fine"] and report["env_fine"] == "fine-value"
    assert report["summary_fine"] == "isolated (bubblewrap), network allowed"
