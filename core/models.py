"""Plain data shared by the engine, the data layer and the GUI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from core.states import BundleState

if TYPE_CHECKING:  # at run time it would import all of core.sandbox (and asyncio) on `import core`
    from core.sandbox.policy import SandboxPolicy

#: Every bundle child carries ``BUNDLE_CONSOLE_MARKER=<ws_id>/<server>`` so its
#: processes can be told apart in the OS process table (orphan reaping, tests).
MARKER_ENV = "BUNDLE_CONSOLE_MARKER"


def marker_for(ws_id: str, server_name: str) -> str:
    return f"{ws_id}/{server_name}"


def not_installed_message(server_name: str, ws: str) -> str:
    """The one user-shaped text for a bundle missing from a workspace."""
    return (
        f'Bundle "{server_name}" is not installed in workspace "{ws}". '
        "Install it first (Bundles → Install…)."
    )


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to spawn one bundle process, resolved at spawn time.

    ``env`` is the complete child environment (already filtered and merged);
    ``secrets`` are the sensitive values to redact from any text we hand out.
    """

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    secrets: tuple[str, ...] = ()
    #: How to confine the process (core.sandbox); None runs it unconfined.
    sandbox: SandboxPolicy | None = None


class LaunchError(Exception):
    """The bundle cannot be launched as configured (bad manifest, missing runtime...)."""


class NeedsSetup(LaunchError):
    """A required ``user_config`` field has no value: not a crash, the UI asks for setup."""

    def __init__(self, message: str, field_key: str = "", field_title: str = "") -> None:
        super().__init__(message)
        self.field_key = field_key
        self.field_title = field_title


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)


EventKind = Literal["transition", "setup", "registered", "unregistered"]


@dataclass(frozen=True)
class LifecycleEvent:
    """Published by the lifecycle for every change a view may want to render.

    ``kind == "transition"`` events are state machine moves (``previous -> state``);
    ``setup`` means the needs-setup message changed; ``registered`` /
    ``unregistered`` mean an instance appeared or went away. Texts are redacted.
    """

    ws_id: str
    server_name: str
    previous: BundleState
    state: BundleState
    error: str | None = None
    at: float = field(default_factory=time.time)
    kind: EventKind = "transition"


@dataclass(frozen=True)
class RespawnResult:
    ok: bool
    error: str | None = None
    #: "respawned" / "started" / "running" (already) / "stopped" on success;
    #: "not_installed", "protected", "failed", "needs_setup", "stopped" (a stop won) on failure
    outcome: str = "respawned"


@dataclass(frozen=True)
class ConfigureResult:
    """Outcome of a credential write. Never carries a value, only whether each key is set."""

    populated: dict[str, bool]
    respawn: RespawnResult | None
    #: "respawned", "saved_stopped" (also when a Stop overtook the restart),
    #: "protected", "failed", "needs_setup"
    outcome: str = "saved_stopped"
