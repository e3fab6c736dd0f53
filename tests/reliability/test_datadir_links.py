"""The console never writes through a symlink it did not create in the data dir.

Before: a ``console.lock`` symlink truncated the file it pointed at, and a
bundle log symlink had bundle stderr appended to its target. Now both are
refused with an error naming the file, and the target is untouched.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from pathlib import Path

import psutil
import pytest

from core.errors import DataError
from core.gateway import files
from core.gateway.records import CallLog, CallRecord
from core.gateway.relay import Relay
from core.host import Host
from core.service.sockets import ensure_service_dir
from core.states import BundleState
from tests.reliability.support import opened, write_bundle, ws_name


async def test_a_console_lock_symlink_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    victim = tmp_path / "notes.txt"
    victim.write_text("precious\n")
    (data / "console.lock").symlink_to(victim)
    with pytest.raises(DataError) as info:
        await Host.open(data)
    assert str(data / "console.lock") in str(info.value) and "symbolic link" in str(info.value)
    assert victim.read_text() == "precious\n"


async def test_a_bundle_log_symlink_is_refused_naming_it(tmp_path: Path, tag: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        src = write_bundle(tmp_path / "src", ["--stderr-flood", "5000"])
        await host.install_bundle(ws, src, server_name="svc")
        log_path = host.lifecycle.log_path("svc", ws)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.symlink_to(victim)
        result = await host.lifecycle.start_bundle("svc", ws)
        assert not result.ok and str(log_path) in (result.error or "")
        assert "symbolic link" in (result.error or "")
        inst = host.lifecycle.get_instance("svc", ws)
        assert inst is not None and inst.state is BundleState.DEAD
        assert victim.read_text() == "precious\n"
        # once the link is gone, the bundle starts and logs to a real file
        log_path.unlink()
        assert (await host.lifecycle.start_bundle("svc", ws)).ok
        assert not log_path.is_symlink() and log_path.is_file()


async def test_a_credentials_folder_symlink_is_refused(tmp_path: Path, tag: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    fields = {"token": {"type": "string", "title": "Token", "sensitive": True}}
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, write_bundle(tmp_path / "src", user_config=fields), "svc")
        creds_dir = host.paths.credentials_dir(ws)
        if creds_dir.exists():
            creds_dir.rmdir()
        creds_dir.symlink_to(elsewhere)
        with pytest.raises(DataError) as info:
            await host.set_user_config(ws, "svc", {"token": "s3cret-value"})
        assert str(creds_dir) in str(info.value) and "symbolic link" in str(info.value)
        assert "s3cret-value" not in str(info.value)
        assert list(elsewhere.iterdir()) == []
        assert elsewhere.stat().st_mode & 0o777 == 0o755


# -- every other write under the data dir: one helper (core.atomic.refuse_links) ------


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every entry under ``root`` (not following links): its mode and, for files, bytes."""
    found = {".": (root.lstat().st_mode, b"")}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        found[str(path.relative_to(root))] = (mode, path.read_bytes() if path.is_file() else b"")
    return found


STALE_TEMP = ".workspace.json.abcd1234.tmp"  # what an interrupted atomic write leaves


def _record_call(host: Host, ws: str) -> None:
    """What the gateway appends to <data>/logs/calls.jsonl after each call."""
    record = CallRecord(time.time(), ws, "n", "client", "1", "svc", "noop", 1.0, "ok")
    CallLog(files.calls_path(host.data_dir)).add(record)


