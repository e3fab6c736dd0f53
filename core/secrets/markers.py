"""What a credentials file holds in place of a value that lives in the keyring.

A ``user_config`` value is a string, number, boolean or list, never an object,
so ``{"keyring": SERVICE}`` cannot be mistaken for a value. It records the
keyring service the item belongs to; the item's name is ``ws/server/key``.
"""

from __future__ import annotations

from typing import Any

MARKER_KEY = "keyring"


def marker(service: str) -> dict[str, str]:
    return {MARKER_KEY: service}


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(MARKER_KEY), str)


def item_name(ws_id: str, server_name: str, key: str) -> str:
    """The keyring item of one value: named by workspace, bundle and key."""
    return f"{ws_id}/{server_name}/{key}"
