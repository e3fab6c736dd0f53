"""Bundle Console's Qt-free engine: workspaces, bundles, credentials, processes.

The public names are imported lazily so ``import core`` stays cheap for the GUI
(the MCP SDK is only imported when a bundle is spawned).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.host import Host
    from core.lifecycle import BundleInstance, BundleLifecycleManager, LifecycleHooks
    from core.models import (
        ConfigureResult,
        LaunchError,
        LaunchSpec,
        LifecycleEvent,
        NeedsSetup,
        RespawnResult,
        ToolInfo,
    )
    from core.states import BundleState

__all__ = [
    "BundleInstance",
    "BundleLifecycleManager",
    "BundleState",
    "ConfigureResult",
    "Host",
    "LaunchError",
    "LaunchSpec",
    "LifecycleEvent",
    "LifecycleHooks",
    "NeedsSetup",
    "RespawnResult",
    "ToolInfo",
]

#: every public name, imported on first use: `import core.gateway.relay` (the
#: `connect` a client starts) must not pay for dataclasses or the engine
_LAZY = {
    "BundleState": "core.states",
    "ConfigureResult": "core.models",
    "LaunchError": "core.models",
    "LaunchSpec": "core.models",
    "LifecycleEvent": "core.models",
    "NeedsSetup": "core.models",
    "RespawnResult": "core.models",
    "ToolInfo": "core.models",
    "Host": "core.host",
    "BundleInstance": "core.lifecycle",
    "BundleLifecycleManager": "core.lifecycle",
    "LifecycleHooks": "core.lifecycle",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value
