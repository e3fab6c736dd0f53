"""Write real bundle folders and .mcpb archives for the data-layer tests."""

from __future__ import annotations

import copy
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

#: A tiny, valid manifest; tests deep-merge what they need on top.
BASE_MANIFEST: dict[str, Any] = {
    "manifest_version": "0.3",
    "name": "sample",
    "version": "1.0.0",
    "description": "A sample bundle",
    "author": {"name": "Tests"},
    "server": {
        "type": "python",
        "entry_point": "server/main.py",
        "mcp_config": {"command": "python", "args": ["${__dirname}/server/main.py"], "env": {}},
    },
}

SERVER_SOURCE = "import sys\nsys.exit(0)\n"


def manifest(**changes: Any) -> dict[str, Any]:
    """BASE_MANIFEST with top-level keys replaced (None removes a key)."""
    data = copy.deepcopy(BASE_MANIFEST)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def with_config(
    user_config: dict[str, Any], args: list[str] | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """A manifest with ``user_config`` and the given mcp_config args/env."""
    data = manifest(user_config=user_config)
    mcp = data["server"]["mcp_config"]
    if args is not None:
        mcp["args"] = args
    if env is not None:
        mcp["env"] = env
    return data


def write_bundle(
    folder: Path, data: dict[str, Any] | str, files: dict[str, str] | None = None
) -> Path:
    """A bundle folder: manifest.json (dict -> JSON, str -> as-is) plus server/main.py."""
    folder.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    for rel, content in {"server/main.py": SERVER_SOURCE, **(files or {})}.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    """Pack a bundle folder as a .mcpb (entries relative to the folder)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive


def write_zip(
    archive: Path, entries: dict[str, bytes | str], symlinks: dict[str, str] | None = None
) -> Path:
    """A .mcpb with arbitrary entry names (hostile ones included) and symlink entries."""
    with zipfile.ZipFile(archive, "w") as zf:
        for name, content in entries.items():
            zf.writestr(zipfile.ZipInfo(name), content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return archive


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with file contents, to prove nothing was written."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }
