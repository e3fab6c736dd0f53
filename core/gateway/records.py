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
from dataclasses import asdict, dataclass
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
        return json.dumps(asdict(self), sort_keys=True)


class CallLog:
    """Append-only, size-capped record of calls, with subscribers for live views."""

    def __init__(self, path: Path, *, max_bytes: int = 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._subscribers: list[Callable[[CallRecord], None]] = []

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
        # <data>/logs/calls.jsonl: a symlinked logs/ or file is refused (DataError naming it)
        refuse_links(self.path, self.path.parent.parent)
        ensure_private_dir(self.path.parent, self.path.parent.parent)
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_size + len(line) > self.max_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


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
