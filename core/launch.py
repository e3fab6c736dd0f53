"""Turn a manifest + stored values into a :class:`~core.models.LaunchSpec`.

The lifecycle calls this at every spawn, so credentials are read fresh each
time (that is what makes respawn-after-write pick up the newest value).
Rules that matter for safety:

* no literal ``${...}`` ever reaches the process: an unknown placeholder is a
  :class:`LaunchError` naming it;
* a missing required field is :class:`NeedsSetup`, not a crash;
* the child sees only an allowlisted slice of our environment plus what the
  manifest declares, and sensitive values are listed in ``spec.secrets``.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from core.manifest import PLACEHOLDER_RE, USER_CONFIG_PREFIX, Manifest, UserConfigField
from core.models import MARKER_ENV, LaunchError, LaunchSpec, NeedsSetup, marker_for

#: proxy and CA variables: behind a proxy or a TLS-inspecting network a bundle
#: (and uv fetching its dependencies) needs them, and the manifest cannot know them
NETWORK_ENV = frozenset(
    name
    for base in (
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    )
    for name in (base, base.lower())
)
ALLOWED_ENV = (
    frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TMPDIR", "TZ"})
    | NETWORK_ENV
)
ALLOWED_ENV_PREFIXES = ("LC_", "XDG_")
PYTHON_COMMANDS = frozenset({"python", "python3"})
#: placeholders expanded inside user_config defaults (MANIFEST.md names HOME,
#: DESKTOP and DOCUMENTS; DOWNLOADS is a system dir like them, so it is accepted too)
DEFAULT_PLACEHOLDERS = frozenset({"HOME", "DESKTOP", "DOCUMENTS", "DOWNLOADS"})


class _Absent:
    """An optional user_config field with no value: whole args drop, inline becomes ''."""


ABSENT = _Absent()


def filter_host_env(environ: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """Keep only the variables a bundle legitimately needs from the console's env.

    ``extra`` names more variables the administrator chose to pass (settings).
    """
    allowed = ALLOWED_ENV | frozenset(extra)
    return {k: v for k, v in environ.items() if k in allowed or k.startswith(ALLOWED_ENV_PREFIXES)}


def system_dirs() -> dict[str, str]:
    """The user's well-known folders, as MCPB names them.

    Cached per (HOME, XDG_CONFIG_HOME): platformdirs re-reads user-dirs.dirs on
    every call (~1.3 ms), which showed up in the loop time of mass respawns.
    """
    return dict(_system_dirs(str(Path.home()), os.environ.get("XDG_CONFIG_HOME", "")))


@functools.lru_cache(maxsize=8)
def _system_dirs(home: str, _xdg_config_home: str) -> dict[str, str]:
    return {
        "HOME": home,
        "DESKTOP": platformdirs.user_desktop_dir() or os.path.join(home, "Desktop"),
        "DOCUMENTS": platformdirs.user_documents_dir() or os.path.join(home, "Documents"),
        "DOWNLOADS": platformdirs.user_downloads_dir() or os.path.join(home, "Downloads"),
    }


def is_empty(value: Any) -> bool:
    """Empty strings/lists count as absent (the form clears a field by emptying it)."""
    return value is None or value == "" or (isinstance(value, list) and not value)


def format_scalar(value: Any) -> str:
    """How a config value looks on a command line: true/false, 3 not 3.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def join_multiple(field: UserConfigField, values: list[Any]) -> str:
    """A ``multiple`` value inside a larger string: paths join like PATH, strings by commas."""
    sep = os.pathsep if field.type in ("directory", "file") else ","
    return sep.join(format_scalar(v) for v in values)


def expand_default(value: Any, dirs: Mapping[str, str], where: str) -> Any:
    """Expand ``${HOME}``/``${DESKTOP}``/``${DOCUMENTS}`` in a manifest default."""
    if isinstance(value, list):
        return [expand_default(v, dirs, where) for v in value]
    if not isinstance(value, str):
        return value

    def repl(match: Any) -> str:
        name = match.group(1)
        if name not in DEFAULT_PLACEHOLDERS:
            raise LaunchError(f"Unknown placeholder ${{{name}}} in {where}.")
        return dirs[name]

    return PLACEHOLDER_RE.sub(repl, value)


