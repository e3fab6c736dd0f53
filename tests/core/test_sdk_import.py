"""The gateway's and a bundle's first SDK imports, started at the same moment, both succeed.

A fresh interpreter each time: the race is in a first import. Without the lock
in core.sdk_import this failed every time here ("partially initialized module
'mcp.client._input_required'"), which a ``config set`` right after ``serve``
started turned into "Internal error".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, sys
from core.gateway.server import SDK_MODULES as GATEWAY
from core.process import SDK_MODULES as SESSION
from core.sdk_import import import_off_loop

assert "mcp" not in sys.modules

async def main():
    await asyncio.gather(import_off_loop(GATEWAY), import_off_loop(SESSION))

asyncio.run(main())
print("imported", sorted(set(GATEWAY) | set(SESSION)) == sorted(
    n for n in set(GATEWAY) | set(SESSION) if n in sys.modules))
"""


def test_two_first_imports_of_the_sdk_at_once_both_succeed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported True"
