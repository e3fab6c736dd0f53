"""compatibility.runtimes and missing runtimes, reported at install; a real uv bundle runs."""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import mcp
import pytest

from core.host import Host
from core.launch import uv_environment
from core.manifest import parse_manifest
from core.runtimes import find_uv, node_version, runtime_warnings
from core.states import BundleState
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.core.data.hosting import opened

UV_BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "uv_bundle"


def _m(**changes: object):  # type: ignore[no-untyped-def]
    return parse_manifest(json.dumps(manifest(**changes)).encode(), "m.json")


def _node(range_: str, command: str = "node"):  # type: ignore[no-untyped-def]
    data = manifest(compatibility={"runtimes": {"node": range_}})
    data["server"] = {
        "type": "node",
        "entry_point": "server/index.js",
        "mcp_config": {"command": command, "args": ["${__dirname}/server/index.js"]},
    }
    return parse_manifest(json.dumps(data).encode(), "m.json")


def test_python_range_checked_against_the_interpreter_that_runs_it() -> None:
    ours = platform.python_version()
    assert runtime_warnings(_m(compatibility={"runtimes": {"python": ">=3.11"}})) == []
    [line] = runtime_warnings(_m(compatibility={"runtimes": {"python": ">=99"}}))
    assert line == (
        f"sample needs Python >=99, but it would run on Python {ours}: it may fail to start."
    )
    [line] = runtime_warnings(_m(compatibility={"runtimes": {"python": "three"}}))
    assert "'three' is not a version range" in line


def test_node_range_checked_against_node_version() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed on this machine")
    version = node_version(node)
    major = int(str(version).split(".")[0])
    assert runtime_warnings(_node(f">={major - 2}")) == []
    assert runtime_warnings(_node(f"^{major}")) == []
    [line] = runtime_warnings(_node(f">={major + 1}"))
    assert (
        line
        == f"sample needs Node.js >={major + 1}, but `node` is {version}: it may fail to start."
    )
    [line] = runtime_warnings(_node("not a range!"))
    assert "is not a version range" in line


def test_missing_node_npx_and_uv_are_reported(tmp_path: Path) -> None:
    empty = {"PATH": str(tmp_path)}  # nothing on PATH
    assert runtime_warnings(_node(">=18"), empty) == [
        "sample needs Node.js, but `node` was not found on PATH."
    ]
    assert runtime_warnings(_node(">=18", "npx"), empty)[1] == (
        "sample runs `npx`, which was not found on PATH (it comes with npm)."
    )
    # uv falls back to the binary of the uv package, a dependency of the console
    uv_manifest = parse_manifest((UV_BUNDLE / "manifest.json").read_bytes(), "m.json")
    assert find_uv(str(tmp_path)) is not None
    assert runtime_warnings(uv_manifest, empty) == []


async def test_install_shows_runtime_warnings(tmp_path: Path) -> None:
    async with opened(tmp_path / "data") as host:
        host.create_workspace("Team")
        src = write_bundle(tmp_path / "src", manifest(compatibility={"runtimes": {"python": "<3"}}))
        inst = await host.install_bundle("ws_team", src)
        assert any(
            "needs Python <3" in w for w in host.install_warnings("ws_team", inst.server_name)
        )


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data", handshake_timeout=180.0) as h:
        h.create_workspace("Team")
        yield h


async def test_real_uv_bundle_runs_with_its_own_dependencies(host: Host, tmp_path: Path) -> None:
    """uv resolves the bundle's pyproject (network on a cold uv cache) and runs it."""
    bundle = shutil.copytree(UV_BUNDLE, tmp_path / "uv_bundle")
    inst = await host.install_bundle("ws_team", bundle)
    result = await host.lifecycle.start_bundle(inst.server_name, "ws_team")
    if not result.ok and any(
        word in (result.error or "") + "\n".join(inst.stderr_tail)
        for word in ("Failed to fetch", "dns error", "Could not connect", "network")
    ):
        pytest.skip(f"uv could not reach the package index: {result.error}")
    assert result.ok, (result.error, inst.stderr_tail)
    assert inst.state is BundleState.RUNNING
    assert {t.name for t in inst.tools} == {"where_is_mcp", "interpreter"}
    placed = host.bundle_path("ws_team", inst.server_name)
    result = await host.lifecycle.call_tool(inst.server_name, "ws_team", "where_is_mcp")
    where = result.content[0].text
    # mcp came from the uv project's own environment (kept outside the read-only bundle
    # folder, one per bundle and workspace), not from ours
    venv = uv_environment("ws_team", inst.server_name)
    assert where.startswith(str(venv)), where
    assert not (placed / ".venv").exists()
    assert not where.startswith(str(Path(mcp.__file__).parents[1])), where
