"""Add a server entry to a client's JSON config: preview first, keep everything else.

The file belongs to another program, so the rules are strict: a file that is
not valid JSON (comments included) is refused, never rewritten; every other
key and server is kept as it was; the previous file is copied beside it first
(``<name>.bak``); the write is atomic and keeps the file's mode; and a file that
changed between the preview and the write is refused, so what the
administrator approved is what lands.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_bytes
from core.errors import ConsoleError

#: Client configs are small; a larger file is not one.
MAX_CONFIG_BYTES = 8 * 1024 * 1024


class MergeError(ConsoleError):
    """The config file cannot be merged into; ``str()`` says why and names it."""


@dataclass(frozen=True)
class MergePlan:
    path: Path
    before: str
    after: str
    #: an entry of that name existed and is replaced
    replaces: bool
    #: the file does not exist yet and will be created
    creates: bool

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"{self.path} (now)",
                tofile=f"{self.path} (after)",
            )
        )

    @property
    def changes(self) -> bool:
        return self.before != self.after


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise MergeError(
                f"{path} is larger than {MAX_CONFIG_BYTES} bytes: not a client config."
            )
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise MergeError(f"{path} is not UTF-8 text: left as it is.") from None
    except OSError as exc:
        raise MergeError(f"{path} cannot be read ({exc.strerror or exc}).") from None


def plan_merge(path: Path, servers_key: str, name: str, entry: dict[str, Any]) -> MergePlan:
    """What the file would become with ``entry`` under ``servers_key.name``; writes nothing."""
    before = _read(path)
    creates = not path.exists()
    if before.strip():
        try:
            doc = json.loads(before)
        except json.JSONDecodeError as exc:
            raise MergeError(
                f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
                "left as it is. Fix it, or copy the snippet in by hand."
            ) from None
    else:
        doc = {}
    if not isinstance(doc, dict):
        raise MergeError(f"{path} does not hold a JSON object: left as it is.")
    servers = doc.get(servers_key, {})
    if not isinstance(servers, dict):
        raise MergeError(f'{path}: "{servers_key}" is not a JSON object: left as it is.')
    replaces = name in servers
    merged = dict(doc)
    merged[servers_key] = {**servers, name: entry}
    after = json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
    return MergePlan(path, before, after, replaces, creates)


def apply_merge(plan: MergePlan) -> Path | None:
    """Write ``plan`` (backup first); returns the backup's path, None for a new file."""
    if _read(plan.path) != plan.before or plan.path.exists() == plan.creates:
        raise MergeError(f"{plan.path} changed since the preview: nothing written. Look again.")
    backup: Path | None = None
    mode = 0o600
    if not plan.creates:
        mode = plan.path.stat().st_mode & 0o777
        backup = plan.path.with_name(plan.path.name + ".bak")
        try:
            shutil.copy2(plan.path, backup)
        except OSError as exc:
            raise MergeError(
                f"cannot back up {plan.path} to {backup} ({exc.strerror or exc}): nothing written."
            ) from None
    try:
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(plan.path, plan.after.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise MergeError(f"cannot write {plan.path} ({exc.strerror or exc}).") from None
    if os.name != "nt" and backup is not None:
        os.chmod(backup, mode)
    return backup
