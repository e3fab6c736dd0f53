"""Installing bundle files: inspect a folder or ``.mcpb`` zip, stage it, place it.

Everything that can reject a bundle (manifest, archive safety, platform) is
checked *before* the first byte is written. Staging happens in a hidden temp
dir beside ``<data>/bundles`` and is renamed into place, so a failed install
leaves nothing behind and a half-copied bundle is never visible.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from core.atomic import fsync_dir, refuse_links
from core.errors import InstallError, ManifestError, SignatureError
from core.launch import sensitive_arg_warnings, unknown_placeholders
from core.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, Manifest, load_manifest, parse_manifest
from core.paths import bundle_dir_name, slugify, validate_server_name
from core.signatures import UNSIGNED, SignatureInfo, open_signed_zip

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

IGNORED_NAMES = frozenset({"__pycache__", ".DS_Store"})
#: what a folder install leaves behind: byte-code is copied (a python bundle's
#: vendored server/lib ships it, and the installed folder is read-only to the
#: bundle), though it never counts in the content digest
NOT_COPIED = frozenset({".DS_Store"})
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps that keep a hostile or broken bundle from filling the disk."""

    max_total_bytes: int = 512 * 1024 * 1024
    max_entry_bytes: int = 256 * 1024 * 1024
    max_entries: int = 20_000
    max_manifest_bytes: int = MAX_MANIFEST_BYTES


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True)
class Inspected:
    """A source that passed every check; ``members`` is set for zips."""

    source: Path
    manifest: Manifest
    is_zip: bool
    members: tuple[tuple[zipfile.ZipInfo, str], ...] = ()
    #: what the ``mcpb sign`` block says (folders are always unsigned)
    signature: SignatureInfo = UNSIGNED
    #: a signed .mcpb: only these leading bytes (the signed zip) are ever read
    zip_length: int | None = None


def derive_server_name(manifest_name: str, taken: set[str]) -> str:
    """``@scope/My Tool`` -> ``my-tool``, then ``my-tool-2``... if the workspace has it."""
    name = manifest_name
    if name.startswith("@") and "/" in name:
        name = name.split("/", 1)[1]
    base = slugify(name)[:58] or "bundle"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return validate_server_name(candidate)


def install_warnings(manifest: Manifest) -> list[str]:
    """Things worth telling the administrator that do not block the install."""
    schema = [f"Official MCPB schema: {line}." for line in manifest.warnings]
    return sensitive_arg_warnings(manifest) + unknown_placeholders(manifest) + schema


def check_platform(manifest: Manifest, source: Path, platform: str | None = None) -> None:
    platform = platform or sys.platform
    compat = manifest.compatibility
    if compat and compat.platforms is not None and platform not in compat.platforms:
        supported = ", ".join(compat.platforms) or "no platform"
        raise InstallError(f"{source}: {manifest.label} supports {supported}, not {platform}.")


def _check_folder_manifest_size(source: Path, limits: ArchiveLimits) -> None:
    """The archive's manifest cap applies to a folder's too (load_manifest has a fixed one)."""
    path = source / MANIFEST_NAME
    try:
        size = path.stat().st_size
    except OSError:
        return  # load_manifest says what is wrong
    if size > limits.max_manifest_bytes:
        raise ManifestError(
            str(path),
            [f"{path}: manifest is {size} bytes, over the {limits.max_manifest_bytes} byte limit"],
        )


def inspect_source(
    source: Path,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    roots: Sequence[Certificate] = (),
    *,
    allow_invalid_signature: bool = False,
) -> Inspected:
    """Validate a folder or .mcpb without writing anything; raises InstallError/ManifestError.

    A .mcpb's signature is checked first, against ``roots``: one that does not
    match raises :class:`SignatureError` before the archive is even read, unless
    ``allow_invalid_signature`` (then it is reported in ``signature``).
    """
    if source.is_dir():
        _check_folder(source, limits)
        _check_folder_manifest_size(source, limits)
        manifest = load_manifest(source)
        check_platform(manifest, source)
        return Inspected(source, manifest, is_zip=False)
    if not source.exists():
        raise InstallError(f"{source}: no such file or folder.")
    if not zipfile.is_zipfile(source):
        raise InstallError(f"{source}: not a bundle folder or a .mcpb (zip) archive.")
    from core.signatures.verify import verify_file  # cryptography: only when installing

    signature, zip_length = verify_file(source, roots)
    if signature.status == "invalid" and not allow_invalid_signature:
        raise SignatureError(
            f"{source}: the signature does not match: {signature.problem}. "
            "The bundle was refused. Install it only if you trust where it came "
            "from, by confirming the override (allow_invalid_signature)."
        )
    try:
        with open_signed_zip(source, zip_length) as handle, zipfile.ZipFile(handle) as zf:
            members = _check_zip(zf, source, limits)
            manifest = _zip_manifest(zf, source, members, limits)
    except zipfile.BadZipFile as exc:
        raise InstallError(f"{source}: damaged archive ({exc}).") from exc
    check_platform(manifest, source)
    return Inspected(
        source,
        manifest,
        is_zip=True,
        members=tuple(members),
        signature=signature,
        zip_length=zip_length,
    )


