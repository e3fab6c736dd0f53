"""No console running: edits on the data dir under its lock. Another user: refused.
And the CLI path loads neither Qt nor the mcp SDK (measured in a real process)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.demo import demo_bundle_dirs
from tests.service.support import ENV, REPO, Serve, cli, cli_json
from tests.users import system_user

SECRET = "tok-offline-5c1e9a"


def test_offline_edits_work_and_live_commands_say_how_to_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = cli(data_dir, "workspace", "create", "Team")
    assert created.returncode == 0, created.stderr
    assert cli(data_dir, "workspace", "rename", "team", "Ops").returncode == 0
    [vault] = [d for d in demo_bundle_dirs() if d.name == "demo-vault"]
    installed = cli(data_dir, "install", "OPS", str(vault))
    assert installed.returncode == 0, installed.stderr
    saved = cli(data_dir, "config", "set", "Ops", "Demo Vault", "api_token=-", stdin=SECRET + "\n")
    assert saved.returncode == 0, saved.stderr
    assert "not running" in saved.stdout
    show = cli_json(data_dir, "config", "show", "Ops", "demo-vault")
    assert {f["key"]: f["set"] for f in show["fields"]}["api_token"] is True
    status = cli_json(data_dir, "status")
    assert status["console"] == "offline"
    [ws] = status["workspaces"]
    assert ws["name"] == "Ops" and [b["state"] for b in ws["bundles"]] == ["stopped"]
    outputs = [saved.stdout, saved.stderr, json.dumps(show), json.dumps(status)]
    # The change is history, read back by another process: which key, who, through
    # what, never the value (core.history); the text form says the same.
    history = cli_json(data_dir, "events")
    [change] = [ev for ev in history if ev["kind"] == "config"]
    assert (change["bundle"], change["keys"], change["via"]) == ("demo-vault", ["api_token"], "cli")
    assert change["user"] == pwd.getpwuid(os.getuid()).pw_name
    text = cli(data_dir, "events")
    assert text.returncode == 0 and "config api_token (by " in text.stdout
    outputs += [json.dumps(history), text.stdout]
    for args in (
        ("start", "Ops", "demo-vault"),
        ("restart", "Ops", "demo-vault"),
        ("logs", "Ops", "demo-vault", "-f"),
        ("events", "-f"),
    ):
        proc = cli(data_dir, *args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "No console is running" in proc.stderr and "bundle-console serve" in proc.stderr
        outputs += [proc.stdout, proc.stderr]
    cleared = cli(data_dir, "config", "clear", "Ops", "demo-vault", "api_token")
    assert cleared.returncode == 0, cleared.stderr
    assert cli(data_dir, "uninstall", "Ops", "demo-vault").returncode == 0
    assert cli(data_dir, "workspace", "delete", "Ops").returncode == 2  # needs --yes
    assert cli(data_dir, "workspace", "delete", "Ops", "--yes").returncode == 0
    assert cli_json(data_dir, "workspace", "list") == []
    assert all(SECRET not in text for text in outputs)


def test_ambiguous_workspace_name_lists_the_ids(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert cli(data_dir, "workspace", "create", "Alpha").returncode == 0
    # Two workspaces whose names differ only in case (as an older data dir may hold).
    src = data_dir / "workspaces" / "ws_alpha"
    twin = data_dir / "workspaces" / "ws_alpha_2"
    shutil.copytree(src, twin)
    wsfile = twin / "workspace.json"
    wsfile.write_text(
        wsfile.read_text().replace('"ws_alpha"', '"ws_alpha_2"').replace('"Alpha"', '"ALPHA"')
    )
    proc = cli(data_dir, "status", "alpha")
    if proc.returncode == 0:  # names made unique at load: nothing ambiguous left to report
        pytest.skip("workspace names are unique in this data dir")
    assert proc.returncode == 2
    assert "ambiguous" in proc.stderr and "ws_alpha" in proc.stderr and "ws_alpha_2" in proc.stderr
    assert cli(data_dir, "status", "ws_alpha_2").returncode == 0


def test_cli_path_imports_neither_qt_nor_mcp(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from core.cli.main import main\n"
        "rc = main(sys.argv[1:])\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(top & {'PySide6', 'qasync', 'mcp', 'gui'})\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
        "engine = sorted(set(sys.modules) & {'pydantic', 'platformdirs', 'asyncio',"
        " 'core.models', 'core.states', 'core.sandbox'})\n"
        "print('ENGINE=' + ','.join(engine), file=sys.stdout)\n"
        "sys.exit(rc)\n"
    )
    data_dir = tmp_path / "data"

    def heavy(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            env=ENV,
            cwd=REPO,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr
        engine.append(proc.stdout.rsplit("ENGINE=", 1)[1].strip())
        return proc.stderr.rsplit("HEAVY=", 1)[1].strip()

    engine: list[str] = []

    assert heavy("status") == ""  # offline: the data dir opened directly
    serve = Serve(data_dir, "--no-restore")
    try:
        serve.wait_listening()
        assert heavy("status") == ""
        # with a console running, a request is all it does: none of the engine's
        # models, no pydantic, no asyncio (core/__init__ imports lazily)
        assert engine[-1] == ""
        assert heavy("workspace", "list") == ""
    finally:
        assert serve.terminate() == 0


def _unprivileged_user() -> pwd.struct_passwd:
    return system_user("bcsvc_other")


def _connect_as(uid: int, gid: int, address: str) -> str:
    """Fork, drop to uid, connect, say hello; report what happened."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no pytest, no threads of its own
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            try:
                s.connect(address)
            except PermissionError:
                os.write(w, b"permission denied")
                os._exit(0)
            s.sendall(b'{"v":1,"op":"status","args":{}}\n')
            try:
                data = s.recv(65536)
            except ConnectionResetError:  # closed with our request unread
                data = b""
            os.write(w, b"answer:" + data if data else b"closed without answer")
        except BaseException as exc:
            os.write(w, f"error: {exc!r}".encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as reader:
        out = reader.read().decode()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a second user")
def test_socket_refuses_another_user(tmp_path: Path) -> None:
    other = _unprivileged_user()
    # pytest's tmp root is 0700: the other user needs a way to the folder itself
    base = Path(tempfile.mkdtemp(prefix="bcsvc-", dir="/tmp"))
    data_dir = base / "data"
    serve = Serve(data_dir, "--no-restore")
    try:
        serve.wait_listening()
        sock = data_dir / "service" / "control.sock"
        os.chmod(base, 0o755)
        # The folder (0700) and socket (0600) keep the other user out...
        assert _connect_as(other.pw_uid, other.pw_gid, str(sock)) == "permission denied"
        # ...and with both opened up by hand, SO_PEERCRED still turns it away.
        os.chmod(data_dir, 0o755)
        os.chmod(sock.parent, 0o755)
        os.chmod(sock, 0o666)
        assert _connect_as(other.pw_uid, other.pw_gid, str(sock)) == "closed without answer"
        assert "refused a connection from another user" in serve.stderr()
        # the owner is still served
        assert cli_json(data_dir, "status")["console"] == "serve"
    finally:
        assert serve.terminate() == 0
        shutil.rmtree(base, ignore_errors=True)
