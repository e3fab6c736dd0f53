"""A real ``serve`` driven by real CLI subprocesses: seed, status, rotation, shutdown."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from tests.procs import proc_env
from tests.service.support import Serve, cli, cli_json, cli_many, deep_data_dir

SECRET_1 = "tok-first-3b9f0c1d"
SECRET_2 = "tok-second-77aa41e0"
INLINE = "tok-inline-never-written"


def _vault(data_dir: Path) -> dict:
    [ws] = cli_json(data_dir, "status")["workspaces"]
    return {b["server_name"]: b for b in ws["bundles"]}["demo-vault"]


def test_serve_seeds_rotates_and_exits_clean(tmp_path: Path) -> None:
    data_dir = deep_data_dir(tmp_path)
    serve = Serve(data_dir)
    outputs: list[str] = []
    try:
        status = serve.wait_listening()
        sock = data_dir / "service" / "control.sock"
        assert os.stat(sock).st_mode & 0o777 == 0o600
        assert os.stat(sock.parent).st_mode & 0o777 == 0o700
        [ws] = status["workspaces"]
        assert ws["name"] == "Demo"
        assert {b["server_name"] for b in ws["bundles"]} == {
            "demo-clock",
            "demo-notes",
            "demo-vault",
        }
        assert (
            "api_token" in (_vault(data_dir)["needs_setup"] or "")
            or _vault(data_dir)["needs_setup"]
        )
        serve.wait_state("Demo", "demo-clock", "running")

        # An inline secret: refused with 2, nothing written, value not echoed.
        refused = cli(data_dir, "config", "set", "Demo", "demo-vault", f"api_token={INLINE}")
        outputs += [refused.stdout, refused.stderr]
        assert refused.returncode == 2
        assert "api_token=-" in refused.stderr
        show = cli_json(data_dir, "config", "show", "demo", "Demo Vault")
        assert {f["key"]: f["set"] for f in show["fields"]}["api_token"] is False

        saved = cli(
            data_dir, "config", "set", "Demo", "demo-vault", "api_token=-", stdin=SECRET_1 + "\n"
        )
        outputs += [saved.stdout, saved.stderr]
        assert saved.returncode == 0, saved.stderr
        assert "not running" in saved.stdout
        started = cli(data_dir, "start", "Demo", "demo-vault")
        assert started.returncode == 0, started.stderr
        first = _vault(data_dir)
        assert first["state"] == "running"
        assert proc_env(first["pid"])["VAULT_API_TOKEN"] == SECRET_1

        # The rotation: a new process whose environment holds the new value.
        rotated = cli(
            data_dir, "config", "set", "ws_demo", "demo-vault", "api_token=-", stdin=SECRET_2 + "\n"
        )
        outputs += [rotated.stdout, rotated.stderr]
        assert rotated.returncode == 0, rotated.stderr
        assert "restarted" in rotated.stdout
        second = _vault(data_dir)
        assert second["state"] == "running" and second["pid"] != first["pid"]
        assert proc_env(second["pid"])["VAULT_API_TOKEN"] == SECRET_2
        assert (
            not psutil.pid_exists(first["pid"]) or psutil.Process(first["pid"]).status() == "zombie"
        )
        show = cli_json(data_dir, "config", "show", "Demo", "demo-vault")
        assert {f["key"]: f["set"] for f in show["fields"]}["api_token"] is True

        # Unknown names and usage errors: 2, naming what was given; a bad value gets
        # the Configure form's validation, nothing written. Five clients at once.
        refusals = {
            ("restart", "Nowhere", "demo-vault"): "Nowhere",
            ("restart", "Demo", "no-such-bundle"): "no-such-bundle",
            ("config", "set", "Demo", "demo-vault", "bogus_key=1"): "bogus_key",
            ("config", "set", "Demo", "demo-vault", "max_items=lots"): "Maximum items",
            ("frobnicate",): "",
        }
        for args, bad in zip(refusals, cli_many(data_dir, refusals), strict=True):
            assert bad.returncode == 2, (args, bad.stderr)
            assert refusals[args] in bad.stderr

        restarted = cli(data_dir, "restart", "Demo", "demo-vault")
        assert restarted.returncode == 0, restarted.stderr
        third = _vault(data_dir)
        assert proc_env(third["pid"])["VAULT_API_TOKEN"] == SECRET_2

        reads = [
            ("status",),
            ("status", "--json"),
            ("config", "show", "Demo", "demo-vault", "--json"),
            ("logs", "Demo", "demo-vault", "-n", "200"),
            ("events", "--json"),
            ("workspace", "list"),
        ]
        for args, proc in zip(reads, cli_many(data_dir, reads), strict=True):
            assert proc.returncode == 0, (args, proc.stderr)
            outputs += [proc.stdout, proc.stderr]
        children = [p.pid for p in psutil.Process(serve.proc.pid).children(recursive=True)]
        assert third["pid"] in children
    finally:
        rc = serve.terminate()
    assert rc == 0, serve.stderr()
    assert not sock.exists()
    # A sandboxed bundle's pid namespace is torn down just after its bwrap exits.
    deadline = time.monotonic() + 10
    while [p for p in children if psutil.pid_exists(p)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in children if psutil.pid_exists(pid)] == []
    outputs.append(serve.stderr())
    for text in outputs:
        for secret in (SECRET_1, SECRET_2, INLINE):
            assert secret not in text
    # the bundle's own log is raw stderr; the inline value must be nowhere on disk
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert INLINE.encode() not in path.read_bytes(), path


def test_serve_exits_zero_on_sigint(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "data", "--no-restore")
    try:
        serve.wait_listening()
        serve.proc.send_signal(signal.SIGINT)
        assert serve.proc.wait(60) == 0
    finally:
        serve.kill()
