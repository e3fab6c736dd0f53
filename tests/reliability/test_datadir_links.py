"""The console never writes through a symlink it did not create in the data dir.

Before: a ``console.lock`` symlink truncated the file it pointed at, and a
bundle log symlink had bundle stderr appended to its target. Now both are
refused with an error naming the file, and the target is untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import DataError
from core.host import Host
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
