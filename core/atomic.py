"""Crash-safe file writes and honest reads for everything under the data dir.

A write goes to a temp file in the same directory, is fsynced, renamed over the
target and the directory is fsynced, so a crash leaves either the old or the
new content, never a torn file. Reads turn every failure into a
:class:`~core.errors.DataError` that names the file, and never "repair" it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from core.errors import DataError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: Why a path under the data dir was refused: the same sentence wherever a link is met.
LINK_REFUSED = (
    "is a symbolic link; the console never writes through a link it did not create. Remove it."
)
#: The temp files atomic_write_bytes creates: ``.<target name>.<mkstemp's 8 chars>.tmp``.
_TEMP_RE = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def fsync_dir(path: Path) -> None:
    """Persist a rename/unlink in ``path``; a no-op where directories can't be opened."""
    if os.name == "nt":  # pragma: no cover - Windows has no directory fsync
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def find_link(path: Path, root: Path) -> Path | None:
    """The first of ``path`` and its parents below ``root`` that is a symlink, or None.

    Checked with ``lstat`` from ``root`` down, never following a link; ``root``
    itself (the data dir, which an administrator may well have linked) is not
    checked, nor is anything past the first component that does not exist.
    """
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise ValueError(f"{path} is not under {root}") from None
    current = root
    for part in parts:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return current
        except (FileNotFoundError, NotADirectoryError):
            return None  # nothing further down exists to be followed
        except PermissionError:
            # A folder we may not search: nothing below it can be reached, so not
            # written through either; the read or write itself says what is wrong.
            return None
    return None


def refuse_links(path: Path, root: Path) -> None:
    """Raise :class:`DataError` naming the first symlink on the way from ``root`` to ``path``.

    The console never creates a link in the data dir, so one it meets was made by
    someone else; writing, chmod-ing or deleting through it would touch whatever
    it points at, outside the data dir. Every write under the data dir calls this
    (or opens with ``O_NOFOLLOW``) instead of a check of its own.
    """
    link = find_link(path, root)
    if link is not None:
        raise DataError(link, LINK_REFUSED)


def ensure_private_dir(path: Path, root: Path, mode: int = PRIVATE_DIR_MODE) -> Path:
    """Create ``path`` (and parents) below ``root`` with ``mode``, refusing any symlink on the way.

    Checked before (so nothing is created through a link) and after (a link that
    appeared meanwhile is caught before anything is written into it).
    """
    refuse_links(path, root)
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    refuse_links(path, root)
    return path


def ensure_dir(path: Path, mode: int | None = None) -> Path:
    """Create ``path`` (and parents); enforce ``mode`` on the leaf when given."""
    path.mkdir(parents=True, exist_ok=True)
    if mode is not None and os.name != "nt":
        if (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically; the file gets ``mode`` before it appears."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


def remove_stale_temps(directory: Path, root: Path | None = None) -> list[Path]:
    """Delete the temp files of atomic writes that a crash interrupted in ``directory``.

    Such a file was never renamed into place, so it holds no data anyone reads,
    but it may hold a secret (a credentials write). Call it only when no write can
    be in flight there (the console at start-up). Returns what was removed.

    With ``root`` (the data dir), a ``directory`` reached through a symlink below
    it raises :class:`DataError` naming the link: the files there are not ours.
    """
    if root is not None:
        refuse_links(directory, root)
    removed: list[Path] = []
    # Best effort, never an error: a folder we cannot list (missing, wrong
    # permissions) is reported by whoever reads its files, with the file named.
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if _TEMP_RE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
        if removed:
            fsync_dir(directory)
    return removed


def atomic_write_json(path: Path, obj: Any, *, mode: int = 0o644) -> None:
    """Serialise ``obj`` (sorted, indented: diff-friendly) and write it atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def remove_file(path: Path) -> bool:
    """Unlink ``path`` durably; returns whether it existed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def read_json(path: Path, *, max_bytes: int | None = None) -> Any:
    """Parse ``path`` as UTF-8 JSON; any failure is a DataError naming the file."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise DataError(path, f"file is larger than {max_bytes} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(path, "is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            path, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
