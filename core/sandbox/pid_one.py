"""The sandbox's pid 1 (bwrap's init) as the host sees it: how a stop knows the sandbox is empty.

Everything a confined bundle starts lives in its pid namespace, ``setsid()``
helpers included, and the kernel ends every one of them before that
namespace's pid 1 exits. So once pid 1 has exited nothing of the bundle is
left, and no process-table scan is needed to say so. The scans it replaces
found only pid 1's own zombie (bwrap's monitor exits first and leaves it to
the host's init to reap): 5.5 ms each on a quiet machine, 23 ms at load 4.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

from core.proctable import read_proc, stat_fields


class PidOne:
    """A pidfd on the sandbox's pid 1: immune to pid reuse, closed with :meth:`close`."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self._fd: int | None = pidfd

    @classmethod
    def of_monitor(cls, monitor: int) -> PidOne | None:
        """The only child of bwrap's monitor process ``monitor``, or None if it cannot be told.

        None sends the stop down the general path (a scan of the process group).
        """
        try:
            children = read_proc(f"/proc/{monitor}/task/{monitor}/children").split()
        except OSError:  # no CONFIG_PROC_CHILDREN, or the monitor is gone already
            return None
        if len(children) != 1:
            return None
        pid = int(children[0])
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return None
        try:
            parent = int(stat_fields(pid)[1])
        except (OSError, ValueError, IndexError):
            parent = 0
        if parent != monitor:  # exited and its pid reused between the read and the open
            os.close(fd)
            return None
        return cls(pid, fd)

    @property
    def fd(self) -> int | None:
        return self._fd

    def exited(self) -> bool:
        """Whether pid 1 has exited (a zombie counts): then the whole sandbox is gone."""
        if self._fd is None:
            return True
        return bool(select.select([self._fd], [], [], 0)[0])

    def descendants(self) -> list[int]:
        """Host pids of every live process in the sandbox but pid 1, parents first."""
        found: list[int] = []
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            try:
                children = read_proc(f"/proc/{pid}/task/{pid}/children").split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
        return found

    def kill(self) -> None:
        """SIGKILL pid 1: the kernel then ends everything in its namespace."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
