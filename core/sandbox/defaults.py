"""The default policy: the bundle's own folder, nothing else of the console's."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import platformdirs

from core.paths import APP_NAME
from core.sandbox.bwrap import availability
from core.sandbox.policy import Isolation, Network, SandboxPolicy
from core.secrets.bus import session_bus_sockets

_CODE_ROOT = Path(__file__).resolve().parents[2]


def gui_settings_dir() -> Path:
    """Where the GUI keeps its settings (QSettings' ``$XDG_CONFIG_HOME/bundle-console``)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_policy(
    data_dir: Path, own_dir: Path, *, network: Network = "allowed", enabled: bool = True
) -> SandboxPolicy:
    """Hide the data dir and the GUI settings; keep the console's own code read-only.

    The settings folder is created (0700) if missing so it can be hidden even
    before the GUI first writes there.
    """
    settings = gui_settings_dir()
    with contextlib.suppress(OSError):
        settings.mkdir(mode=0o700, parents=True, exist_ok=True)
    readonly = dict.fromkeys(str(p) for p in (sys.prefix, sys.base_prefix, _CODE_ROOT))
    readonly.pop("/", None)
    readonly.pop("/usr", None)  # the system's, not ours to protect (and rarely writable)
    # a path inside another is covered by its bind (the venv in the checkout): one mount less
    readonly = {
        p: None for p in readonly if not any(p != q and p.startswith(q + os.sep) for q in readonly)
    }
    return SandboxPolicy(
        own_dir=os.fspath(own_dir),
        hidden=(os.fspath(data_dir), os.fspath(settings)),
        readonly=tuple(readonly),
        network=network,
        enabled=enabled,
        masked=tuple(session_bus_sockets()[0]),  # no Secret Service (keyring) for bundles
    )


def planned_isolation(network: Network, enabled: bool) -> Isolation:
    """What a start would achieve now (the details of a bundle not running)."""
    if not enabled:
        return Isolation(False, "turned off for this bundle by the administrator")
    bwrap, reason = availability()
    if bwrap is None:
        return Isolation(False, reason)
    return Isolation(True, network=network)