def resolve_values(
    manifest: Manifest, stored: Mapping[str, Any], dirs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Effective value per field: credential store, then expanded default; empties omitted."""
    dirs = dirs if dirs is not None else system_dirs()
    values: dict[str, Any] = {}
    for key, field in manifest.user_config.items():
        value = stored.get(key)
        if is_empty(value) and field.default is not None:
            value = expand_default(field.default, dirs, f"the default of user_config.{key}")
        if not is_empty(value):
            values[key] = value
    return values


#: the window's way to set a field; the CLI answers replace it with its own
#: (core.service.ops.cli_wording), Configure itself drops it.
SETUP_HINT = "Open Configure… to set it."


def needs_setup_message(title: str, bundle: str, ws_name: str) -> str:
    return f'Missing required config "{title}" for {bundle} (workspace {ws_name}). {SETUP_HINT}'


def check_required(manifest: Manifest, values: Mapping[str, Any], ws_name: str) -> None:
    """Raise NeedsSetup for the first required field without a value."""
    for key, field in manifest.user_config.items():
        if field.required and key not in values:
            raise NeedsSetup(
                needs_setup_message(field.title, manifest.label, ws_name), key, field.title
            )


def sensitive_arg_warnings(manifest: Manifest) -> list[str]:
    """Sensitive values placed in args are visible to every local user via ``ps``."""
    sensitive = manifest.sensitive_keys()
    mcp = manifest.server.mcp_config
    if not sensitive or mcp is None:
        return []
    arg_lists = [mcp.args] + [o.args for o in mcp.platform_overrides.values() if o.args]
    found: list[str] = []
    for args in arg_lists:
        for arg in args:
            for name in PLACEHOLDER_RE.findall(arg):
                key = name.removeprefix(USER_CONFIG_PREFIX)
                if name.startswith(USER_CONFIG_PREFIX) and key in sensitive and key not in found:
                    found.append(key)
    return [
        f'Sensitive field "{manifest.user_config[k].title}" is passed as a command-line argument; '
        "other users of this computer can see it in the process list. "
        "Ask the bundle author to pass it through env instead."
        for k in found
    ]


def unknown_placeholders(manifest: Manifest) -> list[str]:
    """Placeholders in mcp_config that launch would reject (reported as an install warning)."""
    mcp = manifest.server.mcp_config
    if mcp is None:
        return []
    texts = [mcp.command, *mcp.args, *mcp.env.values()]
    for override in mcp.platform_overrides.values():
        texts += [override.command or "", *(override.args or []), *(override.env or {}).values()]
    bad: list[str] = []
    for text in texts:
        for name in PLACEHOLDER_RE.findall(text):
            if not _known(name, manifest) and name not in bad:
                bad.append(name)
    found = [f"Unknown placeholder ${{{n}}} in server.mcp_config." for n in bad]
    for key, field in manifest.user_config.items():
        defaults = field.default if isinstance(field.default, list) else [field.default]
        for text in defaults:
            for name in PLACEHOLDER_RE.findall(text) if isinstance(text, str) else []:
                if name not in DEFAULT_PLACEHOLDERS:
                    found.append(
                        f"Unknown placeholder ${{{name}}} in the default of user_config.{key}: "
                        f"the bundle cannot start while that default is used."
                    )
    return found


def _known(name: str, manifest: Manifest) -> bool:
    if name.startswith(USER_CONFIG_PREFIX):
        return name.removeprefix(USER_CONFIG_PREFIX) in manifest.user_config
    return name in {"__dirname", "pathSeparator", "/", "HOME", "DESKTOP", "DOCUMENTS", "DOWNLOADS"}


class _Substituter:
    """Expands placeholders for one spawn; knows the bundle dir and the resolved values."""

    def __init__(
        self, manifest: Manifest, bundle_dir: Path, values: Mapping[str, Any], dirs: dict[str, str]
    ) -> None:
        self.manifest = manifest
        self.values = values
        self.builtins = {
            **dirs,
            "__dirname": str(bundle_dir),
            "pathSeparator": os.sep,
            "/": os.sep,
        }

    def lookup(self, name: str, where: str) -> Any:
        """A placeholder's raw value: str, list (multiple), or ABSENT."""
        if name in self.builtins:
            return self.builtins[name]
        if name.startswith(USER_CONFIG_PREFIX):
            key = name.removeprefix(USER_CONFIG_PREFIX)
            if key in self.manifest.user_config:
                return self.values.get(key, ABSENT)
        raise LaunchError(
            f"Unknown placeholder ${{{name}}} in {where} of {self.manifest.label}'s manifest."
        )

    def text(self, text: str, where: str) -> str:
        def repl(match: Any) -> str:
            name = match.group(1)
            value = self.lookup(name, where)
            if value is ABSENT:
                return ""
            if isinstance(value, list):
                key = name.removeprefix(USER_CONFIG_PREFIX)
                return join_multiple(self.manifest.user_config[key], value)
            return format_scalar(value)

        return PLACEHOLDER_RE.sub(repl, text)

    def args(self, args: list[str]) -> list[str]:
        out: list[str] = []
        for arg in args:
            whole = PLACEHOLDER_RE.fullmatch(arg)
            if whole and whole.group(1).startswith(USER_CONFIG_PREFIX):
                value = self.lookup(whole.group(1), "args")
                if value is ABSENT:
                    continue
                if isinstance(value, list):
                    out.extend(format_scalar(v) for v in value)
                    continue
            out.append(self.text(arg, "args"))
        return out

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, template in env.items():
            whole = PLACEHOLDER_RE.fullmatch(template)
            if whole and self.lookup(whole.group(1), f"env {name}") is ABSENT:
                continue  # unset optional field: leave the variable out, not ""
            out[name] = self.text(template, f"env {name}")
        return out


def _base_command(manifest: Manifest, platform: str) -> tuple[str, list[str], dict[str, str]]:
    """command/args/env from mcp_config with the OS override applied, or derived from type."""
    server = manifest.server
    mcp = server.mcp_config
    if mcp is None:
        entry = "${__dirname}/" + server.entry_point
        derived = {
            "python": ("python", [entry]),
            "node": ("node", [entry]),
            "binary": (entry, []),
            "uv": ("uv", ["run", "--project", "${__dirname}", entry]),
        }
        command, args = derived[server.type]
        return command, args, {}
    command, args, env = mcp.command, list(mcp.args), dict(mcp.env)
    override = mcp.platform_overrides.get(platform)
    if override is not None:
        command = override.command if override.command is not None else command
        args = list(override.args) if override.args is not None else args
        env = dict(override.env) if override.env is not None else env
    return command, args, env


def resolve_command(command: str, bundle_dir: Path, path_env: str | None, label: str) -> str:
    """Find the executable: PATH for bare names, else the bundle (python: see python_launch)."""
    if command == "node":
        found = shutil.which("node", path=path_env)
        if not found:
            raise LaunchError(f"{label} needs Node.js, but `node` was not found on PATH.")
        return found
    if os.path.isabs(command) or os.sep in command or "/" in command:
        candidate = Path(command) if os.path.isabs(command) else bundle_dir / command
        if sys.platform == "win32" and not candidate.suffix:  # pragma: no cover
            candidate = candidate.with_suffix(".exe")
        if not candidate.is_file():
            raise LaunchError(f"{label}: command {candidate} does not exist.")
        return str(candidate)
    found = shutil.which(command, path=path_env)
    if not found and command == "uv":
        from core.runtimes import find_uv  # the uv package's binary, when not on PATH

        found = find_uv(path_env)
    if not found:
        raise LaunchError(f"{label}: command `{command}` was not found on PATH.")
    return found


def uv_environment(ws_id: str, server_name: str) -> Path:
    """Where uv keeps a uv bundle's virtual environment (outside the bundle folder)."""
    import platformdirs

    cache = Path(platformdirs.user_cache_dir("bundle-console", appauthor=False))
    return cache / "uv" / ws_id / server_name


def build_launch_spec(
    manifest: Manifest,
    bundle_dir: Path,
    stored: Mapping[str, Any],
    *,
    ws_id: str,
    server_name: str,
    ws_name: str,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    dirs: dict[str, str] | None = None,
    env_passthrough: Iterable[str] = (),
) -> LaunchSpec:
    """Resolve everything for one spawn. Raises NeedsSetup or LaunchError."""
    dirs = dirs if dirs is not None else system_dirs()
    platform = platform or sys.platform
    host_env = filter_host_env(os.environ if environ is None else environ, env_passthrough)
    values = resolve_values(manifest, stored, dirs)
    check_required(manifest, values, ws_name)

    sub = _Substituter(manifest, bundle_dir, values, dirs)
    command_t, args_t, env_t = _base_command(manifest, platform)
    command = sub.text(command_t, "command")
    if not command:
        raise LaunchError(f"{manifest.label}: the command is empty after substitution.")
    args = sub.args(args_t)
    env = {**host_env, **sub.env(env_t), MARKER_ENV: marker_for(ws_id, server_name)}
    if command in PYTHON_COMMANDS:
        from core.runtimes import PythonNotFound, python_launch

        try:
            executable, flags = python_launch(command, bundle_dir, env.get("PATH"))
        except PythonNotFound as exc:
            raise LaunchError(f"{manifest.label}: {exc}") from None
        args = [*flags, *args]
    else:
        executable = resolve_command(command, bundle_dir, env.get("PATH"), manifest.label)
    if Path(executable).name in ("uv", "uv.exe") and "UV_PROJECT_ENVIRONMENT" not in env:
        # The installed bundle folder is read-only to the bundle (core.sandbox): uv's
        # project environment goes to the console's cache, one per bundle and workspace.
        env["UV_PROJECT_ENVIRONMENT"] = str(uv_environment(ws_id, server_name))
        # ...and uv cannot write a uv.lock there either: a bundle that ships one runs frozen.
        if (bundle_dir / "uv.lock").is_file():
            env.setdefault("UV_FROZEN", "1")

    secrets: list[str] = []
    for key in sorted(manifest.sensitive_keys()):
        value = values.get(key)
        items = value if isinstance(value, list) else [value]
        secrets += [format_scalar(v) for v in items if not is_empty(v)]
    return LaunchSpec(
        command=executable,
        args=tuple(args),
        env=env,
        cwd=str(bundle_dir),
        secrets=tuple(secrets),
    )
