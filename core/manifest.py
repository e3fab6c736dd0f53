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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
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


def _warn(info: ValidationInfo, text: str) -> None:
    """Record a problem the host tolerates (shown at install, in details, by the CLI)."""
    if isinstance(info.context, dict):
        info.context.setdefault("warnings", []).append(text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class Author(_Model):
    name: str = ""
    email: str | None = None
    url: str | None = None


def _lenient(value: Any, kind: type | tuple[type, ...]) -> Any:
    """Metadata of the wrong type is dropped (the conformance check names it), not fatal."""
    return value if isinstance(value, kind) else None


class Repository(_Model):
    type: str = ""
    url: str = ""


class Icon(_Model):
    src: str
    size: str = ""
    theme: str | None = None


class Localization(_Model):
    resources: str = ""
    default_locale: str = ""


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
    """One ``user_config`` entry: what the Configure form shows and what launch substitutes.

    What the official validator accepts is accepted: a default typed as text
    (``"10"``, ``"false"``) is coerced the way the official library passes it on,
    or ignored with a warning; an empty title falls back to the key (see
    ``Manifest``); min > max and a default outside them only warn.
    """

    type: ConfigType
    title: str = ""
    description: str = ""
    required: bool = False
    #: str | number | bool | list[str]; checked against ``type`` below
    default: Any = None
    multiple: bool = False
    sensitive: bool = False
    min: float | None = None
    max: float | None = None


_BAD = object()


def _coerce(value: Any, kind: object, multiple: bool) -> Any:
    """A default as the official library would pass it, in the field's own type."""
    if isinstance(value, list):
        if not multiple or not all(isinstance(v, str | int | float) for v in value):
            return _BAD
        return [_scalar_text(v) for v in value]
    if multiple:
        return [_scalar_text(value)] if isinstance(value, str | int | float) else _BAD
    if kind == "number":
        if isinstance(value, bool):
            return _BAD
        if isinstance(value, int | float):
            return value if math.isfinite(value) else _BAD
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                return _BAD
            if not math.isfinite(number):
                return _BAD
            return int(number) if number.is_integer() else number
        return _BAD
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return _BAD
    return _scalar_text(value) if isinstance(value, str | int | float) else _BAD


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Manifest(_Model):
    """A validated MCPB manifest. ``manifest_version`` also carries a legacy ``dxt_version``."""

    manifest_version: str
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    author: Author = Field(default_factory=Author)
    display_name: str | None = None
    icon: str | None = None
    # what the details view shows the administrator (kept, never used to run)
    long_description: str | None = None
    license: str | None = None
    homepage: str | None = None
    documentation: str | None = None
    support: str | None = None
    repository: Repository | None = None
    keywords: list[str] = Field(default_factory=list)
    icons: list[Icon] = Field(default_factory=list)
    screenshots: list[str] = Field(default_factory=list)
    privacy_policies: list[str] = Field(default_factory=list)
    localization: Localization | None = None
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

    _warnings: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _drop_bad_metadata(cls, data: Any) -> Any:
        """Metadata of the wrong shape is dropped here and named by the conformance check."""
        if not isinstance(data, dict):
            return data
        kinds: dict[str, Any] = {
            "long_description": str,
            "license": str,
            "homepage": str,
            "documentation": str,
            "support": str,
            "repository": dict,
            "localization": dict,
            "description": str,
        }
        lists = ("keywords", "screenshots", "privacy_policies")
        out = dict(data)
        for key, kind in kinds.items():
            if key in out and _lenient(out[key], kind) is None:
                del out[key]
        for key in lists:
            if key in out:
                value = out[key]
                out[key] = (
                    [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
                )
        if "icons" in out:
            icons = out["icons"]
            out["icons"] = (
                [i for i in icons if isinstance(i, dict) and isinstance(i.get("src"), str)]
                if isinstance(icons, list)
                else []
            )
        for key in ("repository", "localization", "author"):
            if isinstance(out.get(key), dict):  # keep only the string members
                out[key] = {k: v for k, v in out[key].items() if isinstance(v, str)}
        for key in ("author", "_meta"):
            if key in out and not isinstance(out[key], dict):
                del out[key]
        return out

    @model_validator(mode="before")
    @classmethod
    def _coerce_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """Defaults typed as text are coerced like the official library; others ignored."""
        if not isinstance(data, dict) or not isinstance(data.get("user_config"), dict):
            return data
        fields = {}
        for key, entry in data["user_config"].items():
            if isinstance(entry, dict) and entry.get("title") in (None, ""):
                entry = {**entry, "title": key}  # the form and messages need a label
            if isinstance(entry, dict) and entry.get("default") is not None:
                value, kind = entry["default"], entry.get("type")
                coerced = _coerce(value, kind, entry.get("multiple") is True)
                if coerced is _BAD:
                    _warn(
                        info,
                        f"user_config.{key}: default {value!r} is not valid for a {kind} "
                        "field: ignored",
                    )
                    entry = {k: v for k, v in entry.items() if k != "default"}
                else:
                    entry = {**entry, "default": coerced}
            fields[key] = entry
        return {**data, "user_config": fields}

    @model_validator(mode="after")
    def _field_ranges(self, info: ValidationInfo) -> Manifest:
        for key, field in self.user_config.items():
            if field.type != "number":
                continue
            low, high, value = field.min, field.max, field.default
            if low is not None and high is not None and low > high:
                _warn(info, f"user_config.{key}: min is greater than max: no value can be valid")
            if isinstance(value, int | float) and not isinstance(value, bool):
                if (low is not None and value < low) or (high is not None and value > high):
                    _warn(info, f"user_config.{key}: default {value:g} is outside min/max")
        return self

    @property
    def warnings(self) -> list[str]:
        """Where this manifest departs from the official schema, in words (host can run it)."""
        return list(self._warnings)

    def field_label(self, key: str) -> str:
        """A field's title, or its key when the author left the title empty."""
        return self.user_config[key].title or key

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
    context: dict[str, Any] = {"warnings": []}
    try:
        manifest = Manifest.model_validate(data, context=context)
    except ValidationError as exc:
        problems = [
            f"{source}: {_format_loc(err['loc'])}: {_MODEL_NAME_RE.sub('object', err['msg'])}"
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise ManifestError(source, problems) from None
    from core.conformance import problems as conformance_problems

    found = conformance_problems(data)
    for line in context["warnings"]:
        if line not in found:
            found.append(line)
    manifest._warnings = found
    return manifest


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
