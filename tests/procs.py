"""Look at the real OS process table: what is running, with which environment.

Tests check bundle processes here rather than trusting the console's own
bookkeeping. Every bundle child carries ``BUNDLE_CONSOLE_MARKER=<ws>/<server>``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MARKER = "BUNDLE_CONSOLE_MARKER"
_MARKER_ENTRY = b"\0" + MARKER.encode() + b"="


def proc_env(pid: int) -> dict[str, str]:
    """The environment of a live process (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, _, v = item.partition(b"=")
            env[k.decode(errors="replace")] = v.decode(errors="replace")
    return env


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def live_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and not _is_zombie(int(p))]


def _marker_of(pid: str) -> str | None:
    """The bundle marker in a process's environment, or None (also when it is gone)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = b"\0" + fh.read()
    except OSError:
        return None
    start = raw.find(_MARKER_ENTRY)
    if start < 0:
        return None
    start += len(_MARKER_ENTRY)
    end = raw.find(b"\0", start)
    return raw[start : end if end >= 0 else len(raw)].decode(errors="replace")


def marked_processes(tag: str | None = None) -> dict[str, list[int]]:
    """Live processes carrying the bundle marker, grouped by marker value.

    ``tag`` limits the result to markers containing it (tests use a unique tag
    in the workspace id or data dir so parallel runs never see each other).
    A sandboxed bundle (core.sandbox) counts as one process, its ``bwrap``: what
    runs inside the sandbox's pid namespace dies with it.

    One read of ``/proc/<pid>/environ`` per process, searched as bytes: samplers
    call this every few ms, and on a busy machine the whole table is hundreds of
    processes (a zombie's environ reads empty, so it never matches).
    """
    found: dict[str, list[int]] = {}
    for pid, marker in marked_pids(tag):
        found.setdefault(marker, []).append(pid)
    for pids in found.values():
        pids.sort()
    return found


def marked_pids(tag: str | None = None) -> Iterator[tuple[int, str]]:
    """``(pid, marker)`` of each live marked process outside a sandbox (see above)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        marker = _marker_of(name)
        if marker is None or (tag is not None and tag not in marker):
            continue
        pid = int(name)
        if not _is_zombie(pid) and not in_sandbox(pid):
            yield pid, marker


def _comm_ppid(pid: int) -> tuple[str, int]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", 0
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    return comm, int(stat.rpartition(")")[2].split()[1])


def in_sandbox(pid: int) -> bool:
    """Whether ``pid`` runs under a ``bwrap`` ancestor (inside a bundle's sandbox)."""
    _, ppid = _comm_ppid(pid)
    while ppid > 1:
        comm, parent = _comm_ppid(ppid)
        if comm == "bwrap":
            return True
        ppid = parent
    return False


def runs_bundle_code(pid: int) -> bool:
    """Whether a marked process, or anything in its sandbox, runs code of the bundle.

    Two things in a sandbox are not the bundle: bwrap itself (its monitor and its
    pid-1 init) and the console's gate shim, a shell that waits to exec the server
    while the old process stops (core.sandbox.prepare). A sandbox still being set
    up, waiting on its gate, or left with only bwrap as it ends holds neither.
    """
    for current, argv in _tree(pid):
        if not argv[0] or _is_zombie(current):
            continue  # a zombie's cmdline reads empty: nothing runs
        gate_shim = len(argv) > 2 and argv[1] == b"-c" and b"read -r -n 1 -u" in argv[2]
        if os.path.basename(argv[0]) != b"bwrap" and not gate_shim:
            return True
    return False


def process_tree(pid: int) -> str:
    """``pid`` and its descendants as ``pid:name`` words, for a failure message."""
    return " ".join(
        f"{current}:{os.path.basename(argv[0]).decode(errors='replace') or 'zombie'}"
        for current, argv in _tree(pid)
    )


def _tree(pid: int) -> Iterator[tuple[int, list[bytes]]]:
    """``(pid, argv)`` of ``pid`` and its descendants still in the process table."""
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue  # gone
        yield current, cmdline.split(b"\0")
        todo.extend(int(child) for child in children)


def pids_with_env(key: str, value: str) -> list[int]:
    return [pid for pid in live_pids() if proc_env(pid).get(key) == value]


def pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02
) -> bool:
    """Poll ``predicate`` on the running loop until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()
