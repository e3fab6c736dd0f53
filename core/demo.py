"""First-run demo: a "Demo" workspace with every bundle shipped in resources/bundles.

Seeding only happens on an empty data dir (no workspace, readable or not), so
it can never add bundles to an administrator's real setup.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConsoleError
from core.manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from core.host import Host
    from core.workspaces import Workspace

log = logging.getLogger(__name__)

DEMO_WORKSPACE = "Demo"


def demo_bundles_root() -> Path:
    """``<repo>/resources/bundles``, found relative to this package."""
    return Path(__file__).resolve().parent.parent / "resources" / "bundles"


def demo_bundle_dirs(root: Path | None = None) -> list[Path]:
    """Every bundle folder (one with a manifest.json) under ``root``, in name order."""
    root = root or demo_bundles_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file())


async def seed(host: Host, root: Path | None = None) -> Workspace | None:
    """Create the Demo workspace and install the demo bundles; None when not empty.

    A demo bundle that fails to install is reported in ``host.load_errors`` and
    skipped: the others are still useful.
    """
    if host.has_any_workspace():
        return None
    ws = host.create_workspace(DEMO_WORKSPACE)
    for folder in demo_bundle_dirs(root):
        try:
            await host.install_bundle(ws.id, folder)
        except ConsoleError as exc:
            log.warning("demo bundle %s not installed: %s", folder.name, exc)
            host.load_errors.append(str(exc))
    return host.workspace(ws.id)


async def seed_if_empty(host: Host) -> Workspace | None:
    """First launch (GUI or ``serve``): the Demo workspace, so a console never opens empty."""
    if host.workspaces() or host.has_any_workspace():
        return None
    return await host.seed_demo()


async def start_seeded(host: Host) -> None:
    """Right after seeding: start the demo bundles that can (the vault waits for its token)."""
    import asyncio

    lc = host.lifecycle
    keys = [
        (ws.id, b.server_name)
        for ws in host.workspaces()
        for b in ws.bundles
        if not getattr(lc.get_instance(b.server_name, ws.id), "needs_setup", None)
    ]
    results = await asyncio.gather(
        *(lc.start_bundle(server, ws_id) for ws_id, server in keys), return_exceptions=True
    )
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            log.error("starting %s failed: %s", key, result)
