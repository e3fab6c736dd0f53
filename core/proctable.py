"""Process facts read from /proc that the console matches processes by."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: Start times since boot come in clock ticks: equal ones are equal to the tick.
TICK_TOLERANCE = 0.001
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def boot_id() -> str:
    """This boot's id ("" where the OS does not say): a record from another boot is stale."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def read_proc(path: str) -> bytes:
    """A whole /proc file, by raw ``os.read``.

    Escapee sweeps read two files for every process on the machine, and this
    is three times faster than ``Path.read_text``. Raises OSError.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def stat_fields(pid: int) -> list[bytes]:
    """``/proc/<pid>/stat`` after the command name: index 0 is field 3 (state).

    Raises OSError (gone, not Linux) or IndexError (malformed).
    """
    fields = read_proc(f"/proc/{pid}/stat").rpartition(b")")[2].split()
    if not fields:
        raise IndexError(f"/proc/{pid}/stat has no fields")
    return fields


def start_since_boot(pid: int) -> float | None:
    """When ``pid`` started, in seconds since boot (Linux), or None."""
    try:
        ticks = int(stat_fields(pid)[19])  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return None
    return ticks / CLOCK_TICKS


def now_since_boot() -> float | None:
    """Seconds since boot now, on the clock /proc start times count on (Linux), or None.

    ``CLOCK_BOOTTIME`` is what the kernel stamps a new process's start with (and
    both shift alike inside a time namespace).
    """
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None:
        return None
    try:
        return time.clock_gettime(clock)
    except OSError:
        return None
