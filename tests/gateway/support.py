"""A real console subprocess and real SDK stdio clients through the relay."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "tests" / "fixtures" / "bundles" / "gateway-kit"


def short_dir() -> Path:
    """Data dirs under /tmp with a short name: the bundle-side probe connects by path."""
    return Path(tempfile.mkdtemp(prefix="bcg", dir="/tmp"))


class Console:
    """``python -m tests.gateway.console`` holding a data dir (see there)."""

    def __init__(self, data_dir: Path, *extra: Path) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.console", str(data_dir), *map(str, extra)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", line

    def cmd(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> int:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        return self.proc.wait(60)


def relay_params(workspace: str, data_dir: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "core.cli", "connect", workspace, "--data-dir", str(data_dir)],
        cwd=str(ROOT),
    )


@contextlib.asynccontextmanager
async def client(
    data_dir: Path, workspace: str = "Demo", notes: list[str] | None = None, name: str = "test"
) -> AsyncIterator[ClientSession]:
    import mcp_types as types

    async def on_message(message: Any) -> None:
        if notes is not None and not isinstance(message, Exception):
            notes.append(message.method)

    async with stdio_client(relay_params(workspace, data_dir)) as (read, write):
        async with ClientSession(
            read,
            write,
            message_handler=on_message,
            client_info=types.Implementation(name=name, version="1.2.3"),
        ) as session:
            await session.initialize()
            yield session


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def fingerprint(result: Any) -> str:
    assert not result.is_error, text(result)
    return result.structured_content["fingerprint"]
