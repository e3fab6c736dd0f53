"""Call records: who called which tool, when, for how long, and how it ended.

Never arguments or results (they may hold secrets). One JSON object per
line in ``<data>/logs/calls.jsonl``, rotated to ``calls.jsonl.1`` past
``max_bytes``, so the record never grows without bound. Standard library
only: ``bundle-console calls`` reads it without the SDK.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.atomic import ensure_private_dir, refuse_links
from core.errors import DataError

log = logging.getLogger(__name__)
#: O_NOFOLLOW: a calls.jsonl that is a symlink is refused, not appended through.
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)

#: ok | tool_error (the tool said isError) | error (the bundle answered an MCP
#: error) | unavailable (stopped, dead, needs setup) | timeout | cancelled
OUTCOMES = ("ok", "tool_error", "error", "unavailable", "timeout", "cancelled")


@dataclass(frozen=True)
class CallRecord:
    at: float
    workspace: str  # the workspace id
    workspace_name: str
    client: str
    client_version: str
    bundle: str
    tool: str
    duration_ms: float
    outcome: str

    def to_json(self) -> str:
        return json.dumps(vars(self), sort_keys=True)  # flat fields: no asdict() deep copy


class CallLog:
    """Append-only, size-capped record of calls, with subscribers for live views."""

    def __init__(self, path: Path, *, max_bytes: int = 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._subscribers: list[Callable[[CallRecord], None]] = []
        #: kept open between calls (an open per call cost more than the rest of
        #: the record); reopened when the file was rotated or removed
        self._fd: int | None = None
        self._size = 0

    def subscribe(self, callback: Callable[[CallRecord], None]) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def add(self, record: CallRecord) -> None:
        try:
            self._append(record.to_json() + "\n")
        except (OSError, DataError) as exc:  # a full disk or a link must not fail the call
            log.warning("cannot write the call record to %s: %s", self.path, exc)
        for callback in list(self._subscribers):
            try:
                callback(record)
            except Exception:
                log.exception("call record subscriber failed")

    def _append(self, line: str) -> None:
        data = line.encode()
        fd = self._fd
        if fd is not None and os.fstat(fd).st_nlink == 0:  # removed (or replaced) under us
            self.close()
            fd = None
        if fd is None:
            fd = self._open()
        if self._size and self._size + len(data) > self.max_bytes:
            self.close()
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            fd = self._open()
        os.write(fd, data)
        self._size += len(data)

    def _open(self) -> int:
        """Open (once, not per call) the record; an fd kept open never follows a link
        swapped in later, and a reopen checks for links again."""
        # <data>/logs/calls.jsonl: a symlinked logs/ or file is refused (DataError naming it)
        refuse_links(self.path, self.path.parent.parent)
        ensure_private_dir(self.path.parent, self.path.parent.parent)
        fd = self._fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        self._size = os.fstat(fd).st_size
        return fd

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def read_records(path: Path) -> Iterator[dict[str, object]]:
    """Every readable record, oldest first (the rotated file, then the current one)."""
    for part in (path.with_name(path.name + ".1"), path):
        try:
            text = part.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    yield record
