"""Workspaces: ids, names, persistence, and what a corrupt workspace.json does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import NotFoundError, WorkspaceError
from core.host import Host
from core.paths import DataPaths
from core.workspaces import WorkspaceStore, derive_id
from tests.core.data.bundle_factory import manifest, snapshot, write_bundle
from tests.core.data.hosting import opened


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        yield h


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Demo", "ws_demo"),
        ("  Team  Alpha! ", "ws_team_alpha"),
        ("Été 2024", "ws_ete_2024"),
        ("日本", "ws_workspace"),
        ("x" * 200, "ws_" + "x" * 58),
    ],
)
def test_derive_id(name: str, expected: str) -> None:
    assert derive_id(name, set()) == expected


def test_derive_id_is_unique() -> None:
    assert derive_id("Demo", {"ws_demo", "ws_demo_2"}) == "ws_demo_3"


async def test_create_rename_persist(host: Host, tmp_path: Path) -> None:
    ws = host.create_workspace("Demo")
    again = host.create_workspace("Demo!")  # another name with the same slug
    assert (ws.id, ws.name, ws.bundles) == ("ws_demo", "Demo", [])
    assert again.id == "ws_demo_2"
    renamed = host.rename_workspace("ws_demo", "Production")
    assert renamed.id == "ws_demo" and renamed.name == "Production"
    data = json.loads((tmp_path / "data/workspaces/ws_demo/workspace.json").read_text())
    assert data["name"] == "Production" and data["id"] == "ws_demo"
    assert [w.name for w in host.workspaces()] == ["Demo!", "Production"]
    # callers get copies: mutating one changes nothing
    host.workspaces()[0].name = "hacked"
    assert {w.name for w in host.workspaces()} == {"Demo!", "Production"}


async def test_names_are_unique_ignoring_case_and_spaces(host: Host, tmp_path: Path) -> None:
    host.create_workspace("Demo")
    for clash in ("demo", "  DEMO ", "Demo"):
        with pytest.raises(WorkspaceError, match=r'A workspace named "Demo" already exists'):
            host.create_workspace(clash)
    team = host.create_workspace("Team  Alpha")
    with pytest.raises(WorkspaceError, match="already exists"):
        host.create_workspace(" team alpha")
    with pytest.raises(WorkspaceError, match="already exists"):
        host.rename_workspace(team.id, "DEMO")
    assert host.rename_workspace(team.id, "team alpha").name == "team alpha"  # itself is fine
    with pytest.raises(WorkspaceError, match="non-empty name"):
        host.rename_workspace(team.id, "   ")
    assert sorted(w.name for w in host.workspaces()) == ["Demo", "team alpha"]
    assert len(list((tmp_path / "data/workspaces").iterdir())) == 2  # nothing half-created


async def test_protect_persists_and_guards_restart_and_uninstall(
    host: Host, tmp_path: Path
) -> None:
    ws = host.create_workspace("Prod")
    src = write_bundle(tmp_path / "src", manifest())
    inst = await host.install_bundle(ws.id, src)
    name = inst.server_name
    assert host.set_protected(ws.id, name, True).protected is True
    assert host.lifecycle.get_instance(name, ws.id).protected
    data = json.loads((tmp_path / f"data/workspaces/{ws.id}/workspace.json").read_text())
    assert data["bundles"][0]["protected"] is True
    refused = await host.lifecycle.respawn_bundle(name, ws.id)
    assert not refused.ok and refused.outcome == "protected"
    with pytest.raises(Exception, match="protected"):
        await host.uninstall_bundle(ws.id, name)
    assert host.set_protected(ws.id, name, False).protected is False
    assert not host.lifecycle.get_instance(name, ws.id).protected
    with pytest.raises(NotFoundError):
        host.set_protected(ws.id, "nope", True)
    await host.uninstall_bundle(ws.id, name)


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 101])
async def test_bad_names(host: Host, name: object) -> None:
    with pytest.raises(WorkspaceError):
        host.create_workspace(name)  # type: ignore[arg-type]


async def test_unknown_and_invalid_ids(host: Host) -> None:
    with pytest.raises(NotFoundError, match=r'Workspace "ws_nope" does not exist\.'):
        host.rename_workspace("ws_nope", "x")
    with pytest.raises(WorkspaceError, match="Invalid workspace id"):
        await host.delete_workspace("../etc")


async def test_delete_removes_folder_and_credentials(host: Host, tmp_path: Path) -> None:
    ws = host.create_workspace("Temp")
    keep = host.create_workspace("Keep")
    src = write_bundle(
        tmp_path / "src",
        manifest(user_config={"token": {"type": "string", "title": "Token", "sensitive": True}}),
    )
    await host.install_bundle(ws.id, src)
    await host.install_bundle(keep.id, src)
    await host.set_user_config(ws.id, "sample", {"token": "abc"})
    await host.delete_workspace(ws.id)
    assert not (tmp_path / "data/workspaces" / ws.id).exists()
    assert [w.id for w in host.workspaces()] == [keep.id]
    assert host.lifecycle.get_instance("sample", ws.id) is None
    assert (tmp_path / "data/bundles/sample-1.0.0").is_dir()  # Keep still uses it


async def test_corrupt_workspace_is_reported_skipped_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data) as host:
        host.create_workspace("Good")
        host.create_workspace("Bad")
    bad = data / "workspaces/ws_bad/workspace.json"
    bad.write_text('{"id": "ws_bad", "name": ')
    before = snapshot(data / "workspaces")
    async with opened(data) as host:
        assert [w.id for w in host.workspaces()] == ["ws_good"]
        [error] = host.load_errors
        assert error.startswith(f"{bad}: is not valid JSON")
        # the broken id stays taken: a new "Bad" never overwrites the kept file
        assert host.create_workspace("Bad").id == "ws_bad_2"
    assert bad.read_bytes() == before["ws_bad/workspace.json"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"id": "ws_other", "name": "X"}', "says id 'ws_other' but lives in folder 'ws_x'"),
        ('{"id": "ws_x"}', "is not a valid workspace file (name: Field required)"),
        ("[]", "is not a JSON object"),
        (
            '{"id": "ws_x", "name": "X", "bundles": [{"server_name": "a", '
            '"bundle_dir": "bundles/../../etc", "version": "1"}]}',
            "Invalid bundle location",
        ),
        (
            '{"id": "ws_x", "name": "X", "bundles": [{"server_name": "../a", '
            '"bundle_dir": "bundles/a-1", "version": "1"}]}',
            "Invalid server name",
        ),
    ],
)
def test_invalid_workspace_files(tmp_path: Path, content: str, problem: str) -> None:
    folder = tmp_path / "workspaces/ws_x"
    folder.mkdir(parents=True)
    (folder / "workspace.json").write_text(content)
    workspaces, errors = WorkspaceStore(DataPaths(tmp_path)).load_all()
    assert workspaces == {}
    [error] = errors
    assert error.startswith(str(folder / "workspace.json")) and problem in error
