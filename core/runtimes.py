"""Will the runtime a bundle asks for be there? Checked at install, not at first start.

``compatibility.runtimes.python`` is a PEP 440 specifier (``packaging``) checked
against the interpreter that runs python bundles (:func:`python_launch`);
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
from pathlib import Path

from core.manifest import Manifest

PYTHON_COMMANDS = frozenset({"python", "python3"})
#: the bundle's own virtual environment, where MCPB's python layout puts one
BUNDLED_VENV = ("server", "venv")
#: ``-S``: no ``site``, so no site-packages (ours, the system's, the user's): a
#: bundle sees the standard library, what it ships and what its manifest puts on
#: PYTHONPATH (the host's PYTHONPATH never reaches it: core.launch's allowlist)
ISOLATED_FLAGS = ("-S",)


class PythonNotFound(Exception):
    """No interpreter can run this python bundle (the message says why)."""


def bundled_venv_python(bundle_dir: Path) -> Path | None:
    """``server/venv``'s interpreter, when the bundle ships a virtual environment."""
    venv = bundle_dir.joinpath(*BUNDLED_VENV)
    if not venv.is_dir():
        return None
    for rel in (("bin", "python3"), ("bin", "python"), ("Scripts", "python.exe")):
        if venv.joinpath(*rel).exists():
            return venv.joinpath(*rel)
    raise PythonNotFound(
        f"{venv} has no working interpreter (bin/python). A virtual environment only runs "
        "on the machine that made it: vendor the packages into server/lib instead."
    )


def machine_python(command: str, path_env: str | None) -> str:
    """A Python on this machine that is not the console's virtual environment.

    The interpreter the console's venv was made from comes first (same version as
    the one ``make install`` vendored the demo bundles' packages with); then
    ``command``/``python3`` on PATH, skipping anything inside the console's venv.
    """
    in_venv = sys.prefix != sys.base_prefix
    ours = os.path.realpath(sys.prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        getattr(sys, "_base_executable", None),
        os.path.join(sys.base_prefix, "bin", version),
        sys.executable if not in_venv else None,
        shutil.which(command, path=path_env),
        shutil.which("python3", path=path_env),
    ]
    for found in candidates:
        if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
            continue
        if in_venv and os.path.realpath(os.path.dirname(found)).startswith(ours + os.sep):
            continue  # the venv's own bin/python: it would see the console's packages
        return found
    raise PythonNotFound(f"`{command}` was not found on PATH (a python bundle needs Python 3).")


def python_launch(command: str, bundle_dir: Path, path_env: str | None) -> tuple[str, list[str]]:
    """Interpreter and flags for a manifest's bare ``python``/``python3`` command.

    A bundle is self-contained (MCPB): ``server/venv`` if it ships one, else a
    machine Python run with ``-S`` so no installed package (the console's own
    ``mcp`` included) can stand in for one the bundle forgot to vendor.
    """
    venv_python = bundled_venv_python(bundle_dir)
    if venv_python is not None:
        return str(venv_python), []
    return machine_python(command, path_env), list(ISOLATED_FLAGS)


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
                    f"{label} needs Python {wanted.python}, but it would run on Python {ours}: "
                    "it may fail to start."
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
