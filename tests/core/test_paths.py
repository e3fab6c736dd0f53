"""Data-dir resolution and the id/name rules that keep every path inside it."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from core.errors import WorkspaceError
from core.paths import (
    HOME_ENV,
    DataPaths,
    bundle_dir_name,
    resolve_data_dir,
    validate_server_name,
    validate_ws_id,
)


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv(HOME_ENV)
    expected = Path(platformdirs.user_data_dir("bundle-console", appauthor=False))
    assert resolve_data_dir() == expected


@pytest.mark.parametrize("ws_id", ["ws_demo", "ws_a1_b2", "ws_" + "x" * 64])
def test_valid_ws_ids(ws_id: str) -> None:
    assert validate_ws_id(ws_id) == ws_id


@pytest.mark.parametrize(
    "ws_id", ["demo", "ws_", "ws_Demo", "ws_../x", "ws_a/b", "ws_" + "x" * 65, "ws_a\n", 3]
)
def test_invalid_ws_ids_fail_before_any_path(ws_id: object, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="Invalid workspace id"):
        DataPaths(tmp_path).workspace_dir(ws_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["../x", "a/b", "", "-x", "A", "x" * 65, ".hidden"])
def test_invalid_server_names(name: str, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="Invalid server name"):
        DataPaths(tmp_path).credentials_file("ws_a", name)
    assert validate_server_name("my-tool_2") == "my-tool_2"


@pytest.mark.parametrize(
    "rel", ["bundles/../etc", "bundles/a/b", "/etc/passwd", "logs/x", "bundles/"]
)
def test_stored_bundle_locations_are_confined(rel: str, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="Invalid bundle location"):
        DataPaths(tmp_path).bundle_dir(rel)
    assert DataPaths(tmp_path).bundle_dir("bundles/x-1.0") == tmp_path / "bundles" / "x-1.0"


def test_bundle_dir_name_sanitises_version() -> None:
    assert bundle_dir_name("notes", "1.2.3-beta+7") == "notes-1.2.3-beta+7"
    assert bundle_dir_name("notes", "../../1 0") == "notes-1_0"
    name = bundle_dir_name("notes", "1..2")
    assert DataPaths(Path("/d")).bundle_dir(f"bundles/{name}").name == "notes-1.2"
