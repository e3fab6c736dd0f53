"""Per-(workspace, bundle) credential files: a flat JSON map, 0600 in a 0700 dir.

Writes are read-modify-write under an ``asyncio.Lock`` per file, so two saves
racing on the same bundle both land (neither reads a stale map and clobbers
the other). Saves that queue up while one is being written are group-committed:
they are applied in arrival order in one read-modify-write and one fsync, so a
burst of N saves costs two writes, not N (which also keeps a burst of saves
within the window in which their respawns coalesce). A corrupt file is
reported, never overwritten.

With the keyring store active (:mod:`core.secrets`), a save of a sensitive
value writes its keyring item first, then the file with a marker in its place,
in the same group commit; the values of keyring-held keys are kept in memory
(``_cache``, filled off the loop at open and by every save) so the spawn path
still reads them synchronously, at spawn time. A key is either a value in the
file or a marker pointing to the keyring, never both.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    refuse_links,
    remove_file,
)
from core.errors import DataError
from core.locks import KeyedLocks
from core.paths import DataPaths
from core.secrets.choice import SecretsRecord, SecretsStatus, requested
from core.secrets.markers import MARKER_KEY as MARKER
from core.secrets.markers import is_marker, item_name, marker
from core.secrets.vault import KeyringUnavailable, KeyringVault, Ticket
from core.userconfig import ListEdit

Key = tuple[str, str]  # (ws_id, server_name)

log = logging.getLogger(__name__)


@dataclass
class _Save:
    changes: dict[str, Any | None]
    guard: Callable[[], None] | None
    done: asyncio.Future[dict[str, Any]]
    sensitive: frozenset[str] = frozenset()


@dataclass
class _Batch:
    """Saves queued for one file that have not started writing yet."""

    key: Key
    saves: list[_Save] = field(default_factory=list)


class CredentialStore:
    """Reads are synchronous (the spawn path needs them inline); writes run off the loop."""

    def __init__(self, paths: DataPaths) -> None:
        self._paths = paths
        #: one lock per file; a key goes away when its last user leaves
        self._locks = KeyedLocks()
        #: path -> saves waiting for the lock; joined by saves arriving meanwhile
        self._queued: dict[Path, _Batch] = {}
        #: where sensitive values go (file until :meth:`open_secrets` finds a keyring)
        self.secrets = SecretsStatus("file")
        self._vault: KeyringVault | None = None
        self._record: SecretsRecord | None = None
        #: why keyring-held values cannot be read (keyring locked/absent at open)
        self._unreadable: str | None = None
        #: (ws, server) -> {key: value} of the keys whose file entry is a marker
        self._cache: dict[Key, dict[str, Any]] = {}
        #: items are being read into the cache: a marker not cached yet is not "absent"
        self._loading = False

    def path(self, ws_id: str, server_name: str) -> Path:
        return self._paths.credentials_file(ws_id, server_name)

    @property
    def lock_count(self) -> int:
        """Files with a save in flight (0 at quiescence: the map does not grow forever)."""
        return len(self._locks)

    def load(self, ws_id: str, server_name: str) -> dict[str, Any]:
        """The stored values ({} when none), keyring-held ones included.

        Raises DataError naming a corrupt file, KeyringUnavailable (``locked``)
        when a value lives in a keyring this console cannot read.
        """
        stored = _read_map(self.path(ws_id, server_name))
        held = [k for k, v in stored.items() if is_marker(v)]
        if not held:
            return stored
        cached = self._cache.get((ws_id, server_name), {})
        missing = [k for k in held if k not in cached]
        if missing and self._unreadable is not None:
            raise KeyringUnavailable(self._unreadable, locked=True)
        if missing and self._vault is None:  # e.g. BUNDLE_CONSOLE_SECRETS=file on such a dir
            raise KeyringUnavailable(
                "needs setup: a value is kept in the keyring, which this console does not use "
                f"({self.secrets.summary})",
                locked=True,
            )
        if missing and self._loading:
            raise KeyringUnavailable("needs setup: the keyring is still being read; try again")
        # A marker whose item was missing from the keyring at open counts as absent.
        return {
            k: cached[k] if is_marker(v) else v
            for k, v in stored.items()
            if not is_marker(v) or k in cached
        }

    def load_raw(self, ws_id: str, server_name: str) -> dict[str, Any]:
        """The file's map, markers left in (enough to tell "set" from "not set")."""
        return _read_map(self.path(ws_id, server_name))

    async def update(
        self,
        ws_id: str,
        server_name: str,
        changes: Mapping[str, Any | None],
        guard: Callable[[], None] | None = None,
        sensitive: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """Apply ``changes`` (None deletes a key) atomically; returns the new map.

        ``guard`` runs once the lock is held and may raise to abort: it lets the
        caller re-check that the bundle is still installed after waiting its turn.
        ``sensitive`` keys go to the keyring when it is the store (the returned
        map then holds markers for them, never their values).
        """
        path = self.path(ws_id, server_name)
        save = _Save(
            dict(changes), guard, asyncio.get_running_loop().create_future(), frozenset(sensitive)
        )
        batch = self._queued.get(path)
        if batch is None:
            batch = self._queued[path] = _Batch((ws_id, server_name))
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
            sensitive: set[str] = set()
            accepted: list[_Save] = []
            for save in batch.saves:
                try:
                    if save.guard is not None:
                        save.guard()
                    changes = self._resolve_edits(batch.key, save.changes, merged)
                except BaseException as exc:
                    save.done.set_exception(exc)
                    continue
                merged.update(changes)
                sensitive |= save.sensitive
                accepted.append(save)
            if not accepted:
                return
            try:
                if self._vault is None:
                    stored = await _write(path, _apply, path, merged)
                else:
                    stored = await self._commit_keyring(path, batch.key, merged, sensitive)
            except BaseException as exc:
                for save in accepted:
                    save.done.set_exception(exc)
                raise
            for save in accepted:
                save.done.set_result(dict(stored))

    def _resolve_edits(
        self, key: Key, changes: Mapping[str, Any], merged: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Turn each :class:`ListEdit` into the list it makes of the value stored now
        (or of an earlier save of the same batch): run under the file's lock."""
        edits = [k for k, v in changes.items() if isinstance(v, ListEdit)]
        if not edits:
            return dict(changes)
        current = self.load(*key)  # keyring-held values included; raises if unreadable
        out = dict(changes)
        for k in edits:
            base = merged[k] if k in merged else current.get(k)
            out[k] = changes[k].apply(base)
        return out

    async def delete(self, ws_id: str, server_name: str) -> None:
        """Forget every value for this bundle (uninstall), corrupt or not, keyring items too."""
        path = self.path(ws_id, server_name)
        async with self._locks.hold(path):
            items = _held_items(path, ws_id, server_name)
            _refuse_links(path)
            await _write(path, remove_file, path)
            await self._forget((ws_id, server_name), items)

    async def clear(self, ws_id: str, server_name: str) -> None:
        """Remove every stored value; a corrupt file is set aside (kept), not destroyed."""
        path = self.path(ws_id, server_name)
        async with self._locks.hold(path):
            items = _held_items(path, ws_id, server_name)
            _refuse_links(path)
            await _write(path, _clear, path)
            await self._forget((ws_id, server_name), items)

    def delete_workspace(self, ws_id: str) -> None:
        directory = self._paths.credentials_dir(ws_id)
        shutil.rmtree(directory, ignore_errors=True)

    async def forget_workspace_items(self, ws_id: str) -> None:
        """Delete the keyring items of every bundle of a workspace (before its folder goes)."""
        directory = self._paths.credentials_dir(ws_id)
        if not directory.is_dir():
            return
        for path in sorted(directory.glob("*.json")):
            server_name = path.stem
            await self._forget((ws_id, server_name), _held_items(path, ws_id, server_name))

    # -- the keyring store ---------------------------------------------------------------

    async def open_secrets(
        self,
        choice: str | None,
        bundles: Mapping[Key, frozenset[str]],
        *,
        timeout: float = 5.0,
    ) -> list[str]:
        """Pick the store for this session; with the keyring, load it and migrate the files.

        ``bundles`` maps every installed bundle to its sensitive keys. Returns
        problems for ``Host.load_errors``. Every keyring call runs off the loop.
        """
        want = requested(choice)
        if want == "file":
            self.secrets = SecretsStatus("file", "chosen: file store")
            return []
        try:
            record = SecretsRecord.load(self._paths.root / "secrets.json")
        except DataError as exc:
            self.secrets = SecretsStatus("file", "the secrets record is unreadable", fallback=True)
            return [str(exc)]
        self._record = record
        if record.store == "file":
            self.secrets = SecretsStatus("file", "moved to the file by `secrets move-to-file`")
            return []
        return await self._attach_keyring(record, bundles, timeout)

    async def _attach_keyring(
        self, record: SecretsRecord, bundles: Mapping[Key, frozenset[str]], timeout: float
    ) -> list[str]:
        vault = KeyringVault(timeout)
        try:
            await vault.run(lambda _t: vault.detect(record.service), "detecting the keyring")
        except KeyringUnavailable as exc:
            vault.close()
            reason = str(exc)
            self.secrets = SecretsStatus("file", reason, fallback=True)
            # Values already in the keyring cannot be read: their bundles need setup.
            self._unreadable = f"needs setup: keyring locked ({reason})"
            log.warning("keyring unavailable (%s): secrets are kept in 0600 files", reason)
            return []
        self._vault, self._unreadable = vault, None
        self.secrets = SecretsStatus("keyring", backend=vault.backend_name)
        problems: list[str] = []
        self._loading = True
        try:
            await _write(record.path, record.save)
            await self._flush_pending(record)
            for key, sensitive in bundles.items():
                problems += await self._load_bundle(key, sensitive)
        except KeyringUnavailable as exc:
            problems.append(f"Keyring: {exc}; values not read yet need setup.")
            self._unreadable = f"needs setup: keyring locked ({exc})"
        finally:
            self._loading = False
        return problems

    async def _load_bundle(self, key: Key, sensitive: frozenset[str]) -> list[str]:
        """Read this bundle's keyring items; move its file-stored secrets into the keyring."""
        assert self._vault is not None and self._record is not None
        vault, service = self._vault, self._record.service
        ws_id, server_name = key
        path = self.path(ws_id, server_name)
        async with self._locks.hold(path):
            try:
                stored = _read_map(path)
            except DataError:
                return []  # reported by scan(); never rewritten
            held = {k: v[MARKER] for k, v in stored.items() if is_marker(v)}
            plain = {k: v for k, v in stored.items() if k in sensitive and not is_marker(v)}
            if not held and not plain:
                return []

            def work(ticket: Ticket) -> tuple[dict[str, Any], list[str]]:
                values: dict[str, Any] = {}
                gone: list[str] = []
                for k, svc in held.items():
                    value = vault.get(svc, item_name(ws_id, server_name, k))
                    if value is None:
                        gone.append(k)
                    else:
                        values[k] = value
                for k, value in plain.items():
                    vault.set(service, item_name(ws_id, server_name, k), value)
                    values[k] = value
                if plain:
                    ticket.commit(
                        lambda: _apply(path, {k: marker(service) for k in plain}, expect=stored)
                    )
                return values, gone

            values, gone = await self._vault.run(work, f"reading {server_name}'s values")
            self._cache[key] = values
            if plain:
                log.info("moved %d secret(s) of %s in %s into the keyring", len(plain), *key[::-1])
            return [
                f"{server_name} in {ws_id}: the keyring has no value for {k!r} "
                "(removed outside the console?); set it again in Configure…"
                for k in gone
            ]

    async def _commit_keyring(
        self, path: Path, key: Key, merged: dict[str, Any | None], sensitive: set[str]
    ) -> dict[str, Any]:
        """One group commit with the keyring: items first, then the file; rolled back on error."""
        assert self._vault is not None and self._record is not None
        vault, service = self._vault, self._record.service
        ws_id, server_name = key
        before = dict(self._cache.get(key, {}))
        to_set = {k: v for k, v in merged.items() if k in sensitive and v is not None}
        file_changes: dict[str, Any | None] = {
            k: (marker(service) if k in to_set else v) for k, v in merged.items()
        }

        def work(ticket: Ticket) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            current = _read_map(path)  # corrupt: raise before touching the keyring
            written: list[str] = []
            try:
                for k, value in to_set.items():
                    vault.set(service, item_name(ws_id, server_name, k), value)
                    written.append(k)
                # Visible to spawns before the file says "marker" (GIL-atomic swap).
                self._cache[key] = {**before, **to_set}
                stored = ticket.commit(lambda: _apply(path, file_changes))
            except BaseException:
                self._cache[key] = before
                _restore(vault, service, ws_id, server_name, written, before)
                raise
            stale = [
                (v[MARKER], item_name(ws_id, server_name, k))
                for k, v in current.items()
                if is_marker(v) and not is_marker(stored.get(k))
            ]
            self._cache[key] = {
                k: v for k, v in self._cache[key].items() if is_marker(stored.get(k))
            }
            return stored, stale

        try:
            stored, stale = await vault.run(work, f"saving {server_name}'s values")
        except KeyringUnavailable as exc:
            raise KeyringUnavailable(
                f"Not saved: {exc}. Nothing was changed; the bundle keeps its previous values."
            ) from None
        except OSError as exc:
            raise DataError(path, f"cannot be written ({exc.strerror or exc})") from exc
        if stale:
            await self._delete_items(stale)
        return stored

    async def _forget(self, key: Key, items: list[tuple[str, str]]) -> None:
        self._cache.pop(key, None)
        if items:
            await self._delete_items(items)

    async def _delete_items(self, items: list[tuple[str, str]]) -> None:
        """Delete keyring items; those that cannot go now are retried at the next open."""
        vault = self._vault

        def work(_t: Ticket) -> None:
            assert vault is not None
            for service, name in items:
                vault.delete(service, name)

        try:
            if vault is None:
                raise KeyringUnavailable(self._unreadable or "the keyring is not in use")
            await vault.run(work, "deleting keyring items")
        except KeyringUnavailable as exc:
            log.warning("%d keyring item(s) left for the next open: %s", len(items), exc)
            if self._record is None:
                return
            self._record.pending.extend(i for i in items if i not in self._record.pending)
            with contextlib.suppress(DataError):
                await _write(self._record.path, self._record.save)

    async def _flush_pending(self, record: SecretsRecord) -> None:
        if not record.pending:
            return
        items, record.pending = list(record.pending), []
        await _write(record.path, record.save)
        await self._delete_items(items)

    async def move_to_file(self, bundles: Mapping[Key, frozenset[str]]) -> int:
        """Put every keyring-held value back in its 0600 file, then delete the items.

        Loses nothing: a file is rewritten (atomically) with its values before any
        item of it is deleted, and a value that cannot be read stops the move.
        Returns how many values moved. The choice is recorded: later opens keep
        the file until :meth:`move_to_keyring`.
        """
        if self._vault is None or self._record is None:
            if self._unreadable is not None:
                raise KeyringUnavailable(f"Cannot move: {self._unreadable}.")
            if self.secrets.store == "file" and self._record is not None:
                return 0
            raise KeyringUnavailable("Cannot move: the keyring store is not in use.")
        moved = 0
        for key in bundles:
            path = self.path(*key)
            async with self._locks.hold(path):
                stored = _read_map(path)
                held = [k for k, v in stored.items() if is_marker(v)]
                if not held:
                    continue
                cached = self._cache.get(key, {})
                unknown = [k for k in held if k not in cached]
                if unknown:
                    raise KeyringUnavailable(
                        f"Cannot move {key[1]} in {key[0]}: the keyring has no value for "
                        f"{', '.join(unknown)}. Set or clear it first; nothing was moved for it."
                    )
                values = {k: cached[k] for k in held}
                await _write(path, _apply, path, values)
                self._cache.pop(key, None)
                items = [(stored[k][MARKER], item_name(*key, k)) for k in held]
                await self._delete_items(items)
                moved += len(held)
        self._record.store = "file"
        await _write(self._record.path, self._record.save)
        self._vault.close()
        self._vault = None
        self.secrets = SecretsStatus("file", "moved to the file by `secrets move-to-file`")
        return moved

    async def move_to_keyring(
        self, bundles: Mapping[Key, frozenset[str]], *, timeout: float = 5.0
    ) -> list[str]:
        """Undo :meth:`move_to_file`: use the keyring again and migrate the files into it."""
        if self._vault is not None:
            return []
        record = self._record or SecretsRecord.load(self._paths.root / "secrets.json")
        self._record, record.store = record, None
        problems = await self._attach_keyring(record, bundles, timeout)
        if self._vault is None:
            raise KeyringUnavailable(f"Cannot move: {self.secrets.reason}.")
        return problems

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()

    def scan(self, ws_id: str) -> list[str]:
        """Problems with this workspace's credential files (for Host.load_errors)."""
        directory = self._paths.credentials_dir(ws_id)
        try:
            refuse_links(directory, self._paths.root)  # never chmod what a link points at
        except DataError as exc:
            return [str(exc)]
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


def _apply(
    path: Path, changes: Mapping[str, Any | None], expect: dict[str, Any] | None = None
) -> dict[str, Any]:
    current = _read_map(path)  # raises on corruption: nothing is written
    if expect is not None and current != expect:
        raise DataError(path, "changed while it was being migrated; try again")
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    # Only the credentials dir is created: if the workspace dir is gone (deleted
    # while we waited), this fails instead of resurrecting it.
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    _refuse_links(path)
    ensure_dir(path.parent, PRIVATE_DIR_MODE)
    atomic_write_json(path, current, mode=PRIVATE_FILE_MODE)
    return current


def _refuse_links(path: Path) -> None:
    """A credentials folder or file that is a symlink is never written through (nor
    chmod-ed: that changed the mode of whatever the link pointed at)."""
    refuse_links(path, path.parents[3])  # <data>/workspaces/<ws>/credentials/<file>


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


def _held_items(path: Path, ws_id: str, server_name: str) -> list[tuple[str, str]]:
    """(service, item name) of every keyring-held value of this file ([] if unreadable)."""
    try:
        stored = _read_map(path)
    except DataError:
        return []
    return [
        (v[MARKER], item_name(ws_id, server_name, k)) for k, v in stored.items() if is_marker(v)
    ]


def _restore(
    vault: KeyringVault,
    service: str,
    ws_id: str,
    server_name: str,
    written: list[str],
    before: Mapping[str, Any],
) -> None:
    """Best effort, on a failed save: put back the items it already overwrote."""
    for k in written:
        try:
            if k in before:
                vault.set(service, item_name(ws_id, server_name, k), before[k])
            else:
                vault.delete(service, item_name(ws_id, server_name, k))
        except KeyringUnavailable:
            log.warning("could not roll back the keyring item of %s/%s/%s", ws_id, server_name, k)
