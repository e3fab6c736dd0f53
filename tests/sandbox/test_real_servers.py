"""A real server from npm, launched with `npx -y`, works under the default policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.host import Host
from core.sandbox import availability


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (npm) is not installed")
@pytest.mark.skipif(availability()[0] is None, reason=f"no sandbox: {availability()[1]}")
async def test_npx_server_memory_runs_isolated(tmp_path: Path) -> None:
    src = tmp_path / "memory"
    src.mkdir()
    manifest = {
        "manifest_version": "0.3",
        "name": "memory",
        "version": "1.0.0",
        "description": "server-memory from npm",
        "author": {"name": "tests"},
        "server": {
            "type": "node",
            "entry_point": "index.js",
            "mcp_config": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
        },
    }
    (src / "manifest.json").write_text(json.dumps(manifest))
    host = await Host.open(tmp_path / "data", restore=False, handshake_timeout=120)
    try:
        ws = host.create_workspace("Real").id
        await host.install_bundle(ws, src, server_name="memory")
        result = await host.lifecycle.start_bundle("memory", ws)
        if not result.ok and "npm" in (result.error or "") and "ENOTFOUND" in result.error:
            pytest.skip(f"the npm registry is unreachable: {result.error}")
        assert result.ok, result.error
        inst = host.lifecycle.get_instance("memory", ws)
        assert inst is not None and "create_entities" in {t.name for t in inst.tools}
        assert host.isolation(ws, "memory").summary() == "isolated (bubblewrap), network allowed"
        out = await host.lifecycle.call_tool(
            "memory",
            ws,
            "create_entities",
            {"entities": [{"name": "a", "entityType": "t", "observations": ["o"]}]},
        )
        assert not out.is_error
    finally:
        await host.shutdown()
