"""Bundle stderr logs: redacted at write time, timestamped, size-capped, rotated.

Each line on disk starts with the local date and time it was written
(``2026-12-02 01:15:11.123``), so the Logs tab and ``bundle-console logs``
say when something happened; the in-memory tail quoted in error messages
keeps the bare lines.

Secrets are masked *before* they reach disk, so the log file is safe to open
in any editor and the log view never has to trust the raw file.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from core.atomic import LINK_REFUSED, ensure_private_dir
from core.errors import DataError
from core.redact import Redactor

_log = logging.getLogger(__name__)
#: O_NOFOLLOW: a log path that is a symlink (which the console never creates) is
#: refused instead of appending bundle stderr to whatever it points at.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_BACKUPS = 2
TAIL_LINES = 50


def shift_backups(path: Path, backups: int) -> None:
    """Rotate ``path`` → ``path.1`` → … → ``path.<backups>`` (the oldest is replaced).

    With no backups the file is just removed. The caller has closed its descriptor
    and opens a fresh ``path`` next.
    """
    for i in range(backups, 0, -1):
        src = path.with_name(f"{path.name}.{i - 1}") if i > 1 else path
        if src.exists():
            os.replace(src, path.with_name(f"{path.name}.{i}"))
    if backups == 0:
        path.unlink(missing_ok=True)


#: A "line" longer than this is cut into pieces so a newline-free flood cannot grow memory.
MAX_LINE = 16 * 1024


class BundleLog:
    """Appends a bundle's stderr to ``path``, rotating to ``path.1``, ``path.2``...

    The total on disk stays under ``max_bytes * (backups + 1)`` plus one line.
    Also keeps the last :data:`TAIL_LINES` lines in memory for error messages.

    Writes fail soft: when the disk is full (or the file cannot be written) lines
    are dropped and counted, the console log says so once, and the first write
    that succeeds again records how many were lost. A log path that is a symlink
    raises :class:`~core.errors.DataError` naming it, at construction; so does a
    symlinked folder between ``root`` (the data dir, when given) and the file.
    """

    def __init__(
        self,
        path: Path,
        secrets: Iterable[str] | Redactor = (),
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        root: Path | None = None,
    ) -> None:
        self.path = path
        #: The console-wide redactor (every bundle's values), or one for ``secrets``.
        self.redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
        self.max_bytes = max_bytes
        self.backups = backups
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._partial = ""
        self._closed = False
        #: lines lost to failed writes since the last successful one
        self.dropped = 0
        self._fd: int | None = None
        self._size = 0
        try:
            if root is not None:  # logs/ and logs/<ws>/: never created through a link
                ensure_private_dir(path.parent, root)
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._open()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataError(path, LINK_REFUSED) from None
            self._failed(exc, 0)

    def _open(self) -> None:
        self._fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _failed(self, exc: OSError, lines: int) -> None:
        if not self.dropped:
            _log.warning(
                "%s: cannot be written (%s); bundle output is dropped until it can",
                self.path,
                exc.strerror or exc,
            )
        self.dropped += max(lines, 1)

    def feed(self, chunk: str) -> None:
        """Take a chunk of stderr text; complete lines are redacted and written."""
        data = self._partial + chunk
        lines = data.split("\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            # Mask before cutting, and cut before anything that may be the first part
            # of a value whose rest has not arrived: a cut must never split a secret
            # over two lines, each half unmasked (and the last one in error messages).
            self._partial = self.redact(self._partial)
        # chars a cut keeps back: the start of a value whose rest is still to come
        hold = min(max(self.redact.longest - 1, 0), MAX_LINE // 2)
        while len(self._partial) > MAX_LINE:
            cut = min(MAX_LINE, len(self._partial) - hold)
            lines.append(self._partial[:cut])
            self._partial = self._partial[cut:]
        if lines:
            self._write_lines(lines)

    def note(self, text: str) -> None:
        """Write a console-side line (spawn, exit...) into the same log."""
        self._write_lines([f"[bundle-console] {text}"], tail=False)

    def _write_lines(self, lines: list[str], *, tail: bool = True) -> None:
        if self._closed:  # late stderr after the process was finished with
            return
        clean = [self.redact(line.rstrip("\r")) for line in lines]
        if tail:
            self.tail.extend(clean)  # error messages quote these: no stamps there
        stamp = timestamp()
        data = "".join(f"{stamp} {line}\n" for line in clean).encode("utf-8", "replace")
        try:
            if self._fd is None:
                self._open()
            if self._size + len(data) > self.max_bytes and self._size > 0:
                self._rotate()
            if self.dropped:
                lost = (
                    f"{stamp} [bundle-console] {self.dropped} line(s) lost: "
                    "the log could not be written\n"
                )
                self._write_all(lost.encode())
                self.dropped = 0
            self._write_all(data)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link appeared where the log was: never follow it
                self._close_fd()
            self._failed(exc, len(clean))

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            self._size += written
            view = view[written:]

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _rotate(self) -> None:
        self._close_fd()
        shift_backups(self.path, self.backups)
        self._open()

    def close(self) -> None:
        if self._closed:
            return
        if self._partial:
            self._write_lines([self._partial])
            self._partial = ""
        self._closed = True
        self._close_fd()


def timestamp(now: float | None = None) -> str:
    """The local date and time each written line starts with, to the millisecond."""
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def read_tail(
    path: Path,
    max_lines: int,
    secrets: Iterable[str] | Redactor = (),
    *,
    backups: int = DEFAULT_BACKUPS,
) -> list[str]:
    """The last ``max_lines`` lines of a log, redacted again for display.

    Continues into ``path.1``, ``path.2``... when the current file is short, so a
    view opened just after a rotation still shows what came before it. Each file
    is read through a bounded window from its end, so a huge file costs nothing.
    """
    lines: list[str] = []
    for i in range(backups + 1):
        part = path if i == 0 else path.with_name(f"{path.name}.{i}")
        more, whole = _file_tail(part, max_lines - len(lines))
        lines = more + lines
        if len(lines) >= max_lines or not whole:
            break  # enough, or this file was cut: older files would leave a gap
    mask = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    return [mask(line) for line in lines[-max_lines:]]


def _file_tail(path: Path, max_lines: int) -> tuple[list[str], bool]:
    """The file's last lines, and whether they start at the file's start."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            window = min(size, max(64 * 1024, max_lines * 400))
            fh.seek(size - window)
            data = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return [], True
    lines = data.splitlines()
    if window < size and lines:
        lines = lines[1:]  # first line is probably cut
    return lines[-max_lines:], window == size and len(lines) <= max_lines
