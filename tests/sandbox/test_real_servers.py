"""Real servers from npm and PyPI work under the default policy (core.sandbox).

Each is wrapped as an MCPB bundle here (manifest.json with ``server.mcp_config``),
installed with ``Host.install_bundle`` and started confined: a real MCP
handshake, then one real tool call. The pinned servers come from ``make
test-tools`` (``.ci-tools``); the npx one from the registry at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.host import Host
from core.sandbox import availability

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".ci-tools"
FILESYSTEM = TOOLS / "node_modules" / ".bin" / "mcp-server-filesystem"
PY_SERVERS = TOOLS / "py-servers" / "bin"
CONFINED = "isolated (bubblewrap), network allowed"

pytestmark = pytest.mark.skipif(
    availability()[0] is None, reason=f"no sandbox: {availability()[1]}"
)
module_loop = pytest.mark.asyncio(loop_scope="module")


def bundle(
    src: Path, name: str, mcp_config: dict[str, Any], user_config: dict | None = None
) -> Path:
    src.mkdir(parents=True)
    manifest = {
        "manifest_version": "0.3",
        "name": name,
        "version": "1.0.0",
        "description": f"{name}, a real third-party server",
        "author": {"name": "tests"},
        "server": {"type": "binary", "entry_point": "none", "mcp_config": mcp_config},
        "user_config": user_config or {},
    }
    (src / "manifest.json").write_text(json.dumps(manifest))
    return src


def text(result: Any) -> str:
    assert not result.is_error, result.content
    return "\n".join(c.text for c in result.content)


class Real:
    """One console for every real server of this module (their start-ups dominate)."""

    def __init__(self, host: Host, work: Path) -> None:
        self.host, self.work = host, work
        self.ws = host.create_workspace("Real").id

    async def start(self, name: str, src: Path, config: dict[str, str] | None = None) -> None:
        await self.host.install_bundle(self.ws, src, server_name=name)
        if config:
            await self.host.set_user_config(self.ws, name, config)
        result = await self.host.lifecycle.start_bundle(name, self.ws)
        assert result.ok, result.error
        assert self.host.isolation(self.ws, name).summary() == CONFINED

    async def call(self, name: str, tool: str, **args: Any) -> Any:
        return await self.host.lifecycle.call_tool(name, self.ws, tool, args)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Real]:
    work = tmp_path_factory.mktemp("real")
    host = await Host.open(work / "data", restore=False, handshake_timeout=120)
    try:
        yield Real(host, work)
    finally:
        await host.shutdown()


@module_loop
@pytest.mark.skipif(not FILESYSTEM.exists(), reason="server-filesystem: run make test-tools")
async def test_server_filesystem_sees_its_folder_and_nothing_else_of_the_data_dir(
    real: Real,
) -> None:
    # The folder the administrator picks holds the data dir itself: what the server
    # does not see there, the sandbox hid (its own path check would allow it).
    folder = real.work
    (folder / "notes.txt").write_text("hello from the folder")
    src = bundle(
        real.work / "src" / "filesystem",
        "filesystem",
        {"command": str(FILESYSTEM), "args": ["${user_config.folder}"]},
        {"folder": {"type": "directory", "title": "Folder", "required": True}},
    )
    await real.start("filesystem", src, {"folder": str(folder)})
    listing = text(await real.call("filesystem", "list_directory", path=str(folder)))
    assert "[FILE] notes.txt" in listing and "[DIR] data" in listing
    read = await real.call("filesystem", "read_text_file", path=str(folder / "notes.txt"))
    assert text(read) == "hello from the folder"
    data = real.host.data_dir
    outside = sorted(p.name for p in data.iterdir())
    assert "workspaces" in outside and "bundles" in outside  # there, outside the sandbox
    inside = text(await real.call("filesystem", "list_directory", path=str(data)))
    # only the path down to its own bundle folder: no workspaces, logs, run records
    assert inside.split("\n") == ["[DIR] bundles"], inside
    ws_file = next((data / "workspaces").rglob("*.json"))
    denied = await real.call("filesystem", "read_text_file", path=str(ws_file))
    assert denied.is_error and "ENOENT" in denied.content[0].text


@module_loop
@pytest.mark.skipif(not (PY_SERVERS / "mcp-server-time").exists(), reason="run make test-tools")
async def test_mcp_server_time_answers_confined(real: Real) -> None:
    src = bundle(
        real.work / "src" / "time",
        "time",
        {"command": str(PY_SERVERS / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
    )
    await real.start("time", src)
    out = json.loads(text(await real.call("time", "get_current_time", timezone="Asia/Tokyo")))
    assert out["timezone"] == "Asia/Tokyo" and out["datetime"].endswith("+09:00")


@module_loop
@pytest.mark.skipif(not (PY_SERVERS / "mcp-server-git").exists(), reason="run make test-tools")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
async def test_mcp_server_git_reads_the_repository_it_was_given(real: Real) -> None:
    repo = real.work / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
    }
    env["GIT_COMMITTER_EMAIL"] = "t@e"
    (repo / "a.txt").write_text("a\n")
    for cmd in (["init", "-q"], ["add", "a.txt"], ["commit", "-qm", "first commit here"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    (repo / "a.txt").write_text("changed\n")
    src = bundle(
        real.work / "src" / "git",
        "git",
        {
            "command": str(PY_SERVERS / "mcp-server-git"),
            "args": ["--repository", "${user_config.repo}"],
        },
        {"repo": {"type": "directory", "title": "Repository", "required": True}},
    )
    await real.start("git", src, {"repo": str(repo)})
    log = text(await real.call("git", "git_log", repo_path=str(repo), max_count=5))
    assert "first commit here" in log
    status = text(await real.call("git", "git_status", repo_path=str(repo)))
    assert "a.txt" in status and "modified" in status


@module_loop
@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (npm) is not installed")
async def test_npx_server_memory_runs_isolated(real: Real) -> None:
    src = bundle(
        real.work / "src" / "memory",
        "memory",
        {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
    )
    await real.host.install_bundle(real.ws, src, server_name="memory")
    result = await real.host.lifecycle.start_bundle("memory", real.ws)
    if not result.ok and "npm" in (result.error or "") and "ENOTFOUND" in result.error:
        pytest.skip(f"the npm registry is unreachable: {result.error}")
    assert result.ok, result.error
    inst = real.host.lifecycle.get_instance("memory", real.ws)
    assert inst is not None and "create_entities" in {t.name for t in inst.tools}
    assert real.host.isolation(real.ws, "memory").summary() == CONFINED
    entities = [{"name": "a", "entityType": "t", "observations": ["o"]}]
    assert not (await real.call("memory", "create_entities", entities=entities)).is_error
