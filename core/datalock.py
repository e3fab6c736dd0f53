"""One console per data dir: an OS file lock held for the life of a Host.

Everything at start-up assumes it is alone: reaping the bundle processes listed
under ``<data>/run`` (a second console would stop the live bundles of the first,
which the first then restarts, two of each) and sweeping the temp files of
interrupted writes (it would delete another console's write in flight). The lock
is the kernel's (``flock``), so a console that is killed loses it at once and the
next one opens normally.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from core.atomic import LINK_REFUSED
from core.errors import DataError

LOCK_NAME = "console.lock"


class DataDirInUse(DataError):
    """Another process holds the lock: a console, or an offline CLI command for a moment.

    Its own type so that who is merely early (``serve`` behind a CLI command, a
    CLI command behind a starting ``serve``) can wait and retry instead of failing.
    """

    def __init__(self, root: Path, pid: int | None) -> None:
        who = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            root,
            f"is in use by another Bundle Console{who}. "
            "Close it first: two consoles would stop each other's bundles.",
        )
        self.pid = pid


class DataDirLock:
    """Held from :meth:`acquire` until :meth:`release` (or the process ends)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, root: Path) -> DataDirLock:
        """Lock ``root`` or raise a DataError saying which process holds it."""
        path = root / LOCK_NAME
        try:
            # O_NOFOLLOW: a console.lock that is a symlink (never one we made) would
            # have us truncate whatever file it points at.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataError(path, LINK_REFUSED) from None
            raise DataError(path, f"cannot be opened ({exc.strerror or exc})") from exc
        try:
            _lock(fd)
        except OSError:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise DataDirInUse(root, int(holder) if holder.isdigit() else None) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor drops the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
