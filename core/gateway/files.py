"""Where the gateway lives under the data dir, and its secret token.

The token keeps bundle processes out: they run as the same user, so the
socket's uid check alone would let them in; the sandbox hides the data dir
(and so this file) from them. Standard library only, and imports kept inside
the functions the console alone calls: the relay imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Version of the hello line a relay sends before the MCP stream starts.
PROTOCOL = 1


def service_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "service"


def socket_path(data_dir: Path) -> Path:
    return service_dir(data_dir) / "gateway.sock"


def token_path(data_dir: Path) -> Path:
    return service_dir(data_dir) / "gateway.token"


def calls_path(data_dir: Path) -> Path:
    return Path(data_dir) / "logs" / "calls.jsonl"


def write_token(data_dir: Path) -> str:
    """A fresh token for this console's lifetime (0600, atomic, in the 0700 folder)."""
    import secrets

    from core.atomic import PRIVATE_FILE_MODE, atomic_write_bytes, ensure_private_dir

    ensure_private_dir(service_dir(data_dir), Path(data_dir))  # never through a link
    token = secrets.token_urlsafe(32)
    atomic_write_bytes(token_path(data_dir), token.encode(), mode=PRIVATE_FILE_MODE)
    return token


def read_token(data_dir: Path) -> str | None:
    try:
        return token_path(data_dir).read_text().strip() or None
    except OSError:
        return None


def same_token(given: object, expected: str) -> bool:
    import secrets

    return isinstance(given, str) and secrets.compare_digest(given.encode(), expected.encode())


def peer_is_bundle(pid: int) -> bool:
    """Whether the peer carries a bundle's marker or spawn token in its environment.

    Unreadable (it exited, or another user's) counts as a bundle: refuse.
    """
    from core.escapees import SPAWN_ENV
    from core.models import MARKER_ENV

    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return os.name == "posix" and os.path.isdir("/proc")
    names = {entry.split(b"=", 1)[0] for entry in environ.split(b"\0") if entry}
    return MARKER_ENV.encode() in names or SPAWN_ENV.encode() in names
