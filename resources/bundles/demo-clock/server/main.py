"""Demo Clock: a configuration-free MCP server (stdio) built on the official SDK.

Tools: ``current_time``, ``echo``, ``system_info``, ``new_uuid``.

Only the standard library and ``mcp`` are imported. stdout carries the MCP
protocol and nothing else; all diagnostics go to stderr.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

SERVER_NAME = "demo-clock"
SERVER_VERSION = "1.0.0"
MAX_UUIDS = 100
MAX_ECHO_CHARS = 10_000

# Configure stderr logging before the SDK does (its setup is a no-op once ours exists).
logging.basicConfig(
    stream=sys.stderr,
    level=logging.INFO,
    format=f"{SERVER_NAME}: %(levelname)s %(message)s",
)
log = logging.getLogger(SERVER_NAME)
_started_monotonic = time.monotonic()

mcp = MCPServer(
    name=SERVER_NAME,
    title="Demo Clock",
    version=SERVER_VERSION,
    instructions="Clock and host information. No configuration needed.",
)


def _system_uptime_seconds() -> float | None:
    """Seconds since the host booted, where the platform makes it cheap to know."""
    try:
        with open("/proc/uptime", encoding="ascii") as fh:  # Linux
            return round(float(fh.read().split()[0]), 1)
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        try:
            import ctypes

            return round(ctypes.windll.kernel32.GetTickCount64() / 1000.0, 1)
        except (AttributeError, OSError):
            return None
    if sys.platform == "darwin":
        try:
            import subprocess

            out = subprocess.run(
                ["/usr/sbin/sysctl", "-n", "kern.boottime"],
                capture_output=True,
                text=True,
                timeout=2,
                check=True,
            ).stdout
            # "{ sec = 1700000000, usec = 0 } ..."
            boot = int(out.split("sec =", 1)[1].split(",", 1)[0])
            return round(time.time() - boot, 1)
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return None
    return None


@mcp.tool(
    description=(
        "Current date and time. `timezone` is an optional IANA name such as "
        "'Europe/Paris' or 'UTC'; when omitted the host's local timezone is used."
    )
)
def current_time(timezone: str | None = None) -> dict[str, Any]:
    if timezone:
        try:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        except ImportError as exc:  # pragma: no cover - stdlib since 3.9
            raise ToolError("timezone support is unavailable on this Python") from exc
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ToolError(f"unknown IANA timezone: {timezone!r}") from exc
        now = datetime.now(tz)
        tz_name = timezone
    else:
        now = datetime.now(UTC).astimezone()
        tz_name = now.tzname() or "local"
    offset = now.utcoffset()
    return {
        "iso": now.isoformat(timespec="seconds"),
        "timezone": tz_name,
        "utc_offset_minutes": int(offset.total_seconds() // 60) if offset is not None else 0,
        "unix": int(now.timestamp()),
        "weekday": now.strftime("%A"),
    }


@mcp.tool(
    description=(
        "Return `text` unchanged, or upper-cased when `uppercase` is true. "
        "Handy to check a connection end to end."
    )
)
def echo(text: str, uppercase: bool = False) -> str:
    if len(text) > MAX_ECHO_CHARS:
        raise ToolError(f"text is too long ({len(text)} chars, max {MAX_ECHO_CHARS})")
    return text.upper() if uppercase else text


@mcp.tool(
    description=(
        "Host platform, Python version, CPU count, load average, system uptime "
        "and this server's own uptime."
    )
)
def system_info() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not available on Windows
        load = None
    return {
        "platform": sys.platform,
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "system_uptime_seconds": _system_uptime_seconds(),
        "server_uptime_seconds": round(time.monotonic() - _started_monotonic, 3),
        "pid": os.getpid(),
    }


@mcp.tool(description=f"Generate `count` random (version 4) UUIDs, 1 to {MAX_UUIDS}.")
def new_uuid(count: int = 1) -> list[str]:
    if not 1 <= count <= MAX_UUIDS:
        raise ToolError(f"count must be between 1 and {MAX_UUIDS}, got {count}")
    return [str(uuid.uuid4()) for _ in range(count)]


def main() -> None:
    log.info("starting (pid %d, python %s)", os.getpid(), platform.python_version())
    mcp.run()


if __name__ == "__main__":
    main()
