"""What a sandbox hides, and how a spawn reports whether it was confined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Network = Literal["allowed", "blocked"]


@dataclass(frozen=True)
class SandboxPolicy:
    """One bundle's confinement, resolved at spawn time by the host.

    ``hidden`` paths are replaced by empty, private directories (the data dir,
    the GUI settings); ``readonly`` paths stay visible but cannot be written
    (the console's own code); ``own_dir`` is the bundle's unpacked folder, shown
    again read-only inside the hidden data dir.
    """

    own_dir: str
    hidden: tuple[str, ...] = ()
    readonly: tuple[str, ...] = ()
    network: Network = "allowed"
    #: False when the administrator turned isolation off for this bundle.
    enabled: bool = True
    #: sockets made unreachable (/dev/null bound over them): the session bus, so a
    #: bundle cannot ask the Secret Service for the console's keyring items
    masked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Isolation:
    """Whether one spawn is (or would be) confined, and if not, why."""

    isolated: bool
    reason: str = ""
    network: Network = "allowed"
    mechanism: str = "bubblewrap"

    def summary(self) -> str:
        """One line for a table row, the details pane and ``bundle-console status``."""
        if not self.isolated:
            return f"not isolated: {self.reason}"
        return f"isolated ({self.mechanism}), network {self.network}"
