"""An in-memory launch-spec source for engine tests (the data layer has its own tests).

The lifecycle reads the spec at every spawn, so tests change ``values`` and
expect the next spawn to see them, exactly as credentials work in the app.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.lifecycle import BundleLifecycleManager
from core.models import LaunchSpec, NeedsSetup

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "servers" / "fixture_server.py"
BASE_ENV = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}


@dataclass
class Spec:
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    command: str = sys.executable
    script: Path | None = FIXTURE


class SpecTable:
    """``(server, ws) -> Spec``; callable as the lifecycle's spec provider."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.specs: dict[tuple[str, str], Spec] = {}
        self.calls = 0

    def add(self, server: str, ws: str, *args: str, **kw: object) -> Spec:
        spec = self.specs[(server, ws)] = Spec(list(args), **kw)  # type: ignore[arg-type]
        return spec

    def __call__(self, server: str, ws: str) -> LaunchSpec:
        self.calls += 1
        spec = self.specs[(server, ws)]
        for key in spec.required:
            if not spec.env.get(key):
                raise NeedsSetup(f'Missing required config "{key}" for {server} (workspace {ws}).')
        args = ([str(spec.script)] if spec.script else []) + list(spec.args)
        env = {**BASE_ENV, **spec.env, "BUNDLE_CONSOLE_MARKER": f"{self.tag}:{ws}/{server}"}
        return LaunchSpec(spec.command, tuple(args), env, None, spec.secrets)


def make_manager(table: SpecTable, tmp_path: Path, **options: object) -> BundleLifecycleManager:
    defaults: dict[str, object] = {
        "handshake_timeout": 10.0,
        "stop_grace": 1.0,
        "term_grace": 1.0,
        "backoff": (0.05, 0.1, 0.2, 0.4, 0.8),
    }
    defaults.update(options)
    return BundleLifecycleManager(table, tmp_path / "logs", **defaults)  # type: ignore[arg-type]
