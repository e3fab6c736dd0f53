"""MCPB ``manifest.json`` as pydantic models (manifest_version / legacy dxt_version 0.1-0.4).

Known keys are validated strictly (a string is never silently coerced to a
bool); unknown keys are ignored so newer manifests still load. Every problem is
reported as ``<file>: <json.path>: <what is wrong>`` so the author can fix it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.errors import ManifestError

MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 1024 * 1024
SUPPORTED_VERSIONS = ("0.1", "0.2", "0.3", "0.4")

ServerType = Literal["python", "node", "binary", "uv"]
ConfigType = Literal["string", "number", "boolean", "directory", "file"]

#: ``${name}`` placeholders as MCPB writes them (``name`` may be ``/`` or ``user_config.x``).
PLACEHOLDER_RE = re.compile(r"\$\{([^{}]*)\}")
USER_CONFIG_PREFIX = "user_config."
#: pydantic says "dictionary or instance of UserConfigField": authors know no class names
_MODEL_NAME_RE = re.compile(r"dictionary or instance of \w+")
_CONFIG_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class Author(_Model):
    name: str
    email: str | None = None
    url: str | None = None


class PlatformOverride(_Model):
    command: str | None = None
    args: list[str] | None = None
    env: dict[str, str] | None = None


class McpConfig(_Model):
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    #: keyed by ``sys.platform`` (darwin, win32, linux); other keys are ignored
    platform_overrides: dict[str, PlatformOverride] = Field(default_factory=dict)


class Server(_Model):
    type: ServerType
    entry_point: str = ""
    #: optional: when absent the command is derived from ``type`` + ``entry_point``
    mcp_config: McpConfig | None = None

    @model_validator(mode="after")
    def _launchable(self) -> Server:
        if self.mcp_config is None and not self.entry_point:
            raise PydanticCustomError(
                "server", "needs either mcp_config or entry_point to know what to run"
            )
        return self


class Tool(_Model):
    name: str
    description: str = ""


class Prompt(_Model):
    name: str
    description: str = ""
    arguments: list[str] = Field(default_factory=list)
    text: str = ""


class Runtimes(_Model):
    python: str | None = None
    node: str | None = None


class Compatibility(_Model):
    platforms: list[Literal["darwin", "win32", "linux"]] | None = None
    runtimes: Runtimes | None = None


class UserConfigField(_Model):
    """One ``user_config`` entry: what the Configure form shows and what launch substitutes."""

    type: ConfigType
    title: str = Field(min_length=1)
    description: str = ""
    required: bool = False
    #: str | number | bool | list[str]; checked against ``type`` below
    default: Any = None
    multiple: bool = False
    sensitive: bool = False
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> UserConfigField:
        if self.multiple and self.type in ("number", "boolean"):
            raise PydanticCustomError(
                "user_config", "multiple is only supported for string, directory and file fields"
            )
        if self.type == "number" and self.min is not None and self.max is not None:
            if self.min > self.max:
                raise PydanticCustomError("user_config", "min is greater than max")
        if self.default is not None:
            problem = self._default_problem(self.default)
            if problem:
                raise PydanticCustomError("user_config", "default {problem}", {"problem": problem})
        return self

    def _default_problem(self, value: Any) -> str | None:
        if self.multiple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return "must be a list of strings for a multiple field"
            return None
        if self.type == "boolean":
            return None if isinstance(value, bool) else "must be true or false"
        if self.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return "must be a number"
            if not math.isfinite(value):
                return "must be a finite number"
            if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max
            ):
                return "is outside min/max"
            return None
        return None if isinstance(value, str) else "must be a string"


class Manifest(_Model):
    """A validated MCPB manifest. ``manifest_version`` also carries a legacy ``dxt_version``."""

    manifest_version: str
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str
    author: Author
    display_name: str | None = None
    icon: str | None = None
    server: Server
    tools: list[Tool] = Field(default_factory=list)
    prompts: list[Prompt] = Field(default_factory=list)
    compatibility: Compatibility | None = None
    user_config: dict[str, UserConfigField] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict, alias="_meta")

    @model_validator(mode="before")
    @classmethod
    def _legacy_version_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "manifest_version" not in data and "dxt_version" in data:
            data = {**data, "manifest_version": data["dxt_version"]}
        return data

    @field_validator("manifest_version")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_VERSIONS:
            raise PydanticCustomError(
                "manifest_version",
                "unsupported version {value} (supported: {supported})",
                {"value": repr(value), "supported": ", ".join(SUPPORTED_VERSIONS)},
            )
        return value

    @field_validator("user_config")
    @classmethod
    def _keys(cls, value: dict[str, UserConfigField]) -> dict[str, UserConfigField]:
        for key in value:
            if not _CONFIG_KEY_RE.fullmatch(key):
                raise PydanticCustomError(
                    "user_config",
                    "key {key} must start with a letter or _ and use only letters, digits, _ or -",
                    {"key": repr(key)},
                )
        return value

    @property
    def label(self) -> str:
        """What the administrator calls this bundle: display_name, else name."""
        return self.display_name or self.name

    def sensitive_keys(self) -> set[str]:
        return {k for k, f in self.user_config.items() if f.sensitive}


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_manifest(raw: bytes, source: str) -> Manifest:
    """Validate manifest bytes; ``source`` names the file in every error line."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            source,
            [f"{source}: manifest is {len(raw)} bytes, over the {MAX_MANIFEST_BYTES} byte limit"],
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(source, [f"{source}: not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:
        msg = f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        raise ManifestError(source, [msg]) from None
    if not isinstance(data, dict):
        raise ManifestError(source, [f"{source}: top level must be a JSON object"])
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{source}: {_format_loc(err['loc'])}: {_MODEL_NAME_RE.sub('object', err['msg'])}"
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ManifestError(source, problems) from None


def load_manifest(bundle_dir: Path) -> Manifest:
    """Read and validate ``<bundle_dir>/manifest.json``."""
    path = bundle_dir / MANIFEST_NAME
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                str(path),
                [f"{path}: manifest is {size} bytes, over the {MAX_MANIFEST_BYTES} byte limit"],
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(str(path), [f"{path}: no manifest.json in the bundle"]) from None
    except OSError as exc:
        raise ManifestError(str(path), [f"{path}: cannot be read ({exc.strerror})"]) from None
    return parse_manifest(raw, str(path))
