"""Helpers for the reliability suite: fixture bundles, a Host that is always torn down, probes.

Every test works under a unique tag that goes into its workspace ids, so the
bundle marker (``BUNDLE_CONSOLE_MARKER=<ws_id>/<server>``) of its processes
contains the tag and process-table checks never see another test's processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from core.host import Host
from core.models import LifecycleEvent
from core.states import TRANSITIONS, BundleState
from tests.procs import marked_processes, wait_for

SERVERS = Path(__file__).resolve().parents[1] / "fixtures" / "servers"
FIXTURE = SERVERS / "fixture_server.py"

#: Lifecycle options for fast fault tests (Host.open forwards them to the engine).
FAST: dict[str, Any] = {
    "handshake_timeout": 10.0,
    "stop_grace": 0.5,
    "term_grace": 1.0,
    "backoff": (0.05, 0.1, 0.2, 0.4, 0.8),
}

SOAK = os.environ.get("BUNDLE_CONSOLE_SOAK", "") not in ("", "0")


def new_tag() -> str:
    """A tag that is a valid piece of a workspace id (``ws_<tag>_a``) and a marker substring."""
    return "r" + uuid.uuid4().hex[:10]


def write_bundle(
    folder: Path,
    flags: Iterable[str] = (),
    *,
    name: str = "fixture",
    version: str = "1.0.0",
    user_config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    server: Path = FIXTURE,
) -> Path:
    """A real MCPB bundle folder whose manifest runs a fixture server with ``flags``.

    The server script is copied in as ``server.py`` and launched the MCPB way:
    ``"command": "python", "args": ["${__dirname}/server.py", ...]``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(server, folder / "server.py")
    manifest = {
        "manifest_version": "0.3",
        "name": name,
        "version": version,
        "description": "A fault-injection fixture bundle",
        "author": {"name": "Reliability tests"},
        "server": {
            "type": "python",
            "entry_point": "server.py",
            "mcp_config": {
                "command": "python",
                "args": ["${__dirname}/server.py", *flags],
                "env": env or {},
            },
        },
        "user_config": user_config or {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def ws_name(tag: str, suffix: str = "a") -> str:
    """A workspace name whose derived id is ``ws_<tag>_<suffix>``."""
    return f"{tag} {suffix}"


@asynccontextmanager
async def opened(
    data_dir: Path, tag: str, *, restore: bool = True, **options: Any
) -> AsyncIterator[Host]:
    """A Host with fast lifecycle options, always shut down, its processes checked gone."""
    host = await Host.open(data_dir, restore=restore, **{**FAST, **options})
    try:
        yield host
    finally:
        await host.shutdown()
        assert await wait_for(lambda: marked_processes(tag) == {}, 5), (
            f"a bundle process outlived Host.shutdown(): {marked_processes(tag)}"
        )


class EventLog:
    """Every lifecycle event, checked as it arrives: legal, and continuous per bundle."""

    def __init__(self) -> None:
        self.events: list[LifecycleEvent] = []
        self.problems: list[str] = []
        self._state: dict[tuple[str, str], BundleState] = {}

    def __call__(self, event: LifecycleEvent) -> None:
        self.events.append(event)
        key = (event.ws_id, event.server_name)
        if event.kind == "registered":
            self._state[key] = event.state
            return
        if event.kind == "unregistered":
            self._state.pop(key, None)
            return
        known = self._state.get(key)
        if event.kind == "transition":
            if event.state not in TRANSITIONS[event.previous]:
                self.problems.append(f"illegal {event.previous} -> {event.state} for {key}")
            if known is not None and known is not event.previous:
                self.problems.append(
                    f"{key}: transition from {event.previous} but the last state seen was {known}"
                )
            self._state[key] = event.state
        elif known is not None and known is not event.state:
            self.problems.append(f"{key}: {event.kind} event in {event.state}, last seen {known}")

    def transitions(self, ws_id: str, server: str) -> list[tuple[BundleState, BundleState]]:
        return [
            (e.previous, e.state)
            for e in self.events
            if e.kind == "transition" and e.ws_id == ws_id and e.server_name == server
        ]


class Ticker:
    """Measures the longest gap between event-loop turns (a stalled loop shows as a big gap)."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.max_gap = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last - self.interval)
            last = now

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
