"""Where things live under the data dir, and the name rules that keep paths safe.

Every id or name that becomes a path component is validated *before* a path is
built from it, so a hostile ``workspace.json`` or manifest can never point a
write outside the data dir.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.errors import WorkspaceError

APP_NAME = "bundle-console"
HOME_ENV = "BUNDLE_CONSOLE_HOME"

WS_ID_RE = re.compile(r"ws_[a-z0-9_]{1,64}")
SERVER_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
BUNDLE_DIR_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}")


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``--data-dir`` wins, then ``$BUNDLE_CONSOLE_HOME``, then the platform's user data dir."""
    if data_dir is not None and str(data_dir):
        return Path(data_dir).expanduser().absolute()
    env = os.environ.get(HOME_ENV, "")
    if env:
        return Path(env).expanduser().absolute()
    import platformdirs  # here: it imports tempfile, shutil and more, and `connect` starts fast

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def slugify(text: str, sep: str = "-") -> str:
    """ASCII-fold ``text`` and keep ``[a-z0-9]`` runs joined by ``sep``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", sep, folded.lower()).strip(sep)


def validate_ws_id(ws_id: object) -> str:
    if not isinstance(ws_id, str) or not WS_ID_RE.fullmatch(ws_id):
        raise WorkspaceError(f"Invalid workspace id {ws_id!r}: expected ws_ followed by [a-z0-9_].")
    return ws_id


def validate_server_name(name: object) -> str:
    if not isinstance(name, str) or not SERVER_NAME_RE.fullmatch(name):
        raise WorkspaceError(
            f"Invalid server name {name!r}: use 1-64 of a-z, 0-9, '-' and '_',"
            " starting with a letter or digit."
        )
    return name


def bundle_dir_name(server_name: str, version: str) -> str:
    """``<server>-<version>`` with the version reduced to filename-safe characters."""
    safe_version = re.sub(r"[^A-Za-z0-9._+-]+", "_", version)
    safe_version = re.sub(r"\.{2,}", ".", safe_version).strip("._") or "0"
    return f"{validate_server_name(server_name)}-{safe_version}"[:150]


@dataclass(frozen=True)
class DataPaths:
    """The data dir layout (see docs: workspaces/, bundles/, logs/)."""

    root: Path

    @property
    def workspaces_dir(self) -> Path:
        return self.root / "workspaces"

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        """Records of live bundle processes (core.orphans), to reap after a crash."""
        return self.root / "run"

    def workspace_dir(self, ws_id: str) -> Path:
        return self.workspaces_dir / validate_ws_id(ws_id)

    def workspace_file(self, ws_id: str) -> Path:
        return self.workspace_dir(ws_id) / "workspace.json"

    def credentials_dir(self, ws_id: str) -> Path:
        return self.workspace_dir(ws_id) / "credentials"

    def credentials_file(self, ws_id: str, server_name: str) -> Path:
        return self.credentials_dir(ws_id) / f"{validate_server_name(server_name)}.json"

    def bundle_dir(self, rel: str) -> Path:
        """Resolve a stored ``bundles/<dir>`` location, refusing anything else."""
        prefix, _, name = rel.partition("/")
        if prefix != "bundles" or not BUNDLE_DIR_RE.fullmatch(name) or ".." in name:
            raise WorkspaceError(f"Invalid bundle location {rel!r}: expected bundles/<name>.")
        return self.bundles_dir / name
