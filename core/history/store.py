"""A size-capped, append-only JSON-lines file of bundle history.

One line per record: lifecycle events (with their redacted reasons and the
restart counters at that moment) and configuration changes (the keys that
changed, never their values; who and through what). The file is 0600 in a
0700 folder; each record is one ``write`` of a whole line on an ``O_APPEND``
descriptor, so a crash leaves at most a cut last line, which readers skip.
Like :mod:`core.logs`, the file rotates to ``.1`` past ``max_bytes``; readers
see the rotated file, then the current one.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import PRIVATE_FILE_MODE, ensure_private_dir, refuse_links
from core.errors import DataError
from core.logs import shift_backups

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 * 1024
DEFAULT_BACKUPS = 1
#: Records per bundle kept in memory for the Events tab.
INDEX_PER_BUNDLE = 500
#: A record longer than this (a huge error text) has its reason cut.
MAX_REASON = 2000
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)

Key = tuple[str, str]  # (ws_id, server_name)


@dataclass(frozen=True)
class HistoryRecord:
    """One thing that happened to ``(ws_id, server_name)``.

    ``kind`` is a lifecycle event kind ("transition", "setup", "registered",
    "unregistered") or "config". The field names match
    :class:`core.models.LifecycleEvent` so views render either.
    """

    ws_id: str
    server_name: str
    kind: str
    at: float = field(default_factory=time.time)
    previous: str | None = None
    state: str | None = None
    #: the redacted reason of a transition (an error, an exit) or a setup message
    error: str | None = None
    #: counters of the instance after the event (None for a config change)
    restarts: int | None = None
    crash_restarts: int | None = None
    respawns: int | None = None
    #: config changes: the keys written or cleared, the OS user, and the channel
    keys: tuple[str, ...] = ()
    user: str | None = None
    via: str | None = None

    def to_json(self) -> str:
        # Not dataclasses.asdict: its deep copy was most of an append's cost.
        data = {k: v for k in _ALL_FIELDS if (v := getattr(self, k)) is not None and v != ()}
        return _ENCODER.encode(data)

    @classmethod
    def from_json(cls, line: str) -> HistoryRecord | None:
        """The record of one line, or None for a cut or foreign line."""
        try:
            data = json.loads(line)
            keys = data.pop("keys", ())
            known = {k: v for k, v in data.items() if k in _FIELDS}
            return cls(**known, keys=tuple(str(k) for k in keys))
        except (ValueError, TypeError, AttributeError):
            return None

    @property
    def key(self) -> Key:
        return (self.ws_id, self.server_name)


_ALL_FIELDS = tuple(HistoryRecord.__dataclass_fields__)
_FIELDS = {f for f in _ALL_FIELDS if f != "keys"}
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


class HistoryStore:
    """Appends records to ``path`` and reads them back; tells subscribers of each new one.

    Writes fail soft (a full disk must not stop a bundle from starting): a
    failed append is logged once and counted in :attr:`dropped`.
    """

    def __init__(
        self,
        path: Path,
        *,
        root: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
    ) -> None:
        self.path = path
        #: the data dir: no symlink between it and the file is ever written through
        self.root = root if root is not None else path.parent
        self.max_bytes = max_bytes
        self.backups = backups
        self.dropped = 0
        self._fd: int | None = None
        self._size = 0
        self._subscribers: list[Callable[[HistoryRecord], None]] = []
        #: key -> its latest records, built at the first for_bundle (None until then)
        self._index: dict[Key, collections.deque[HistoryRecord]] | None = None
        #: why the history is neither read nor written (a symlink on its way), or None
        self.problem: str | None = None
        try:
            ensure_private_dir(path.parent, self.root)
            refuse_links(path, self.root)
        except DataError as exc:
            self.problem = str(exc)
            log.error("%s (history is kept in memory only this session)", exc)
        except OSError as exc:
            log.warning("%s: history folder cannot be made (%s)", path.parent, exc.strerror)

    # -- writing -----------------------------------------------------------------

    def append(self, record: HistoryRecord) -> None:
        if record.error is not None and len(record.error) > MAX_REASON:
            record = _with_error(record, record.error[:MAX_REASON] + "…")
        data = (record.to_json() + "\n").encode("utf-8", "replace")
        try:
            if self.problem is not None:
                raise OSError(errno.ELOOP, self.problem)
            if self._fd is None:
                self._open()
            if self._size + len(data) > self.max_bytes and self._size > 0:
                self._rotate()
            assert self._fd is not None
            written = os.write(self._fd, data)  # one write: a line is whole or cut, never mixed
            self._size += written
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._close_fd()
            if not self.dropped:
                log.warning("%s: history cannot be written (%s)", self.path, exc.strerror or exc)
            self.dropped += 1
        self._remember(record)
        for callback in list(self._subscribers):
            try:
                callback(record)
            except Exception:
                log.exception("history subscriber failed")

    def _open(self) -> None:
        try:
            refuse_links(self.path, self.root)
        except DataError as exc:  # a link planted since: stop writing, say so once
            self.problem = str(exc)
            log.error("%s (history is kept in memory only this session)", exc)
            raise OSError(errno.ELOOP, self.problem) from None
        self._fd = os.open(self.path, _OPEN_FLAGS, PRIVATE_FILE_MODE)
        with contextlib.suppress(OSError):
            os.fchmod(self._fd, PRIVATE_FILE_MODE)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        self._close_fd()
        shift_backups(self.path, self.backups)
        self._open()

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def close(self) -> None:
        self._close_fd()

    def subscribe(self, callback: Callable[[HistoryRecord], None]) -> Callable[[], None]:
        """``callback(record)`` after each append, on the caller's thread (the loop)."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    # -- reading -------------------------------------------------------------------

    def files(self) -> list[Path]:
        """Oldest first: ``path.N`` ... ``path.1``, ``path``."""
        older = [self.path.with_name(f"{self.path.name}.{i}") for i in range(self.backups, 0, -1)]
        return [*older, self.path]

    def records(self) -> Iterator[HistoryRecord]:
        """Every readable record, oldest first (cut or foreign lines are skipped)."""
        if self.problem is not None:
            return
        for part in self.files():
            try:
                with open(part, encoding="utf-8", errors="replace") as fh:
                    lines = fh.read().splitlines()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("%s: history cannot be read (%s)", part, exc.strerror)
                continue
            for line in lines:
                record = HistoryRecord.from_json(line) if line else None
                if record is not None:
                    yield record

    def for_bundle(self, ws_id: str, server_name: str, limit: int = 500) -> list[HistoryRecord]:
        """The bundle's records since it was last installed (an earlier bundle of the
        same name ends at its "unregistered"), oldest first, at most ``limit``.

        The files are read once; later appends keep that index current, so
        selecting bundles in the window costs no file reads.
        """
        if self._index is None:
            self._index = {}
            for record in self.records():
                self._remember(record)
        return list(self._index.get((ws_id, server_name), ()))[-limit:]

    def _remember(self, record: HistoryRecord) -> None:
        if self._index is None:
            return
        if record.kind == "unregistered":
            self._index.pop(record.key, None)
            return
        self._index.setdefault(record.key, collections.deque(maxlen=INDEX_PER_BUNDLE)).append(
            record
        )

    def counters(self) -> dict[Key, tuple[int, int, int]]:
        """``(restarts, crash_restarts, respawns)`` of each bundle's last record that has them."""
        found: dict[Key, tuple[int, int, int]] = {}
        for record in self.records():
            if record.kind == "unregistered":
                found.pop(record.key, None)
            elif record.restarts is not None:
                found[record.key] = (
                    record.restarts,
                    record.crash_restarts or 0,
                    record.respawns or 0,
                )
        return found


def _with_error(record: HistoryRecord, error: str) -> HistoryRecord:
    data: dict[str, Any] = asdict(record)
    data["error"] = error
    data["keys"] = tuple(data["keys"])
    return HistoryRecord(**data)
