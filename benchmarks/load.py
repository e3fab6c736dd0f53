"""Busy loops beside a benchmark run: the "both cores saturated" rows of the README.

Each loop is its own session, as another program on the desktop would be: on
Linux with autogroup scheduling a loop in the benchmark's own session takes
CPU from the benchmark's group only, and the figures differ.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

_LOOP = "while True: pass"


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` Python processes spinning until the block ends (then killed and reaped)."""
    loops: list[subprocess.Popen[bytes]] = []
    try:  # a Popen that fails must not leave the loops before it spinning
        for _ in range(count):
            loops.append(subprocess.Popen([sys.executable, "-c", _LOOP], start_new_session=True))
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()
