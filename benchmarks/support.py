"""What the figures share: servers to run, a launch-spec table, the SDK baseline.

The baseline is the official SDK used the way its README shows
(``stdio_client`` + ``ClientSession``), so a ratio answers "what does the
console's own process handling cost over the SDK's?".
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.launch import filter_host_env
from core.lifecycle import BundleLifecycleManager
from core.models import LaunchSpec
from core.states import BundleState

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "servers" / "fixture_server.py"
DEMO_CLOCK = ROOT / "resources" / "bundles" / "demo-clock"
DEMO_CLOCK_MAIN = DEMO_CLOCK / "server" / "main.py"
#: Environment variable every benchmark process carries, to find strays.
MARKER = "BUNDLE_CONSOLE_BENCH"


@dataclass(frozen=True)
class Server:
    """A command line for an MCP stdio server."""

    label: str
    command: str
    args: tuple[str, ...]

    @classmethod
    def fixture(cls, *flags: str) -> Server:
        return cls("fixture", sys.executable, (str(FIXTURE), *flags))

    @classmethod
    def demo_clock(cls) -> Server:
        return cls("demo-clock", sys.executable, (str(DEMO_CLOCK_MAIN),))


def base_env(tag: str) -> dict[str, str]:
    """The console's filtered host environment plus a marker naming the run."""
    return {**filter_host_env(os.environ), MARKER: tag}


@dataclass
class SpecTable:
    """``(server, ws) -> (Server, extra env)``: the lifecycle's spec provider for engine figures.

    Read at every spawn, so changing ``env`` then respawning is how a
    credential write looks to the engine.
    """

    tag: str
    entries: dict[tuple[str, str], tuple[Server, dict[str, str]]] = field(default_factory=dict)

    def add(self, name: str, ws: str, server: Server, **env: str) -> None:
        self.entries[(name, ws)] = (server, dict(env))

    def set_env(self, name: str, ws: str, key: str, value: str) -> None:
        self.entries[(name, ws)][1][key] = value

    def __call__(self, name: str, ws: str) -> LaunchSpec:
        server, env = self.entries[(name, ws)]
        return LaunchSpec(server.command, server.args, {**base_env(self.tag), **env})


def make_lifecycle(table: SpecTable, log_dir: Path, **options: Any) -> BundleLifecycleManager:
    return BundleLifecycleManager(table, log_dir, **options)


class Stamps:
    """perf_counter timestamps of lifecycle transitions, taken in the subscriber."""

    def __init__(self, lc: BundleLifecycleManager) -> None:
        self.at: dict[tuple[str, str, BundleState], float] = {}
        self.unsubscribe = lc.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.kind == "transition":
            self.at[(event.server_name, event.ws_id, event.state)] = time.perf_counter()

    def clear(self) -> None:
        self.at.clear()

    def get(self, name: str, ws: str, state: BundleState) -> float:
        return self.at[(name, ws, state)]


class SdkSession:
    """One server run through the SDK's ``stdio_client`` + ``ClientSession``.

    ``start``/``stop`` must be awaited from the same task (anyio scopes), which
    the benchmarks do: every measure runs in the main task.
    """

    def __init__(self, server: Server, env: dict[str, str], errlog: IO[str]) -> None:
        self.server = server
        self.env = env
        self.errlog = errlog
        self.pid: int | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        from mcp.client.session import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=self.server.command, args=list(self.server.args), env=self.env
        )
        stack = contextlib.AsyncExitStack()
        try:
            read, write = await stack.enter_async_context(stdio_client(params, self.errlog))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            await session.list_tools()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self.pid = _newest_child_pid()

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        self.pid = None
        if stack is not None:
            await stack.aclose()


def _newest_child_pid() -> int | None:
    """The SDK hides the pid; our newest direct child is the server it just spawned."""
    import psutil

    children = psutil.Process().children()
    if not children:
        return None
    return max(children, key=lambda p: (p.create_time(), p.pid)).pid


def proc_environ(pid: int) -> dict[str, str]:
    """A live process's environment as the kernel reports it (/proc/<pid>/environ)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def write_fixture_bundle(folder: Path, name: str = "bench-fixture") -> Path:
    """An MCPB folder whose server is the fixture, with a user_config field mapped into env."""
    folder.mkdir(parents=True, exist_ok=True)
    server_dir = folder / "server"
    server_dir.mkdir(exist_ok=True)
    (server_dir / "fixture_server.py").write_bytes(FIXTURE.read_bytes())
    manifest = {
        "manifest_version": "0.3",
        "name": name,
        "display_name": "Bench fixture",
        "version": "1.0.0",
        "description": "The dependency-free fixture server, for benchmarks.",
        "author": {"name": "Bundle Console benchmarks"},
        "server": {
            "type": "python",
            "entry_point": "server/fixture_server.py",
            "mcp_config": {
                "command": "python",
                "args": ["${__dirname}/server/fixture_server.py"],
                "env": {"BENCH_TOKEN": "${user_config.token}"},
            },
        },
        "user_config": {
            "token": {
                "type": "string",
                "title": "Token",
                "description": "Any value; the benchmark reads it back from the process env.",
                "required": False,
            }
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def tmp_log(directory: Path, name: str) -> IO[str]:
    directory.mkdir(parents=True, exist_ok=True)
    return open(directory / name, "a")


Clock = Callable[[], float]
now: Clock = time.perf_counter
