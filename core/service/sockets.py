"""Unix sockets that only the same OS user can use, at paths of any length.

Reused by every socket under ``<data>/service/`` (the control socket here, the
gateway's socket next to it). ``sun_path`` holds 107 bytes; a data dir under a
deep temp path exceeds it, so a long path is reached through the folder's
``O_PATH`` descriptor (``/proc/self/fd/N/<name>``), which the kernel resolves
like the real path. Permissions are checked twice: the folder is 0700 and the
socket 0600, and every accepted peer's uid is read with ``SO_PEERCRED``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

SERVICE_DIR = "service"
CONTROL_SOCKET = "control.sock"
SOCKET_MODE = 0o600
#: core.atomic.PRIVATE_DIR_MODE, without that module's imports (tempfile...) on the CLI path
PRIVATE_DIR_MODE = 0o700
#: bytes usable in sockaddr_un.sun_path (108 with the NUL)
MAX_PATH = 107
_UCRED = struct.Struct("3i")  # pid, uid, gid


def service_dir(data_dir: Path) -> Path:
    return Path(data_dir) / SERVICE_DIR


def control_socket_path(data_dir: Path) -> Path:
    return service_dir(data_dir) / CONTROL_SOCKET


def ensure_service_dir(data_dir: Path) -> Path:
    """Create ``<data>/service`` 0700 (and tighten one found looser).

    A symlinked ``service/`` raises DataError naming it: the sockets, the token
    and the chmod would all land on whatever it points at.
    """
    from core.atomic import refuse_links  # here: the CLI path imports this module

    folder = service_dir(data_dir)
    refuse_links(folder, Path(data_dir))
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o777 != PRIVATE_DIR_MODE:
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


@contextlib.contextmanager
def _short_address(path: Path) -> Iterator[str]:
    """An address the kernel accepts for ``path``; valid inside the ``with`` only."""
    text = os.fsencode(path)
    if len(text) <= MAX_PATH:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def bind_unix(path: Path, *, backlog: int = 64) -> socket.socket:
    """A listening socket at ``path`` (mode 0600), replacing a stale one.

    Call it only while holding the data-dir lock: a socket file left there is
    then known to be dead (its console is gone), so it is removed.
    """
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)  # created 0600: no window where it is wider
        try:
            with _short_address(path) as address:
                sock.bind(address)
        finally:
            os.umask(old)
        os.chmod(path, SOCKET_MODE)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def connect_unix(path: Path, *, timeout: float | None = 10.0) -> socket.socket:
    """A connected (blocking) client socket; raises OSError (e.g. FileNotFoundError)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with _short_address(Path(path)) as address:
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end, as the kernel recorded it at connect."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return _UCRED.unpack(raw)[1]


def same_user(sock: socket.socket) -> bool:
    """True when the peer runs as this process's uid (root gets no exception)."""
    try:
        return peer_uid(sock) == os.getuid()
    except OSError:
        return False
