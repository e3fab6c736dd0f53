"""Console-wide settings kept in ``<data>/settings.json`` (one small JSON object).

Today it holds ``env_passthrough``: extra host environment variables every
bundle gets on top of the built-in allowlist (a workspace can add its own, see
``Workspace.env_passthrough``). An unreadable file is reported, never overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.atomic import atomic_write_json, read_json
from core.errors import DataError, WorkspaceError

SETTINGS_FILE = "settings.json"
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_PASSTHROUGH = 100


def clean_env_names(names: Iterable[object]) -> list[str]:
    """Validated, de-duplicated variable names in the order given."""
    if isinstance(names, str):
        raise WorkspaceError("Give the variable names as a list, not one string.")
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name.strip()):
            raise WorkspaceError(
                f"{name!r} is not an environment variable name "
                "(letters, digits and _, not starting with a digit)."
            )
        if name.strip() not in out:
            out.append(name.strip())
    if len(out) > MAX_PASSTHROUGH:
        raise WorkspaceError(f"At most {MAX_PASSTHROUGH} variables can be passed through.")
    return out


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    env_passthrough: list[str] = Field(default_factory=list)

    @field_validator("env_passthrough", mode="before")
    @classmethod
    def _names(cls, value: object) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("must be a list of variable names")
        return clean_env_names(value)


def load_settings(root: Path) -> ConsoleSettings:
    path = root / SETTINGS_FILE
    if not path.exists():
        return ConsoleSettings()
    data = read_json(path)
    try:
        return ConsoleSettings.model_validate(data)
    except (ValidationError, WorkspaceError) as exc:
        raise DataError(path, f"is not a valid settings file ({exc})") from exc


def save_settings(root: Path, settings: ConsoleSettings) -> None:
    atomic_write_json(root / SETTINGS_FILE, settings.model_dump(), mode=0o600)
