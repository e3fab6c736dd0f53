"""A full disk while bundles log: writes fail soft and the state machine stays legal.

Before: each stderr chunk raised in a transport callback, ``respawn_bundle``
raised a raw OSError, the bundle stuck in "stopping", and after space was
freed every start/respawn/stop raised IllegalTransition until a restart. The
data dir here is a small tmpfs mounted by the test (we run as root), filled to
ENOSPC with a real file; skipped, saying why, where mounting is impossible.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.states import BundleState
from tests.reliability.support import EventLog, opened, write_bundle, ws_name

S = BundleState
RESTING = {S.STOPPED, S.RUNNING, S.DEAD, S.CRASHED}


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "4m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill ({mounted.stderr.strip() or 'not root'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; returns it (delete it to free space)."""
    filler = directory / "filler"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with pytest.raises(OSError):  # really full: not even a small write fits
        (directory / "probe").write_bytes(b"x" * 8192)
    return filler


async def test_disk_full_while_logging_fails_soft_and_recovers(
    tmp_path: Path, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    with small_tmpfs(tmp_path / "mnt") as mnt:
        data = mnt / "data"
        async with opened(data, tag) as host:
            events = EventLog()
            host.lifecycle.subscribe(events)
            ws = host.create_workspace(ws_name(tag)).id
            src = write_bundle(tmp_path / "src", ["--stderr-flood", "200000"])
            await host.install_bundle(ws, src, server_name="noisy")
            lc = host.lifecycle
            log_path = lc.log_path("noisy", ws)
            filler = fill(mnt)

            # Full disk: every operation returns a result, none raises, states stay legal.
            for op in (lc.start_bundle, lc.respawn_bundle, lc.respawn_bundle, lc.stop_bundle):
                result = await op("noisy", ws)
                inst = lc.get_instance("noisy", ws)
                assert inst is not None and inst.state in RESTING, (op, inst.state)
                assert result.ok, result.error
            assert inst.state is S.STOPPED
            dropped = [r for r in caplog.records if "bundle output is dropped" in r.getMessage()]
            # said once per process log (3 spawns), not once per lost chunk
            assert 1 <= len(dropped) <= 3 and str(log_path) in dropped[0].getMessage()
            before = log_path.stat().st_size

            # Space freed: start/respawn/stop work without reopening the console.
            filler.unlink()
            for op, state in (
                (lc.start_bundle, S.RUNNING),
                (lc.respawn_bundle, S.RUNNING),
                (lc.stop_bundle, S.STOPPED),
            ):
                result = await op("noisy", ws)
                assert result.ok, result.error
                assert inst.state is state
            assert events.problems == []
            # logging resumed once the space came back
            assert log_path.stat().st_size > before or log_path.with_name("noisy.log.1").exists()
