"""A real console subprocess and real SDK stdio clients through the relay."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import tempfile
import threading
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
    data_dir: Path,
    workspace: str = "Demo",
    notes: list[str] | None = None,
    name: str = "test",
    **callbacks: Any,
) -> AsyncIterator[ClientSession]:
    """An SDK client through the relay; ``callbacks`` (sampling_callback, ...) go to
    its ClientSession, which then declares those capabilities."""
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
            **callbacks,
        ) as session:
            await session.initialize()
            yield session


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def fingerprint(result: Any) -> str:
    assert not result.is_error, text(result)
    return result.structured_content["fingerprint"]


class RawRelay:
    """``bundle-console connect`` with its stdio in our hands, one JSON line at a time."""

    def __init__(self, workspace: str, data_dir: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "connect", workspace, "--data-dir", str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[dict[str, Any]] = []

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.proc.stdin.flush()

    def answer(self, ident: int, timeout: float = 60.0) -> dict[str, Any]:
        """The answer to request ``ident`` (what came before it is kept in :attr:`seen`)."""
        for old in self.seen:
            if old.get("id") == ident and "method" not in old:
                return old
        while True:
            message = self.lines.get(timeout=timeout)  # queue.Empty: never answered
            assert message is not None, "the relay closed its stdout"
            self.seen.append(message)
            if message.get("id") == ident and "method" not in message:
                return message

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


def initialize(ident: int, name: str) -> dict[str, Any]:
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": name, "version": "1"},
    }
    return {"id": ident, "method": "initialize", "params": params}
