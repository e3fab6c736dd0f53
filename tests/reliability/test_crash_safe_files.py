"""Crash-safe files: SIGKILL a writer at random moments; every file stays whole.

A "zygote" child imports the real core code once, then forks one writer per round.
Each writer rewrites a bundle's credentials (``CredentialStore.update``, the path
``Host.set_user_config`` takes) and its ``workspace.json`` (``WorkspaceStore.save``)
in a tight loop, version after version, until the test SIGKILLs it at a random
moment. After every kill both files must parse and equal exactly one of the
versions written, never an older one than seen before. The default run does 200
kills (``BUNDLE_CONSOLE_SOAK=1``: 1000); then a Host opens the data dir without
complaint and with no write debris left behind.

Also: a corrupt ``workspace.json`` or credentials file at startup is reported by
name, kept byte for byte, and every other workspace and bundle keeps working.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from core.errors import DataError
from core.host import Host
from core.states import BundleState
from core.workspaces import FORMAT, Workspace
from tests.procs import marked_processes, proc_env
from tests.reliability.support import SOAK, files_under, opened, write_bundle, ws_name

S = BundleState
ROOT = Path(__file__).resolve().parents[2]
KILLS = 1000 if SOAK else 200
WS = "ws_crash"
SERVER = "svc"

# Version n of each file, as the writer writes it. The sizes vary with n so that a
# torn or mixed file cannot pass for a whole one.
VERSIONS = textwrap.dedent(
    """
    def creds(n):
        return {"token": f"token-{n:06d}", "pad": "p" * ((n * 7919) % 5000), "n": n}

    def workspace(n):
        return {
            "id": "ws_crash",
            "name": f"Crash {n:06d}",
            "bundles": [{
                "server_name": "svc",
                "bundle_dir": "bundles/svc-1.0.0",
                "version": "1.0.0",
                "protected": False,
                "desired_running": n % 2 == 0,
                "warnings": ["w" * ((n * 104729) % 3000)],
                "source": "",
                "installed_at": float(n),
            }],
        }
    """
)

ZYGOTE = textwrap.dedent(
    """
    import asyncio, os, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from core.credentials import CredentialStore
    from core.paths import DataPaths
    from core.workspaces import Workspace, WorkspaceStore

    paths = DataPaths(Path({data!r}))

    async def write_forever(n):
        creds_store, ws_store = CredentialStore(paths), WorkspaceStore(paths)
        while True:
            ws_store.save(Workspace.model_validate(workspace(n)))
            await creds_store.update("ws_crash", "svc", creds(n))
            n += 1

    for line in sys.stdin:
        start = int(line)
        pid = os.fork()
        if pid == 0:
            asyncio.run(write_forever(start))
            os._exit(0)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)
    """
)

_scope: dict[str, Any] = {}
exec(VERSIONS, _scope)
creds_version, workspace_version = _scope["creds"], _scope["workspace"]


def read_versions(data: Path) -> tuple[int, int]:
    """Which version each file holds; fails unless it is exactly that version."""
    creds = json.loads((data / f"workspaces/{WS}/credentials/{SERVER}.json").read_text())
    n = creds["n"]
    assert creds == creds_version(n), f"credentials file is not version {n}"
    ws = json.loads((data / f"workspaces/{WS}/workspace.json").read_text())
    m = int(ws["name"].split()[1])
    # Through the model, so fields added later with defaults are expected too.
    expected = {
        "format": FORMAT,
        **Workspace.model_validate(workspace_version(m)).model_dump(mode="json"),
    }
    assert ws == expected, f"workspace.json is not version {m}"
    return n, m


async def test_sigkilled_writer_never_leaves_a_torn_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # version 0 of both files, written by the same code
    script = VERSIONS + ZYGOTE.format(root=str(ROOT), data=str(data))
    prime = subprocess.run(
        [sys.executable, "-c", script.replace("while True:", "for _ in range(1):")],
        input="0\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert prime.returncode == 0, prime.stderr
    assert read_versions(data) == (0, 0)
    write_bundle(
        data / "bundles/svc-1.0.0", user_config={"token": {"type": "string", "title": "T"}}
    )
    rng = random.Random(4242)
    zygote = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    started = time.monotonic()
    last = read_versions(data)
    progressed = 0
    try:
        for _ in range(KILLS):
            zygote.stdin.write(f"{max(last) + 1}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            # Let the writer get going (on a loaded machine a fixed sleep may end before its
            # first write), then kill it at a random moment of its write loop.
            deadline = time.monotonic() + 2.0
            while read_versions(data) == last and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.02))
            os.kill(pid, signal.SIGKILL)
            status = int(zygote.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            now = read_versions(data)
            assert now[0] >= last[0] and now[1] >= last[1], f"went back from {last} to {now}"
            progressed += now != last
            last = now
    finally:
        zygote.kill()
        zygote.wait()
    elapsed = time.monotonic() - started
    # most kills land after some writes: the loop really ran between kills
    assert progressed > KILLS // 2
    debris = [p for p in files_under(data) if p.name.endswith(".tmp")]
    print(
        f"\n{KILLS} SIGKILLs in {elapsed:.1f} s; last versions {last}; "
        f"{len(debris)} interrupted writes left temp files"
    )
    # A Host reads both files as the last version, and cleans the write debris up.
    host = await Host.open(data, restore=False)
    try:
        assert host.load_errors == []
        [ws] = host.workspaces()
        assert ws.name == f"Crash {last[1]:06d}"
        assert host.config_values(WS, SERVER) == {"token": f"token-{last[0]:06d}"}
    finally:
        await host.shutdown()
    assert [p for p in files_under(data) if p.name.endswith(".tmp")] == []


# -- corrupt files at startup ---------------------------------------------------------

FIELDS = {"token": {"type": "string", "title": "Token", "sensitive": True}}
ENV = {"TOKEN": "${user_config.token}"}
CORRUPTIONS = {
    "truncated": b'{"id": "ws_x", "na',
    "empty": b"",
    "binary": b"\x00\xff\xfe garbage \x80",
    "wrong shape": b"[1, 2, 3]\n",
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
async def test_corrupt_files_at_startup_are_named_kept_and_contained(
    tmp_path: Path, tag: str, corruption: str
) -> None:
    data = tmp_path / "data"
    src = write_bundle(tmp_path / "src", user_config=FIELDS, env=ENV)
    async with opened(data, tag) as host:
        ids = [host.create_workspace(ws_name(tag, s)).id for s in ("good", "lost", "mixed")]
        for ws in ids:
            for server in ("one", "two"):
                await host.install_bundle(ws, src, server_name=server)
                await host.set_user_config(ws, server, {"token": f"tok-{ws}-{server}"})
                assert (await host.lifecycle.start_bundle(server, ws)).ok
    good, lost, mixed = ids
    bad_ws = data / f"workspaces/{lost}/workspace.json"
    bad_creds = data / f"workspaces/{mixed}/credentials/one.json"
    bad_ws.write_bytes(CORRUPTIONS[corruption])
    bad_creds.write_bytes(CORRUPTIONS[corruption])
    lost_creds = (data / f"workspaces/{lost}/credentials/one.json").read_bytes()

    async with opened(data, tag) as host:  # restores what ran before
        errors = host.load_errors
        assert len(errors) == 2, errors
        assert any(e.startswith(f"{bad_ws}: ") for e in errors), errors
        assert any(e.startswith(f"{bad_creds}: ") for e in errors), errors
        # the unreadable workspace is skipped; its id stays taken
        assert {w.id for w in host.workspaces()} == {good, mixed}
        assert host.create_workspace(ws_name(tag, "lost")).id != lost
        # everything readable was restored and runs with its own credentials
        live = marked_processes(tag)
        assert set(live) == {f"{good}/one", f"{good}/two", f"{mixed}/two"}, live
        [pid] = live[f"{mixed}/two"]
        assert proc_env(pid)["TOKEN"] == f"tok-{mixed}-two"
        # the bundle with the corrupt credentials is dead, and says which file
        broken = host.lifecycle.get_instance("one", mixed)
        assert broken is not None and broken.state is S.DEAD
        assert str(bad_creds) in (broken.last_error or "")
        # writing to it is refused by name; nothing overwrites the file
        with pytest.raises(DataError, match=str(bad_creds)):
            await host.set_user_config(mixed, "one", {"token": "new"})
        result = await host.lifecycle.respawn_bundle("one", mixed)
        assert result.outcome == "failed" and str(bad_creds) in (result.error or "")
        # the rest keeps working: a save + respawn in the same workspace
        saved = await host.set_user_config(mixed, "two", {"token": "tok-fresh"})
        assert saved.outcome == "respawned"
        [pid] = marked_processes(tag)[f"{mixed}/two"]
        assert proc_env(pid)["TOKEN"] == "tok-fresh"
    assert bad_ws.read_bytes() == CORRUPTIONS[corruption]
    assert bad_creds.read_bytes() == CORRUPTIONS[corruption]
    assert (data / f"workspaces/{lost}/credentials/one.json").read_bytes() == lost_creds


async def test_a_corrupt_file_appearing_while_running_is_named_at_the_next_spawn(
    tmp_path: Path, tag: str
) -> None:
    """Credentials are read at every spawn: a file corrupted under a running console."""
    src = write_bundle(tmp_path / "src", user_config=FIELDS, env=ENV)
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, src, server_name="svc")
        await host.set_user_config(ws, "svc", {"token": "tok-1"})
        assert (await host.lifecycle.start_bundle("svc", ws)).ok
        path = host.data_dir / f"workspaces/{ws}/credentials/svc.json"
        path.write_text('{"token": ')
        result = await host.lifecycle.respawn_bundle("svc", ws)
        assert result.outcome == "failed" and str(path) in (result.error or "")
        assert "is not valid JSON" in (result.error or "")
        assert marked_processes(tag) == {}
        await asyncio.sleep(0)
        assert path.read_text() == '{"token": '
