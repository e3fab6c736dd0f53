"""Workspaces and what is installed in them, persisted as one ``workspace.json`` each.

The in-memory models are the truth while the app runs; every change is saved
whole and atomically. A ``workspace.json`` that cannot be read is reported and
skipped, and its id stays taken so nothing is ever written over it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.atomic import (
    PRIVATE_DIR_MODE,
    atomic_write_json,
    ensure_dir,
    fsync_dir,
    read_json,
    refuse_links,
)
from core.errors import DataError, WorkspaceError
from core.paths import WS_ID_RE, DataPaths, slugify, validate_server_name, validate_ws_id
from core.settings import clean_env_names
from core.signatures.model import SignatureInfo

FORMAT = 1
MAX_NAME_LEN = 100


class InstalledBundle(BaseModel):
    """One bundle in one workspace: where its files are and whether it should run."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    server_name: str
    #: ``bundles/<server>-<version>``, relative to the data dir so the dir can move
    bundle_dir: str
    version: str
    protected: bool = False
    #: the administrator's intent, restored at the next ``Host.open``
    desired_running: bool = False
    #: install-time warnings (e.g. a sensitive value passed in args)
    warnings: list[str] = Field(default_factory=list)
    source: str = ""
    installed_at: float = Field(default_factory=time.time)
    #: per-bundle network switch, enforced by the sandbox (core.sandbox)
    network: Literal["allowed", "blocked"] = "allowed"
    #: False once the administrator turned isolation off for this bundle (confirmed)
    isolated: bool = True
    #: the signature check at install (None: installed before signatures were checked)
    signature: SignatureInfo | None = None
    #: set when the administrator confirmed installing despite an invalid signature
    signature_override_at: float | None = None
    #: the entry as it was before the last update (core.updates): Roll back returns to it
    previous: InstalledBundle | None = None

    @field_validator("server_name")
    @classmethod
    def _server_name(cls, value: str) -> str:
        return validate_server_name(value)


class Workspace(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    id: str
    name: str
    bundles: list[InstalledBundle] = Field(default_factory=list)
    #: extra host variables this workspace's bundles get (beside the global setting)
    env_passthrough: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return validate_ws_id(value)

    @field_validator("env_passthrough")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        return clean_env_names(value)

    def bundle(self, server_name: str) -> InstalledBundle | None:
        return next((b for b in self.bundles if b.server_name == server_name), None)


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise WorkspaceError("A workspace needs a non-empty name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LEN:
        raise WorkspaceError(f"A workspace name can have at most {MAX_NAME_LEN} characters.")
    return name


def derive_id(name: str, taken: set[str]) -> str:
    """``"Demo"`` -> ``ws_demo``; ``ws_demo_2`` ... when taken. Always matches WS_ID_RE."""
    base = "ws_" + (slugify(name, "_")[:58] or "workspace")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    assert WS_ID_RE.fullmatch(candidate)
    return candidate


class WorkspaceStore:
    """Loads and saves workspace.json files under ``<data>/workspaces``."""

    def __init__(self, paths: DataPaths) -> None:
        self._paths = paths

    def existing_ids(self) -> set[str]:
        """Every id with a directory on disk, readable or not (never reuse a broken one)."""
        root = self._paths.workspaces_dir
        if not root.is_dir():
            return set()
        return {p.name for p in root.iterdir() if p.is_dir() and WS_ID_RE.fullmatch(p.name)}

    def load_all(self) -> tuple[dict[str, Workspace], list[str]]:
        """All readable workspaces, plus one error line per file that is not."""
        workspaces: dict[str, Workspace] = {}
        errors: list[str] = []
        for ws_id in sorted(self.existing_ids()):
            try:
                workspaces[ws_id] = self.load(ws_id)
            except DataError as exc:
                errors.append(str(exc))
        return workspaces, errors

    def load(self, ws_id: str) -> Workspace:
        path = self._paths.workspace_file(ws_id)
        # A linked folder or file is skipped, never saved over: its id stays taken.
        refuse_links(path, self._paths.root)
        try:
            present = path.exists()
        except OSError as exc:  # e.g. a workspace folder we may not enter
            raise DataError(path, f"cannot be read ({exc.strerror or exc})") from exc
        if not present:
            raise DataError(path, "is missing; this workspace is skipped")
        data = read_json(path)
        if not isinstance(data, dict):
            raise DataError(path, "is not a JSON object; this workspace is skipped")
        try:
            ws = Workspace.model_validate(data)
        except (ValidationError, WorkspaceError) as exc:
            raise DataError(path, f"is not a valid workspace file ({_first(exc)})") from exc
        if ws.id != ws_id:
            raise DataError(path, f"says id {ws.id!r} but lives in folder {ws_id!r}")
        for bundle in ws.bundles:
            try:
                self._paths.bundle_dir(bundle.bundle_dir)
            except WorkspaceError as exc:
                raise DataError(path, str(exc)) from exc
        if len({b.server_name for b in ws.bundles}) != len(ws.bundles):
            raise DataError(path, "lists the same server name twice")
        return ws

    def save(self, ws: Workspace) -> None:
        refuse_links(self._paths.workspace_file(ws.id), self._paths.root)
        directory = ensure_dir(self._paths.workspace_dir(ws.id), PRIVATE_DIR_MODE)
        payload = {"format": FORMAT, **ws.model_dump(mode="json")}
        atomic_write_json(directory / "workspace.json", payload)

    def create_dir(self, ws_id: str) -> Path:
        directory = self._paths.workspace_dir(ws_id)
        refuse_links(directory, self._paths.root)
        ensure_dir(self._paths.workspaces_dir, PRIVATE_DIR_MODE)
        directory.mkdir(mode=PRIVATE_DIR_MODE)  # FileExistsError if someone raced us
        fsync_dir(directory.parent)
        return directory

    def delete(self, ws_id: str) -> None:
        directory = self._paths.workspace_dir(ws_id)
        refuse_links(directory, self._paths.root)  # rmtree through workspaces/ would follow it
        shutil.rmtree(directory, ignore_errors=True)
        if directory.parent.exists():
            fsync_dir(directory.parent)


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {err['msg']}" if loc else err["msg"]
    return str(exc)
