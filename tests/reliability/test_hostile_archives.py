"""Hostile archives: checked on disk, written nowhere else, errors that name the archive.

Before: a symlink chain (``x -> e/e/e/../../..`` placed before ``e -> .``)
passed the lexical check and resolved outside the bundle after install, and
folder entries under ``x/`` were created outside; corrupt members and names the
filesystem refuses surfaced as raw errors naming the hidden staging dir; a
folder install copied a link back into the source, so the installed bundle
changed with the source.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from core.errors import InstallError
from tests.reliability.support import opened, write_bundle, ws_name
from tests.reliability.test_bad_input import VALID
from tests.reliability.test_disk_full import small_tmpfs


def link(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def outside_entries(tmp_path: Path, data: Path) -> list[Path]:
    """Anything named made-outside anywhere above the data dir's bundles."""
    return [p for p in tmp_path.rglob("made-outside*") if not str(p).startswith(str(data))]


@pytest.mark.parametrize("with_dir_under_link", [False, True])
async def test_a_symlink_chain_is_refused_and_writes_nothing_outside(
    tmp_path: Path, tag: str, with_dir_under_link: bool
) -> None:
    archive = tmp_path / "deep" / "er" / "chain.mcpb"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("manifest.json", VALID)
        zf.writestr("server.py", "print()\n")
        link(zf, "x", "e/e/e/../../..")
        link(zf, "e", ".")
        if with_dir_under_link:
            zf.writestr(zipfile.ZipInfo("x/made-outside/"), b"")
    data = tmp_path / "deep" / "er" / "data"
    async with opened(data, tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        with pytest.raises(InstallError) as info:
            await host.install_bundle(ws, archive)
        assert str(archive) in str(info.value) and ".staging" not in str(info.value)
        assert host.workspace(ws).bundles == []
        assert list((data / "bundles").glob("*")) == [] if (data / "bundles").exists() else True
    assert outside_entries(tmp_path, data / "bundles") == []


async def test_corrupt_members_and_long_names_name_the_archive(tmp_path: Path, tag: str) -> None:
    corrupt = tmp_path / "crc.mcpb"
    with zipfile.ZipFile(corrupt, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", VALID)
        zf.writestr("server.py", b"A" * 100)
    raw = corrupt.read_bytes()
    corrupt.write_bytes(raw.replace(b"A" * 100, b"A" * 50 + b"B" + b"A" * 49))
    long_name = tmp_path / "long.mcpb"
    with zipfile.ZipFile(long_name, "w") as zf:
        zf.writestr("manifest.json", VALID)
        zf.writestr("server/" + "n" * 300 + ".py", b"x")
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        for archive, needle in ((corrupt, "damaged archive"), (long_name, "too long")):
            with pytest.raises(InstallError) as info:
                await host.install_bundle(ws, archive)
            text = str(info.value)
            assert text.startswith(f"{archive}: ") and needle in text, text
            assert ".staging" not in text
        assert list(host.paths.bundles_dir.glob(".staging-*")) == []


async def test_a_folder_install_is_a_self_contained_copy(tmp_path: Path, tag: str) -> None:
    src = write_bundle(tmp_path / "src")
    (src / "data.txt").write_text("v1\n")
    (src / "alias.txt").symlink_to(src / "data.txt")  # absolute, back into the source
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, src, server_name="svc")
        installed = host.bundle_path(ws, "svc")
        (src / "data.txt").write_text("v2 changed in the source\n")
        assert (installed / "alias.txt").read_text() == "v1\n"
        assert not os.path.isabs(os.readlink(installed / "alias.txt"))


async def test_a_disk_full_install_says_so_and_leaves_nothing(tmp_path: Path, tag: str) -> None:
    src = write_bundle(tmp_path / "src")
    (src / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    with small_tmpfs(tmp_path / "mnt", "2m") as mnt:
        async with opened(mnt / "data", tag) as host:
            ws = host.create_workspace(ws_name(tag)).id
            with pytest.raises(InstallError) as info:
                await host.install_bundle(ws, src)
            assert str(info.value) == (
                f"{src}: not enough disk space to install it. Free some space and try again."
            )
            assert host.workspace(ws).bundles == []
            bundles_dir = host.paths.bundles_dir
            assert not bundles_dir.exists() or list(bundles_dir.iterdir()) == []
