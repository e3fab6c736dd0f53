"""Client-facing names: ``<server>__<tool>``, stable and within MCP's tool-name rules.

MCP allows 1-128 of ``A-Za-z0-9_-.``; several clients accept only 64 of
``A-Za-z0-9_-``, so names are kept to that. A name that had to be shortened
or changed ends in a short hash of the original, so it stays the same
across restarts and never collides by accident.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
SEPARATOR = "__"
_BAD = re.compile(r"[^A-Za-z0-9_-]")


def prefixed(server_name: str, name: str) -> str:
    full = f"{server_name}{SEPARATOR}{name}"
    clean = _BAD.sub("_", full)
    if clean == full and len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{clean[: MAX_NAME - 9]}_{digest}"