async def _start(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    """Start (and stop) the bundle: its log and its run record are written; a call record."""
    result = await host.lifecycle.start_bundle("svc", ws)
    await host.lifecycle.stop_bundle("svc", ws)
    _record_call(host, ws)
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # a run record is not needed to run: that write is refused and logged; the open
    # before this read no record through the link (nor deleted the "unreadable" bait)
    return "\n".join([result.error or "", *logged, *host.reaped])


async def _call_record(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    _record_call(host, ws)  # never fails the call: refused and logged
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


async def _serve(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    """What `serve` and the gateway do first: the 0700 service folder, then the token."""
    said = []
    for step in (
        lambda: ensure_service_dir(host.data_dir),
        lambda: files.write_token(host.data_dir),
    ):
        try:
            step()
        except DataError as exc:
            said.append(str(exc))
    return "\n".join(said) if len(said) == 2 else "written"


async def _open(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    """Only open: the start-up sweeps and scans, the workspace load."""
    if ws in {w.id for w in host.workspaces()}:  # loaded through the link: may be saved over
        return "loaded"
    return "\n".join(host.load_errors)


async def _save_credentials(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    try:
        await host.set_user_config(ws, "svc", {"token": "s3cret-value"})
    except DataError as exc:
        return f"{exc}\n" + "\n".join(host.load_errors)
    return "saved"


async def _install(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    try:
        await host.install_bundle(ws, host.data_dir.parent / "src2", server_name="other")
    except DataError as exc:
        return f"{exc}\n" + "\n".join(host.load_errors)
    return "installed"


def _serve_children(data_dir: Path) -> list[psutil.Process]:
    """The ``serve`` consoles this test process started for ``data_dir``."""
    found = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if "serve" in child.cmdline() and str(data_dir) in child.cmdline():
                found.append(child)
    return found


async def _relay_starts_serve(host: Host, ws: str, caplog: pytest.LogCaptureFixture) -> str:
    """What ``connect`` does when no console answers: start ``serve``, its output in
    logs/serve.log. That ``serve`` waits for this host's lock: ended here, by its pid."""
    relay = Relay(ws, host.data_dir)
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        relay.start_console(again=False)
    [serve] = _serve_children(host.data_dir)  # the console is still started
    try:
        # killed before it writes a byte: where its output would go is the outcome
        output = os.readlink(f"/proc/{serve.pid}/fd/1")
    finally:
        serve.terminate()
        with contextlib.suppress(psutil.NoSuchProcess):
            serve.wait(30)
    assert output == os.devnull, f"serve's output goes to {output}"
    return said.getvalue()


#: (case, the link, relative to the data dir, what is tried through it)
CASES = {
    "logs/<ws>/": ("logs/{ws}", _start),
    "logs/": ("logs", _start),
    "logs/calls.jsonl": ("logs/calls.jsonl", _call_record),
    "run/<ws>/": ("run/{ws}", _start),
    "run/": ("run", _start),
    "workspace folder": ("workspaces/{ws}", _open),
    "workspace.json": ("workspaces/{ws}/workspace.json", _open),
    "credentials folder (temp sweep)": ("workspaces/{ws}/credentials", _save_credentials),
    "bundles/": ("bundles", _install),
    "history/": ("history", _start),
    "service/ (sockets, gateway token)": ("service", _serve),
    "logs/serve.log (connect starting serve)": ("logs/serve.log", _relay_starts_serve),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_no_write_follows_a_symlink_in_the_data_dir(
    case: str, tmp_path: Path, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each folder or file the console writes, deletes in or chmods, planted as a link
    to a folder outside: refused with an error naming the link, the outside untouched.

    The outside holds bait for each write: the real content that was moved there,
    a stale temp file the start-up sweep would delete, an "unreadable" run record
    that reaping would delete, a loose 0644 file a credentials scan would chmod.
    """
    rel, act = CASES[case]
    data = tmp_path / "data"
    fields = {"token": {"type": "string", "title": "Token", "sensitive": True}}
    write_bundle(tmp_path / "src2", name="other")
    async with opened(data, tag, restore=False) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, write_bundle(tmp_path / "src", user_config=fields), "svc")
        await host.set_user_config(ws, "svc", {"token": "t0ken-value"})
    link = data / rel.format(ws=ws)
    outside = tmp_path / "outside" / link.name
    outside.parent.mkdir()
    if link.exists():
        link.rename(outside)  # the real content, moved out: as good as the data dir's
    elif link.suffix:
        outside.write_text("precious\n")
    else:
        outside.mkdir()
    if outside.is_dir():
        (outside / STALE_TEMP).write_bytes(b"not ours")
        (outside / "svc.json").write_text("{not a run record")
        (outside / "svc.json").chmod(0o644)
        (outside / ".staging-x").mkdir()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    before = snapshot(outside.parent)
    caplog.set_level("WARNING")

    async with opened(data, tag, restore=False) as host:
        said = await act(host, ws, caplog)

    assert snapshot(outside.parent) == before
    assert f"{link}: is a symbolic link" in said, said
    assert "s3cret-value" not in said
    assert link.is_symlink()  # refused, not "repaired" behind the administrator's back
