"""Talking to the console that holds a data dir, from another process (blocking).

Used by the CLI and by the GUI's takeover. Plain sockets, no asyncio, no
heavy imports: ``bundle-console status`` pays for a connect and one line.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.service import protocol
from core.service.sockets import connect_unix, control_socket_path

LOCK_NAME = "console.lock"  # core.datalock.LOCK_NAME, without importing the data layer
#: how long a CLI command waits for a console that holds the lock but does not listen yet
STARTING_TIMEOUT = 10.0
_POLL = 0.05
_TELL_AFTER = 0.5  # a wait shorter than this goes unmentioned


class Remote:
    """A console listening on the control socket of one data dir."""

    def __init__(self, path: Path, timeout: float | None = None) -> None:
        self.path = path
        self.timeout = timeout

    @classmethod
    def find(cls, data_dir: Path) -> Remote | None:
        """The console holding ``data_dir``, or None when no one listens."""
        path = control_socket_path(data_dir)
        try:
            sock = connect_unix(path, timeout=5.0)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            return None
        sock.close()
        return cls(path)

    def call(self, op: str, args: dict[str, Any] | None = None) -> Any:
        """Send one request, return its result or raise ServiceError."""
        with self._open(op, args) as (_sock, reader):
            return _result(reader)

    @contextlib.contextmanager
    def stream(self, op: str, args: dict[str, Any] | None = None) -> Iterator[Iterator[dict]]:
        """Open a streaming request; yields an iterator of event payloads."""
        with self._open(op, args, timeout=None) as (_sock, reader):
            _result(reader)
            yield _events(reader)

    @contextlib.contextmanager
    def _open(self, op: str, args: dict[str, Any] | None, timeout: float | None = None) -> Any:
        sock = connect_unix(self.path, timeout=timeout if timeout is not None else self.timeout)
        try:
            sock.sendall(protocol.request(op, args))
            with sock.makefile("rb") as reader:
                yield sock, reader
        finally:
            sock.close()


def _read_line(reader: Any) -> bytes:
    line = reader.readline(protocol.MAX_LINE + 1)
    if not line:
        raise protocol.ServiceError(
            protocol.FAILED, "The console closed the connection without answering."
        )
    return line


def _result(reader: Any) -> Any:
    obj = protocol.parse_answer(_read_line(reader))
    if obj.get("ok"):
        return obj.get("result")
    raise protocol.ServiceError(str(obj.get("kind", protocol.FAILED)), str(obj.get("error", "")))


def _events(reader: Any) -> Iterator[dict[str, Any]]:
    while True:
        line = reader.readline(protocol.MAX_LINE + 1)
        if not line:
            return
        obj = protocol.parse_answer(line)
        if isinstance(obj.get("event"), dict):
            yield obj["event"]


def find_console(
    data_dir: Path,
    *,
    timeout: float = STARTING_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> Remote | None:
    """The console on ``data_dir``; None only when nobody holds its lock.

    A console takes the data-dir lock before its control socket listens (it
    loads the dir, reaps orphans, seeds first), so a command run just after
    ``serve`` starts finds the lock held and no one answering: it waits for the
    socket instead of opening the dir offline, which the lock would refuse.
    The lock itself is probed only when its recorded holder is gone (an offline
    command finished, a console died): a probe taken while a starting console
    acquires it would make that console fail. ``on_wait`` gets one line if the
    wait lasts. Raises ServiceError (failed) when the socket never answers.
    """
    remote = Remote.find(data_dir)
    if remote is not None or lock_is_free(data_dir):
        return remote
    start = time.monotonic()
    deadline = start + timeout
    told = on_wait is None
    while time.monotonic() < deadline:
        time.sleep(_POLL)
        remote = Remote.find(data_dir)
        if remote is not None:
            return remote
        pid = lock_holder(data_dir)
        if (pid is None or not _alive(pid)) and lock_is_free(data_dir):
            return None
        if not told and time.monotonic() - start >= _TELL_AFTER:
            told = True
            on_wait(f"(a console{_pid_text(pid)} is starting on {data_dir}: waiting for it)")
    pid = lock_holder(data_dir)
    raise protocol.ServiceError(
        protocol.FAILED,
        f"{data_dir}: a Bundle Console{_pid_text(pid)} holds this data dir but its control "
        f"socket did not answer within {timeout:g} s: it is still starting or is "
        "unresponsive. Try again in a moment; if it persists, check that console.",
    )


def lock_holder(data_dir: Path) -> int | None:
    """The pid the data-dir lock file records (its holder writes it), without locking."""
    try:
        fd = os.open(
            Path(data_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        )
    except OSError:
        return None
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def _pid_text(pid: int | None) -> str:
    return f" (pid {pid})" if pid is not None else ""


def lock_is_free(data_dir: Path) -> bool:
    """Is the data-dir lock free right now (nobody holds this data dir)?"""
    import fcntl

    try:
        fd = os.open(Path(data_dir) / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # drops the probe lock at once
    return True


def take_over(data_dir: Path, *, timeout: float = 60.0) -> str | None:
    """Ask a headless console on ``data_dir`` to hand over; wait until its lock is free.

    Returns None when nobody was listening, else a line for the log. Raises
    ServiceError when the holder refuses (a GUI) or does not let go in time.
    """
    remote = Remote.find(data_dir)
    if remote is None:
        return None
    info = remote.call("hello")
    if info.get("mode") != "serve":
        raise protocol.ServiceError(
            protocol.REFUSED,
            f"The data dir is open in another console window (pid {info.get('pid')}).",
        )
    remote.call("handover")
    deadline = time.monotonic() + timeout
    while not lock_is_free(data_dir):
        if time.monotonic() > deadline:
            raise protocol.ServiceError(
                protocol.FAILED, f"The headless console (pid {info.get('pid')}) did not let go."
            )
        time.sleep(0.05)
    return f"took over from the headless console (pid {info.get('pid')})"


__all__ = ["Remote", "find_console", "lock_holder", "lock_is_free", "take_over"]
