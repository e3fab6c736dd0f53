"""Demo Vault: an MCP server (stdio) that needs a secret to start.

Configuration arrives through the environment, as mapped by the bundle's
``manifest.json`` from its ``user_config``:

* ``VAULT_API_TOKEN`` (required, sensitive): without it the server refuses to
  start, prints why on stderr and exits with status 2.
* ``VAULT_MAX_ITEMS`` (optional number, 1..1000, default 50): store capacity.
* ``VAULT_READ_ONLY`` (optional boolean, default false): refuse writes.

The token is never echoed, logged or returned: ``token_fingerprint`` gives the
first 12 hex digits of its SHA-256 so an operator can tell which value the
server received. Items live in memory only and vanish when the process exits.

Only the standard library and ``mcp`` are imported, and ``mcp`` only once the
configuration is known to be usable, so a refusal is immediate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

SERVER_NAME = "demo-vault"
SERVER_VERSION = "1.0.0"

EXIT_CONFIG_ERROR = 2
MAX_ITEMS_DEFAULT = 50
MAX_ITEMS_MIN = 1
MAX_ITEMS_MAX = 1000
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 10_000

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

log = logging.getLogger(SERVER_NAME)


def fingerprint(token: str) -> str:
    """First 12 hex digits of the SHA-256 of the UTF-8 token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class VaultConfig:
    token: str
    max_items: int
    read_only: bool

    def __repr__(self) -> str:  # never let the token reach a log line or traceback
        return (
            f"VaultConfig(token=<redacted>, max_items={self.max_items}, read_only={self.read_only})"
        )


class ConfigError(Exception):
    pass


def _unset(raw: str | None) -> bool:
    """Empty, or a ``${user_config.x}`` placeholder the host did not substitute."""
    return raw is None or not raw.strip() or raw.strip().startswith("${user_config.")


def load_config(environ: Mapping[str, str]) -> VaultConfig:
    token = environ.get("VAULT_API_TOKEN")
    if _unset(token):
        raise ConfigError(
            "VAULT_API_TOKEN is not set. This bundle needs an API token: fill in the "
            "'API token' field (user_config.api_token) of Demo Vault, then start it again."
        )
    assert token is not None  # used verbatim: the fingerprint must match what was configured

    raw_max = environ.get("VAULT_MAX_ITEMS")
    if _unset(raw_max):
        max_items = MAX_ITEMS_DEFAULT
    else:
        assert raw_max is not None
        try:
            number = float(raw_max.strip())
        except ValueError:
            raise ConfigError(
                f"VAULT_MAX_ITEMS must be a number between {MAX_ITEMS_MIN} and "
                f"{MAX_ITEMS_MAX}, got {raw_max.strip()!r}."
            ) from None
        if number != number or not number.is_integer():  # NaN, inf or a fraction
            raise ConfigError(f"VAULT_MAX_ITEMS must be a whole number, got {raw_max.strip()!r}.")
        max_items = int(number)
        if not MAX_ITEMS_MIN <= max_items <= MAX_ITEMS_MAX:
            raise ConfigError(
                f"VAULT_MAX_ITEMS must be between {MAX_ITEMS_MIN} and {MAX_ITEMS_MAX}, "
                f"got {max_items}."
            )

    raw_ro = environ.get("VAULT_READ_ONLY")
    if _unset(raw_ro):
        read_only = False
    else:
        assert raw_ro is not None
        flag = raw_ro.strip().lower()
        if flag in _TRUE:
            read_only = True
        elif flag in _FALSE:
            read_only = False
        else:
            raise ConfigError(f"VAULT_READ_ONLY must be true or false, got {raw_ro.strip()!r}.")

    return VaultConfig(token=token, max_items=max_items, read_only=read_only)


def refuse(message: str) -> NoReturn:
    print(f"{SERVER_NAME}: configuration error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CONFIG_ERROR)


def build_server(config: VaultConfig) -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    items: dict[str, str] = {}
    started = time.time()

    mcp = MCPServer(
        name=SERVER_NAME,
        title="Demo Vault",
        version=SERVER_VERSION,
        instructions=(
            "A small in-memory key/value vault guarded by an API token. "
            "Items are lost when the server stops."
        ),
    )

    def check_key(key: str) -> str:
        key = key.strip()
        if not key:
            raise ToolError("key must not be empty")
        if len(key) > MAX_KEY_CHARS:
            raise ToolError(f"key is too long ({len(key)} chars, max {MAX_KEY_CHARS})")
        return key

    def check_writable() -> None:
        if config.read_only:
            raise ToolError("the vault is read-only (the 'Read-only' option is enabled)")

    @mcp.tool(
        description=(
            "Short fingerprint of the API token this server received: the first 12 hex "
            "digits of its SHA-256. Identifies the token without revealing it."
        )
    )
    def token_fingerprint() -> dict[str, Any]:
        return {"fingerprint": fingerprint(config.token), "algorithm": "sha256", "hex_digits": 12}

    @mcp.tool(description="Vault settings and usage: capacity, item count, read-only flag, uptime.")
    def vault_status() -> dict[str, Any]:
        return {
            "items": len(items),
            "max_items": config.max_items,
            "read_only": config.read_only,
            "uptime_seconds": round(time.time() - started, 3),
        }

    @mcp.tool(
        description=(
            "Store `value` under `key` (overwrites an existing key). Fails when the vault "
            "is read-only or already holds max_items items."
        )
    )
    def put_item(key: str, value: str) -> dict[str, Any]:
        check_writable()
        key = check_key(key)
        if len(value) > MAX_VALUE_CHARS:
            raise ToolError(f"value is too long ({len(value)} chars, max {MAX_VALUE_CHARS})")
        replaced = key in items
        if not replaced and len(items) >= config.max_items:
            raise ToolError(
                f"the vault is full ({config.max_items} items, the configured maximum); "
                "delete an item first"
            )
        items[key] = value
        log.info("stored item %r (%d/%d)", key, len(items), config.max_items)
        return {"key": key, "replaced": replaced, "items": len(items)}

    @mcp.tool(description="Return the value stored under `key`.")
    def get_item(key: str) -> str:
        key = check_key(key)
        try:
            return items[key]
        except KeyError:
            raise ToolError(f"no item named {key!r}") from None

    @mcp.tool(description="List the stored keys (sorted), at most `limit` of them (default: all).")
    def list_items(limit: int | None = None) -> dict[str, Any]:
        keys = sorted(items)
        if limit is not None:
            if limit < 0:
                raise ToolError("limit must not be negative")
            keys = keys[:limit]
        return {"keys": keys, "total": len(items), "max_items": config.max_items}

    @mcp.tool(description="Delete the item stored under `key`.")
    def delete_item(key: str) -> dict[str, Any]:
        check_writable()
        key = check_key(key)
        if items.pop(key, None) is None:
            raise ToolError(f"no item named {key!r}")
        return {"key": key, "deleted": True, "items": len(items)}

    return mcp


def main() -> None:
    try:
        config = load_config(os.environ)
    except ConfigError as exc:
        refuse(str(exc))
    # Configure stderr logging before the SDK does (its setup is a no-op once ours exists).
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"{SERVER_NAME}: %(levelname)s %(message)s",
    )
    log.info(
        "starting (pid %d): token fingerprint %s, max_items=%d, read_only=%s",
        os.getpid(),
        fingerprint(config.token),
        config.max_items,
        config.read_only,
    )
    build_server(config).run()


if __name__ == "__main__":
    main()
