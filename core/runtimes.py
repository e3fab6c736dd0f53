"""Will the runtime a bundle asks for be there? Checked at install, not at first start.

``compatibility.runtimes.python`` is a PEP 440 specifier (``packaging``) checked
against the interpreter that runs python bundles (the console's own);
``compatibility.runtimes.node`` is an npm range (``node-semver``) checked against
``node --version``. A missing ``node``, ``npx`` or ``uv`` is reported too. All of
these are warnings: the administrator may install the runtime afterwards.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping

from core.manifest import Manifest

PYTHON_COMMANDS = frozenset({"python", "python3"})


def find_uv(path_env: str | None) -> str | None:
    """``uv`` on PATH, else the one the ``uv`` package installed beside our interpreter."""
    found = shutil.which("uv", path=path_env)
    if found:
        return found
    try:
        import uv  # the PyPI package ships the binary

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def _command(manifest: Manifest) -> str:
    server = manifest.server
    mcp = server.mcp_config
    if mcp is None:
        return {"python": "python", "node": "node", "uv": "uv"}.get(server.type, "")
    override = mcp.platform_overrides.get(sys.platform)
    command = override.command if override and override.command else mcp.command
    return os.path.basename(command)


def node_version(node: str) -> str | None:
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.strip().lstrip("v")
    return text if done.returncode == 0 and text else None


def runtime_warnings(manifest: Manifest, environ: Mapping[str, str] | None = None) -> list[str]:
    """Sentences for everything that would keep this bundle's runtime from starting it."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    env = os.environ if environ is None else environ
    path_env = env.get("PATH")
    label = manifest.label
    command = _command(manifest)
    wanted = manifest.compatibility.runtimes if manifest.compatibility else None
    found: list[str] = []

    uses_python = command in PYTHON_COMMANDS
    if wanted and wanted.python and uses_python:
        ours = platform.python_version()
        try:
            if not SpecifierSet(wanted.python).contains(ours, prereleases=True):
                found.append(
                    f"{label} needs Python {wanted.python}, but it would run on Python {ours} "
                    "(the console's own): it may fail to start."
                )
        except InvalidSpecifier:
            found.append(f"compatibility.runtimes.python {wanted.python!r} is not a version range.")

    uses_node = command in ("node", "npx") or manifest.server.type == "node"
    node = shutil.which("node", path=path_env) if uses_node else None
    if uses_node and node is None:
        found.append(f"{label} needs Node.js, but `node` was not found on PATH.")
    if command == "npx" and shutil.which("npx", path=path_env) is None:
        found.append(f"{label} runs `npx`, which was not found on PATH (it comes with npm).")
    if wanted and wanted.node and node is not None:
        import nodesemver

        version = node_version(node)
        if version is None:
            found.append(f"`{node} --version` failed: cannot check the Node.js {wanted.node} need.")
        else:
            try:
                ok = nodesemver.satisfies(version, wanted.node, loose=True)
                valid = nodesemver.valid_range(wanted.node, loose=True) is not None
            except (ValueError, TypeError):
                ok, valid = False, False
            if not valid:
                found.append(f"compatibility.runtimes.node {wanted.node!r} is not a version range.")
            elif not ok:
                found.append(
                    f"{label} needs Node.js {wanted.node}, but `node` is {version}: "
                    "it may fail to start."
                )

    if (command == "uv" or manifest.server.type == "uv") and find_uv(path_env) is None:
        found.append(f"{label} is a uv bundle, but `uv` was not found (install the uv package).")
    return found
