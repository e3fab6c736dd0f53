"""Installing and uninstalling bundles: placement, naming, safety, nothing written on failure."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.bundles import ArchiveLimits
from core.errors import InstallError, ManifestError, NotFoundError
from core.host import Host
from core.states import BundleState
from tests.core.data.bundle_factory import (
    manifest,
    snapshot,
    with_config,
    write_bundle,
    write_zip,
    zip_folder,
)
from tests.core.data.hosting import opened

CORPUS = Path(__file__).parent / "data" / "broken_manifests"
TOKEN_FIELD = {"token": {"type": "string", "title": "Token", "sensitive": True, "required": True}}


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        yield h


def entries(ws: object) -> list[str]:
    return [b.server_name for b in ws.bundles]  # type: ignore[attr-defined]


async def test_install_folder(host: Host, tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", with_config(TOKEN_FIELD), {"data/readme.txt": "hi"})
    inst = await host.install_bundle("ws_team", src)
    assert (inst.server_name, inst.ws_id, inst.state) == ("sample", "ws_team", BundleState.STOPPED)
    assert inst.needs_setup is not None and '"Token"' in inst.needs_setup
    placed = tmp_path / "data/bundles/sample-1.0.0"
    assert (placed / "data/readme.txt").read_text() == "hi"
    assert host.bundle_path("ws_team", "sample") == placed
    data = json.loads((tmp_path / "data/workspaces/ws_team/workspace.json").read_text())
    [entry] = data["bundles"]
    assert entry["server_name"] == "sample" and entry["bundle_dir"] == "bundles/sample-1.0.0"
    assert entry["version"] == "1.0.0" and entry["desired_running"] is False
    assert entry["protected"] is False
    assert not any(p.name.startswith(".staging") for p in (tmp_path / "data/bundles").iterdir())


async def test_install_mcpb_keeps_exec_bit(host: Host, tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", manifest(), {"bin/tool": "#!/bin/sh\n"})
    (src / "bin/tool").chmod(0o755)
    archive = zip_folder(src, tmp_path / "sample.mcpb")
    await host.install_bundle("ws_team", archive)
    placed = tmp_path / "data/bundles/sample-1.0.0"
    assert os.access(placed / "bin/tool", os.X_OK)
    assert not os.access(placed / "manifest.json", os.X_OK)


async def test_server_name_derivation_and_override(host: Host, tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", manifest(name="@acme/My Tool"))
    assert (await host.install_bundle("ws_team", src)).server_name == "my-tool"
    assert (await host.install_bundle("ws_team", src)).server_name == "my-tool-2"
    assert (await host.install_bundle("ws_team", src, server_name="tool")).server_name == "tool"
    with pytest.raises(InstallError, match='already has a bundle named "tool"'):
        await host.install_bundle("ws_team", src, server_name="tool")
    with pytest.raises(InstallError, match="Invalid server name"):
        await host.install_bundle("ws_team", src, server_name="../x")
    assert entries(host.workspace("ws_team")) == ["my-tool", "my-tool-2", "tool"]
    # each server name gets its <server>-<version> folder
    assert sorted(p.name for p in (tmp_path / "data/bundles").iterdir()) == [
        "my-tool-1.0.0",
        "my-tool-2-1.0.0",
        "tool-1.0.0",
    ]


async def test_identical_copy_reused_different_copy_kept_apart(host: Host, tmp_path: Path) -> None:
    other = host.create_workspace("Other")
    src = write_bundle(tmp_path / "src", manifest())
    await host.install_bundle("ws_team", src)
    await host.install_bundle(other.id, src)
    assert host.bundle_path("ws_team", "sample") == host.bundle_path(other.id, "sample")
    changed = write_bundle(tmp_path / "changed", manifest(), {"server/main.py": "print(2)\n"})
    third = host.create_workspace("Third")
    await host.install_bundle(third.id, changed)
    path = host.bundle_path(third.id, "sample")
    assert path != host.bundle_path("ws_team", "sample")
    assert path.name.startswith("sample-1.0.0-")
    assert (path / "server/main.py").read_text() == "print(2)\n"


async def test_sensitive_value_in_args_installs_with_warning(host: Host, tmp_path: Path) -> None:
    data = with_config(TOKEN_FIELD, args=["main.py", "--token", "${user_config.token}"])
    await host.install_bundle("ws_team", write_bundle(tmp_path / "src", data))
    shown = host.install_warnings("ws_team", "sample")
    # the fixture's field has no description: that is an official-schema warning too
    [warning] = [w for w in shown if not w.startswith("Official MCPB schema: ")]
    assert '"Token"' in warning and "process list" in warning
    assert host.workspace("ws_team").bundles[0].warnings == shown


async def test_in_tree_symlink_is_fine(host: Host, tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", manifest())
    (src / "link.py").symlink_to("server/main.py")
    await host.install_bundle("ws_team", src)
    placed = host.bundle_path("ws_team", "sample")
    assert os.readlink(placed / "link.py") == "server/main.py"


def _zip_with(tmp_path: Path, name: str, extra: dict[str, bytes | str]) -> Path:
    return write_zip(tmp_path / name, {"manifest.json": json.dumps(manifest()), **extra})


FAILURES = {
    "zip_slip": (
        lambda t: _zip_with(t, "slip.mcpb", {"../evil.txt": "x"}),
        "climbs out of the bundle with '..'",
    ),
    "zip_slip_nested": (
        lambda t: _zip_with(t, "slip2.mcpb", {"server/../../evil.txt": "x"}),
        "climbs out of the bundle with '..'",
    ),
    "zip_backslash_slip": (
        lambda t: _zip_with(t, "slip3.mcpb", {"..\\evil.txt": "x"}),
        "climbs out of the bundle with '..'",
    ),
    "zip_absolute": (
        lambda t: _zip_with(t, "abs.mcpb", {"/tmp/evil.txt": "x"}),
        "has an absolute path",
    ),
    "zip_drive": (
        lambda t: _zip_with(t, "drive.mcpb", {"C:/evil.txt": "x"}),
        "has an absolute path",
    ),
    "zip_symlink_escape": (
        lambda t: write_zip(
            t / "link.mcpb", {"manifest.json": json.dumps(manifest())}, {"server": "../../.."}
        ),
        "symlink 'server' points outside the bundle",
    ),
    "zip_symlink_absolute": (
        lambda t: write_zip(
            t / "link2.mcpb", {"manifest.json": json.dumps(manifest())}, {"x": "/etc/passwd"}
        ),
        "symlink 'x' points outside the bundle",
    ),
    "zip_duplicate": (
        lambda t: write_zip(
            t / "dup.mcpb", {"manifest.json": json.dumps(manifest()), "a": "1", "./a": "2"}
        ),
        "entry 'a' appears twice",
    ),
    "zip_no_manifest": (
        lambda t: write_zip(t / "nomanifest.mcpb", {"sub/manifest.json": json.dumps(manifest())}),
        "no manifest.json at the root of the archive",
    ),
    "zip_manifest_not_json": (
        lambda t: write_zip(t / "bad.mcpb", {"manifest.json": "{nope"}),
        "bad.mcpb:manifest.json: not valid JSON",
    ),
    "zip_manifest_too_big": (
        lambda t: write_zip(t / "big.mcpb", {"manifest.json": " " * (1024 * 1024 + 1)}),
        "manifest is 1048577 bytes, over the 1048576 byte limit",
    ),
    "not_a_zip": (
        lambda t: (t / "junk.mcpb").write_bytes(b"not a zip") and t / "junk.mcpb",
        "not a bundle folder or a .mcpb (zip) archive",
    ),
    "missing": (lambda t: t / "nowhere", "no such file or folder"),
    "folder_symlink_escape": (
        lambda t: (
            write_bundle(t / "f", manifest()),
            (t / "f/secret").symlink_to("/etc/passwd"),
        )[0],
        "symlink secret points outside the bundle folder",
    ),
    "folder_manifest_symlink_escape": (
        lambda t: (
            (
                (t / "f2").mkdir(),
                (t / "real.json").write_text(json.dumps(manifest())),
                (t / "f2/manifest.json").symlink_to(t / "real.json"),
            )
            and t / "f2"
        ),
        "symlink manifest.json points outside the bundle folder",
    ),
    "wrong_platform": (
        lambda t: write_bundle(
            t / "p",
            manifest(
                compatibility={"platforms": ["win32" if sys.platform != "win32" else "darwin"]}
            ),
        ),
        f"not {sys.platform}",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
async def test_failed_install_writes_nothing(host: Host, tmp_path: Path, case: str) -> None:
    make, message = FAILURES[case]
    (tmp_path / "in").mkdir()
    source = make(tmp_path / "in")
    before = snapshot(host.data_dir)
    with pytest.raises((InstallError, ManifestError)) as info:
        await host.install_bundle("ws_team", source)
    assert message in str(info.value)
    assert snapshot(host.data_dir) == before
    assert host.workspace("ws_team").bundles == []
    assert host.lifecycle.instances() == []


@pytest.mark.parametrize(
    "case", ["missing_name.json", "user_config_bad_type.json", "not_json.json"]
)
async def test_broken_manifest_as_mcpb_writes_nothing(
    host: Host, tmp_path: Path, case: str
) -> None:
    archive = write_zip(tmp_path / "b.mcpb", {"manifest.json": (CORPUS / case).read_bytes()})
    before = snapshot(host.data_dir)
    with pytest.raises(ManifestError, match=r"b\.mcpb:manifest\.json: "):
        await host.install_bundle("ws_team", archive)
    assert snapshot(host.data_dir) == before


@pytest.mark.parametrize(
    ("limits", "message", "folder_message"),
    [
        (
            ArchiveLimits(max_total_bytes=1500),
            "archive unpacks to more than 1500 bytes",
            "over the 1500 byte size limit",
        ),
        (
            ArchiveLimits(max_entry_bytes=1000),
            "over the 1000 byte per-file limit",
            "over the 1000 byte per-file limit",
        ),
        (ArchiveLimits(max_entries=2), "more than 2 entries", "more than 2 files"),
        (
            ArchiveLimits(max_manifest_bytes=100),
            "over the 100 byte limit",
            "over the 100 byte limit",
        ),
    ],
)
async def test_archive_size_limits(
    tmp_path: Path, limits: ArchiveLimits, message: str, folder_message: str
) -> None:
    archive = write_zip(
        tmp_path / "big.mcpb",
        {"manifest.json": json.dumps(manifest()), "a.bin": "a" * 1200, "b.bin": "b" * 200},
    )
    async with opened(tmp_path / "data", archive_limits=limits) as host:
        host.create_workspace("Team")
        before = snapshot(host.data_dir)
        with pytest.raises((InstallError, ManifestError), match=message):
            await host.install_bundle("ws_team", archive)
        assert snapshot(host.data_dir) == before
        # the same limits apply to a folder
        folder = tmp_path / "folder"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(folder)
        with pytest.raises((InstallError, ManifestError), match=folder_message):
            await host.install_bundle("ws_team", folder)
        assert snapshot(host.data_dir) == before


async def test_uninstall_removes_entry_credentials_and_unused_files(
    host: Host, tmp_path: Path
) -> None:
    other = host.create_workspace("Other")
    src = write_bundle(tmp_path / "src", with_config(TOKEN_FIELD))
    await host.install_bundle("ws_team", src)
    await host.install_bundle(other.id, src)
    await host.set_user_config("ws_team", "sample", {"token": "t-team"})
    await host.set_user_config(other.id, "sample", {"token": "t-other"})
    creds = tmp_path / "data/workspaces/ws_team/credentials/sample.json"
    assert creds.exists()

    await host.uninstall_bundle("ws_team", "sample")
    assert not creds.exists()
    assert host.workspace("ws_team").bundles == []
    assert host.lifecycle.get_instance("sample", "ws_team") is None
    assert (tmp_path / "data/bundles/sample-1.0.0").is_dir()  # Other still uses it
    assert host.config_status(other.id, "sample") == {"token": True}

    await host.uninstall_bundle(other.id, "sample")
    assert not (tmp_path / "data/bundles/sample-1.0.0").exists()
    with pytest.raises(
        NotFoundError, match='Bundle "sample" is not installed in workspace "Other"'
    ):
        await host.uninstall_bundle(other.id, "sample")


async def test_reinstall_does_not_inherit_stale_credentials(host: Host, tmp_path: Path) -> None:
    stale = tmp_path / "data/workspaces/ws_team/credentials/sample.json"
    stale.parent.mkdir(mode=0o700)
    stale.write_text('{"token": "left-over"}')
    await host.install_bundle("ws_team", write_bundle(tmp_path / "src", with_config(TOKEN_FIELD)))
    assert host.config_status("ws_team", "sample") == {"token": False}


async def test_protected_bundle_refuses_uninstall_unless_forced(host: Host, tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", manifest())
    inst = await host.install_bundle("ws_team", src, protected=True)
    assert inst.protected
    with pytest.raises(InstallError, match="protected"):
        await host.uninstall_bundle("ws_team", "sample")
    assert entries(host.workspace("ws_team")) == ["sample"]
    await host.uninstall_bundle("ws_team", "sample", force=True)
    assert entries(host.workspace("ws_team")) == []


async def test_unknown_workspace(host: Host, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        await host.install_bundle("ws_nope", write_bundle(tmp_path / "src", manifest()))


async def test_in_tree_symlink_in_mcpb_is_fine(host: Host, tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "link.mcpb",
        {"manifest.json": json.dumps(manifest()), "server/main.py": "print(1)\n"},
        {"server/alias.py": "main.py"},
    )
    await host.install_bundle("ws_team", archive)
    placed = host.bundle_path("ws_team", "sample")
    assert os.readlink(placed / "server/alias.py") == "main.py"
    assert (placed / "server/alias.py").read_text() == "print(1)\n"


async def test_open_removes_what_an_interrupted_install_left(tmp_path: Path) -> None:
    from core.bundles import make_staging

    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        src = write_bundle(tmp_path / "src", manifest())
        await h.install_bundle("ws_team", src)
        # What a console killed while unpacking leaves: a half-filled staging dir.
        staging = make_staging(data / "bundles")
        (staging / "content").mkdir()
        (staging / "content" / "manifest.json").write_text("{")
    async with opened(data) as h:
        assert not staging.exists()
        assert sorted(p.name for p in (data / "bundles").iterdir()) == ["sample-1.0.0"]
        assert h.bundle_path("ws_team", "sample") == data / "bundles/sample-1.0.0"
