"""Per-(workspace, bundle) credential files: a flat JSON map, 0600 in a 0700 dir.

Writes are read-modify-write under an ``asyncio.Lock`` per file, so two saves
racing on the same bundle both land (neither reads a stale map and clobbers
the other). Saves that queue up while one is being written are group-committed:
they are applied in arrival order in one read-modify-write and one fsync, so a
burst of N saves costs two writes, not N (which also keeps a burst of saves
within the window in which their respawns coalesce). A corrupt file is
reported, never overwritten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.atomic import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    atomic_write_json,
    ensure_dir,
    fsync_dir,
    read_json,
    remove_file,
)
from core.errors import DataError
from core.locks import KeyedLocks
from core.paths import DataPaths

log = logging.getLogger(__name__)


@dataclass
class _Save:
    changes: dict[str, Any | None]
    guard: Callable[[], None] | None
    done: asyncio.Future[dict[str, Any]]


@dataclass
class _Batch:
    """Saves queued for one file that have not started writing yet."""

    saves: list[_Save] = field(default_factory=list)


class CredentialStore:
    """Reads are synchronous (the spawn path needs them inline); writes run off the loop."""

    def __init__(self, paths: DataPaths) -> None:
        self._paths = paths
        #: one lock per file; a key goes away when its last user leaves
        self._locks = KeyedLocks()
        #: path -> saves waiting for the lock; joined by saves arriving meanwhile
        self._queued: dict[Path, _Batch] = {}

    def path(self, ws_id: str, server_name: str) -> Path:
        return self._paths.credentials_file(ws_id, server_name)

    @property
    def lock_count(self) -> int:
        """Files with a save in flight (0 at quiescence: the map does not grow forever)."""
        return len(self._locks)

    def load(self, ws_id: str, server_name: str) -> dict[str, Any]:
        """The stored map ({} when none). Raises DataError naming a corrupt file."""
        return _read_map(self.path(ws_id, server_name))

    async def update(
        self,
        ws_id: str,
        server_name: str,
        changes: Mapping[str, Any | None],
        guard: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Apply ``changes`` (None deletes a key) atomically; returns the new map.

        ``guard`` runs once the lock is held and may raise to abort: it lets the
        caller re-check that the bundle is still installed after waiting its turn.
        """
        path = self.path(ws_id, server_name)
        save = _Save(dict(changes), guard, asyncio.get_running_loop().create_future())
        batch = self._queued.get(path)
        if batch is None:
            batch = self._queued[path] = _Batch()
            writer = asyncio.create_task(self._commit(path, batch))
            writer.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        batch.saves.append(save)
        # Shielded: a caller giving up must not cancel the others' shared write.
        return await asyncio.shield(save.done)

    async def _commit(self, path: Path, batch: _Batch) -> None:
        """Write every save of ``batch`` in one read-modify-write, in arrival order."""
        async with self._locks.hold(path):
            if self._queued.get(path) is batch:
                del self._queued[path]  # later saves start the next batch
            merged: dict[str, Any | None] = {}
            accepted: list[_Save] = []
            for save in batch.saves:
                try:
                    if save.guard is not None:
                        save.guard()
                except BaseException as exc:
                    save.done.set_exception(exc)
                    continue
                merged.update(save.changes)
                accepted.append(save)
            if not accepted:
                return
            try:
                stored = await _write(path, _apply, path, merged)
            except BaseException as exc:
                for save in accepted:
                    save.done.set_exception(exc)
                raise
            for save in accepted:
                save.done.set_result(dict(stored))

    async def delete(self, ws_id: str, server_name: str) -> None:
        """Forget every value for this bundle (uninstall), corrupt or not."""
        path = self.path(ws_id, server_name)
        async with self._locks.hold(path):
            await _write(path, remove_file, path)

    async def clear(self, ws_id: str, server_name: str) -> None:
        """Remove every stored value; a corrupt file is set aside (kept), not destroyed."""
        path = self.path(ws_id, server_name)
        async with self._locks.hold(path):
            await _write(path, _clear, path)

    def delete_workspace(self, ws_id: str) -> None:
        directory = self._paths.credentials_dir(ws_id)
        shutil.rmtree(directory, ignore_errors=True)

    def scan(self, ws_id: str) -> list[str]:
        """Problems with this workspace's credential files (for Host.load_errors)."""
        directory = self._paths.credentials_dir(ws_id)
        if not directory.is_dir():
            return []
        problems = []
        loose_dir = _tighten(directory, PRIVATE_DIR_MODE)
        if loose_dir is not None:
            problems.append(
                f"{directory}: credentials folder was open to other users (mode {loose_dir:o}); "
                "it is 0700 now"
            )
        for path in sorted(directory.glob("*.json")):
            try:
                _read_map(path)
            except DataError as exc:
                problems.append(str(exc))
                continue
            loose = _tighten(path)
            if loose is not None:
                problems.append(
                    f"{path}: credentials file was readable by other users (mode {loose:o}); "
                    "it is 0600 now, but the values in it may have been seen"
                )
        return problems


async def _write(path: Path, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a file operation off the loop; an OS refusal is a DataError naming the file."""
    try:
        return await asyncio.to_thread(fn, *args)
    except OSError as exc:  # read-only or foreign-owned folder, disk full...
        raise DataError(path, f"cannot be written ({exc.strerror or exc})") from exc


def _tighten(path: Path, private: int = PRIVATE_FILE_MODE) -> int | None:
    """Make a loose credentials file (0600) or folder (0700) private.

    Returns the mode it had, or None if it was private already.
    """
    if os.name == "nt":
        return None
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if not mode & 0o077 or path.is_symlink():
            return None
        os.chmod(path, private)
    except OSError as exc:
        log.warning("%s: cannot be made private (%s)", path, exc.strerror)
        return None
    return mode


def _read_map(path: Path) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from exc
    if os.name != "nt" and stat.S_IMODE(mode) & 0o077:
        log.warning(
            "%s: credentials file is readable by other users (mode %o); it should be 0600",
            path,
            stat.S_IMODE(mode),
        )
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, "is not a JSON object of credential values")
    return data


def _apply(path: Path, changes: dict[str, Any | None]) -> dict[str, Any]:
    current = _read_map(path)  # raises on corruption: nothing is written
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    # Only the credentials dir is created: if the workspace dir is gone (deleted
    # while we waited), this fails instead of resurrecting it.
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    ensure_dir(path.parent, PRIVATE_DIR_MODE)
    atomic_write_json(path, current, mode=PRIVATE_FILE_MODE)
    return current


def _clear(path: Path) -> None:
    try:
        _read_map(path)
    except DataError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        os.replace(path, aside)
        fsync_dir(path.parent)
        log.warning("%s; moved aside to %s", exc, aside)
        return
    remove_file(path)
