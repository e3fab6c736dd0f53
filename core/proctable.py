"""Process facts read from /proc that the console matches processes by."""

from __future__ import annotations

import os
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


def start_since_boot(pid: int) -> float | None:
    """When ``pid`` started, in seconds since boot (Linux), or None.

    Raw ``os.read`` rather than ``Path.read_text``: escapee sweeps call this for
    every process on the machine, and it is three times faster.
    """
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            stat = os.read(fd, 4096)
        finally:
            os.close(fd)
        ticks = int(stat.rpartition(b")")[2].split()[19])  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return None
    return ticks / CLOCK_TICKS
