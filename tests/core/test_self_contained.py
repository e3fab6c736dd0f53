"""Python bundles are self-contained: they see the standard library and what they ship.

The console no longer runs ``python`` bundles on its own interpreter with its own
site-packages: a machine Python runs them with ``-S`` (no site-packages at all),
plus what the manifest puts on PYTHONPATH (the demo bundles: their vendored
``server/lib``). Checked from outside the process: which files the running server
mapped (``/proc/<pid>/maps``), which interpreter and flags it runs with.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.host import Host
from core.runtimes import python_launch
from core.states import BundleState
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.core.data.hosting import opened
from tests.core.data.signing import pack_once, sign_self_signed

DEMO_CLOCK = Path(__file__).resolve().parents[2] / "resources" / "bundles" / "demo-clock"
OUR_SITE = os.path.realpath(sys.prefix) + os.sep


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        yield h


def server_processes(entry: Path) -> list[int]:
    """Pids whose command line runs ``entry`` (inside a sandbox or not)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(entry).encode() in argv and b"--" not in argv:  # not bwrap's own argv
            found.append(int(name))
    return found


def mapped_files(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


async def test_packed_signed_self_contained_bundle_runs_on_what_it_ships(
    host: Host, tmp_path: Path
) -> None:
    """demo-clock packed and signed by the official CLI installs from its signed bytes and runs;
    mcp and pydantic come from its server/lib, not from the console's packages."""
    if not (DEMO_CLOCK / "server" / "lib" / "mcp").is_dir():
        pytest.skip("demo-clock/server/lib is not vendored: run `make install`")
    archive = sign_self_signed(pack_once(DEMO_CLOCK, tmp_path / "clock.mcpb"))
    inst = await host.install_bundle("ws_team", archive)
    assert host.signature("ws_team", inst.server_name).status == "signed"  # type: ignore[union-attr]
    installed = host.bundle_path("ws_team", inst.server_name)
    result = await host.lifecycle.start_bundle(inst.server_name, "ws_team")
    try:
        assert result.ok, result.error
        assert inst.state == BundleState.RUNNING
        assert {"current_time", "system_info"} <= {t.name for t in inst.tools}

        [pid] = server_processes(installed / "server" / "main.py")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        exe = os.path.realpath(f"/proc/{pid}/exe")
        assert argv[1] == "-S"  # no site-packages: nothing installed can stand in
        assert not exe.startswith(OUR_SITE), f"{exe} is the console's virtual environment"
        files = mapped_files(pid)
        core_so = [f for f in files if "pydantic_core" in f]
        assert core_so and all(f.startswith(str(installed / "server" / "lib")) for f in core_so)
        assert not [f for f in files if f.startswith(OUR_SITE)], "mapped from the console's venv"
    finally:
        await host.lifecycle.stop_bundle(inst.server_name, "ws_team")


async def test_a_bundle_that_forgot_to_vendor_fails_here_too(host: Host, tmp_path: Path) -> None:
    """``import mcp`` without shipping it: dead with the ImportError (the console has mcp)."""
    import mcp  # the console's own: present, and must not be what the bundle gets

    assert mcp.__file__
    source = "import sys\nimport mcp\nprint('should not get here', file=sys.stderr)\n"
    folder = write_bundle(tmp_path / "src", manifest(name="forgetful"), {"server/main.py": source})
    inst = await host.install_bundle("ws_team", folder)
    result = await host.lifecycle.start_bundle(inst.server_name, "ws_team")
    assert not result.ok
    assert inst.state == BundleState.DEAD
    assert "No module named 'mcp'" in "\n".join(inst.stderr_tail)
    assert "should not get here" not in "\n".join(inst.stderr_tail)


def test_python_command_resolution(tmp_path: Path) -> None:
    """A shipped server/venv runs as is; otherwise a machine Python, never ours, with -S."""
    exe, flags = python_launch("python", tmp_path, os.environ.get("PATH"))
    assert flags == ["-S"] and os.path.isfile(exe)
    assert not os.path.realpath(os.path.dirname(exe)).startswith(OUR_SITE)

    venv_bin = tmp_path / "server" / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to("/nonexistent/python3.11")  # made on another machine
    with pytest.raises(Exception, match="no working interpreter"):
        python_launch("python", tmp_path, os.environ.get("PATH"))
    (venv_bin / "python").unlink()
    (venv_bin / "python").symlink_to(exe)
    assert python_launch("python3", tmp_path, None) == (str(venv_bin / "python"), [])