def _check_folder(root: Path, limits: ArchiveLimits) -> None:
    real_root = os.path.realpath(root)
    total = count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in NOT_COPIED]  # what will be copied
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            count += 1
            if count > limits.max_entries:
                raise InstallError(f"{root}: more than {limits.max_entries} files.")
            if os.path.islink(path):
                if not _inside(os.path.realpath(path), real_root):
                    raise InstallError(f"{root}: symlink {rel} points outside the bundle folder.")
                continue
            if name in filenames:
                size = os.lstat(path).st_size
                if size > limits.max_entry_bytes:
                    raise InstallError(
                        f"{root}: {rel} is {size} bytes, over the {limits.max_entry_bytes}"
                        " byte per-file limit."
                    )
                total += size
                if total > limits.max_total_bytes:
                    raise InstallError(
                        f"{root}: bundle is over the {limits.max_total_bytes} byte size limit."
                    )


def _check_zip(
    zf: zipfile.ZipFile, source: Path, limits: ArchiveLimits
) -> list[tuple[zipfile.ZipInfo, str]]:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise InstallError(f"{source}: more than {limits.max_entries} entries.")
    members: list[tuple[zipfile.ZipInfo, str]] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        raw = info.filename
        name = raw.replace("\\", "/")
        if name.startswith("/") or PureWindowsPath(name).drive:
            raise InstallError(f"{source}: entry {raw!r} has an absolute path.")
        parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
        if ".." in parts:
            raise InstallError(f"{source}: entry {raw!r} climbs out of the bundle with '..'.")
        if not parts:
            continue
        rel = "/".join(parts)
        if rel in seen:
            raise InstallError(f"{source}: entry {rel!r} appears twice.")
        seen.add(rel)
        if info.flag_bits & 0x1:
            raise InstallError(f"{source}: entry {rel!r} is encrypted.")
        if info.file_size > limits.max_entry_bytes:
            raise InstallError(
                f"{source}: entry {rel!r} unpacks to {info.file_size} bytes, over the"
                f" {limits.max_entry_bytes} byte per-file limit."
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise InstallError(
                f"{source}: archive unpacks to more than {limits.max_total_bytes} bytes."
            )
        if _is_symlink(info):
            target = zf.read(info)[:4096].decode("utf-8", "replace")
            resolved = PurePosixPath(os.path.normpath(os.path.join(os.path.dirname(rel), target)))
            if (
                target.startswith("/")
                or PureWindowsPath(target).drive
                or resolved.parts[:1] == ("..",)
            ):
                raise InstallError(f"{source}: symlink {rel!r} points outside the bundle.")
        members.append((info, rel))
    return members


def _zip_manifest(
    zf: zipfile.ZipFile,
    source: Path,
    members: list[tuple[zipfile.ZipInfo, str]],
    limits: ArchiveLimits,
) -> Manifest:
    label = f"{source}:{MANIFEST_NAME}"
    info = next((i for i, rel in members if rel == MANIFEST_NAME), None)
    if info is None or info.is_dir() or _is_symlink(info):
        raise ManifestError(label, [f"{label}: no manifest.json at the root of the archive"])
    if info.file_size > limits.max_manifest_bytes:
        raise ManifestError(
            label,
            [
                f"{label}: manifest is {info.file_size} bytes, over the"
                f" {limits.max_manifest_bytes} byte limit"
            ],
        )
    with zf.open(info) as handle:
        raw = handle.read(limits.max_manifest_bytes + 1)
    return parse_manifest(raw, label)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def stage(inspected: Inspected, staging: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Path:
    """Copy/unpack the bundle into ``staging/content`` and return that path.

    Any failure (disk full, a name the filesystem refuses, a corrupt member) is an
    InstallError naming the source, never a raw OSError naming the hidden staging dir.
    """
    content = staging / "content"
    try:
        if inspected.is_zip:
            content.mkdir()
            with (
                open_signed_zip(inspected.source, inspected.zip_length) as handle,
                zipfile.ZipFile(handle) as zf,
            ):
                links: list[tuple[str, str]] = []
                for info, rel in inspected.members:
                    if _is_symlink(info):
                        links.append((rel, zf.read(info).decode("utf-8", "replace")))
                    else:
                        _extract(zf, info, rel, content, limits)
                _place_links(content, links)
        else:
            _copy_folder(inspected.source, content)
    except InstallError as exc:
        raise InstallError(f"{inspected.source}: {exc}") from None
    except OSError as exc:
        raise InstallError(_os_problem(inspected.source, exc)) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InstallError(f"{inspected.source}: damaged archive ({exc}).") from None
    return content


def _os_problem(source: Path, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{source}: not enough disk space to install it. Free some space and try again."
    if exc.errno == errno.ENAMETOOLONG:
        return f"{source}: a file or folder name in it is too long for this filesystem."
    return f"{source}: cannot be unpacked ({exc.strerror or exc})."


def _place_links(root: Path, links: list[tuple[str, str]]) -> None:
    """Create symlinks after every file and folder, then check them on disk.

    Nothing is ever written through a link (they come last), and a chain such as
    ``x -> e/e/e/../../..`` with ``e -> .`` passes a check of the names but
    resolves outside: the resolved path on disk is what decides.
    """
    real_root = os.path.realpath(root)
    for rel, target in links:
        dest = root.joinpath(*rel.split("/"))
        parent = dest.parent
        parent.mkdir(parents=True, exist_ok=True)
        if not _inside(os.path.realpath(parent), real_root) or parent.is_symlink():
            raise InstallError(f"{rel!r} would be written outside the bundle.")
        os.symlink(target, dest)
    for rel, _target in links:
        dest = root.joinpath(*rel.split("/"))
        if not _inside(os.path.realpath(dest), real_root):
            raise InstallError(f"symlink {rel!r} points outside the bundle.")


def _copy_folder(source: Path, content: Path) -> None:
    """Copy a bundle folder as a self-contained tree.

    A link into the source folder is re-made relative to the copy (an absolute
    link back into the source would make the installed bundle change with it).
    """
    real_source = os.path.realpath(source)
    links: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d not in NOT_COPIED]
        rel_dir = os.path.relpath(dirpath, source)
        (content / rel_dir).mkdir(exist_ok=True)
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(path):
                resolved = os.path.relpath(os.path.realpath(path), real_source)
                links.append((rel.replace(os.sep, "/"), os.path.relpath(resolved, rel_dir)))
                continue
            if name in filenames:
                shutil.copy2(path, content / rel, follow_symlinks=False)
    dirs_that_are_links = {rel for rel, _ in links}
    for rel in dirs_that_are_links:  # os.walk listed linked dirs in dirnames: not copied
        with contextlib.suppress(OSError):
            (content / rel).rmdir()
    _place_links(content, links)


def _extract(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, root: Path, limits: ArchiveLimits
) -> None:
    dest = root.joinpath(*rel.split("/"))
    if info.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    real_root = os.path.realpath(root)
    if not _inside(os.path.realpath(dest.parent), real_root):
        raise InstallError(f"{rel!r} would be written outside the bundle.")
    written = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with zf.open(info) as src, os.fdopen(os.open(dest, flags, 0o644), "wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > limits.max_entry_bytes:
                raise InstallError(f"entry {rel!r} unpacks to more than its declared size.")
            out.write(chunk)
    mode = (info.external_attr >> 16) & 0o777
    dest.chmod(0o755 if mode & 0o111 else 0o644)


def tree_digest(root: Path) -> str:
    """Content hash of a bundle folder (paths, bytes, link targets; caches ignored)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for name in sorted(dirnames + filenames):
            if name in IGNORED_NAMES or name.endswith(".pyc"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                digest.update(b"L\0" + rel.encode() + b"\0" + os.readlink(path).encode() + b"\0")
            elif os.path.isfile(path):
                digest.update(b"F\0" + rel.encode() + b"\0")
                with open(path, "rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                digest.update(b"\0")
            elif name in dirnames:
                digest.update(b"D\0" + rel.encode() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Placed:
    dir_name: str  # under <data>/bundles
    created: bool  # False when an identical copy was reused


def place(content: Path, bundles_dir: Path, server_name: str, version: str) -> Placed:
    """Move staged content to ``bundles/<server>-<version>``; reuse an identical copy."""
    base = bundle_dir_name(server_name, version)
    digest = tree_digest(content)
    for name in (base, f"{base}-{digest[:8]}"):
        target = bundles_dir / name
        if target.exists():
            if tree_digest(target) == digest:
                return Placed(name, created=False)
            continue
        os.rename(content, target)
        fsync_dir(bundles_dir)
        return Placed(name, created=True)
    raise InstallError(f"{bundles_dir / base}: a different bundle already uses this folder.")


def make_staging(bundles_dir: Path) -> Path:
    """A fresh staging folder in ``bundles/``; a symlinked ``bundles/`` is refused, named."""
    refuse_links(bundles_dir, bundles_dir.parent)
    bundles_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=bundles_dir))


def remove_stale_staging(bundles_dir: Path) -> list[Path]:
    """Remove the staging dirs of installs a killed console never finished.

    Only safe while no install runs: ``Host.open`` calls it under the data-dir lock.
    A symlinked ``bundles/`` raises :class:`DataError` naming it.
    """
    removed: list[Path] = []
    refuse_links(bundles_dir, bundles_dir.parent)  # its .staging-* would not be ours
    if not bundles_dir.is_dir():
        return removed
    for path in bundles_dir.glob(".staging-*"):
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
            removed.append(path)
    return removed


def remove_tree(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)
