"""The exact configuration each MCP client needs to use one workspace.

Every client launches ``bundle-console connect WORKSPACE`` as a stdio server;
they differ only in where that goes (a JSON key, a command line) and in whether
they notice a new entry without a restart. The command is always absolute
(clients start servers with their own, often minimal, PATH), and the data dir
is passed only when it is not the one the relay would find by itself.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.paths import resolve_data_dir, slugify

ClientKind = Literal["claude-desktop", "claude-code", "cursor", "vscode", "generic"]


@dataclass(frozen=True)
class Snippet:
    """What to show for one client: a title, the text to copy, where it goes."""

    client: ClientKind
    title: str
    #: the text the Copy button copies (JSON, or a shell command line)
    text: str
    #: "json" or "shell": how the dialog labels it
    language: Literal["json", "shell"]
    #: the client's own config file, when it has one ("Add to …" merges there)
    config_path: Path | None
    #: the key under which the servers live in that file
    servers_key: str | None
    #: the entry the merge adds under ``servers_key``
    entry: dict[str, object] | None
    #: whether the client must be restarted to see a new entry
    restart: str


#: Display order in the dialog.
CLIENTS: tuple[ClientKind, ...] = ("claude-desktop", "claude-code", "cursor", "vscode", "generic")


def server_key(ws_name: str) -> str:
    """The entry's name in a client: ``bundle-console-<workspace>``, letters, digits and -."""
    return f"bundle-console-{slugify(ws_name) or 'workspace'}"


def console_executable() -> list[str]:
    """The absolute command that runs ``bundle-console`` for this installation.

    The script beside this interpreter (a venv's ``bin/``) first, then PATH, then
    the interpreter running the CLI module: each is absolute.
    """
    beside = Path(sys.executable).parent / "bundle-console"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("bundle-console")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "core.cli"]


def connect_command(
    ws_name: str, data_dir: Path | None = None, executable: list[str] | None = None
) -> list[str]:
    """argv of the relay for ``ws_name``; ``--data-dir`` only when it is not the default."""
    argv = [*(executable or console_executable()), "connect", ws_name]
    if data_dir is not None:
        default = resolve_data_dir(None)
        if Path(data_dir).absolute() != default:
            argv += ["--data-dir", str(Path(data_dir).absolute())]
    return argv


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def config_path(client: ClientKind) -> Path | None:
    """Where the client keeps its user-level MCP servers on this OS (None: no file)."""
    home = Path.home()
    appdata = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    if client == "claude-desktop":
        if sys.platform == "darwin":
            return (
                home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
            )
        if sys.platform == "win32":
            return appdata / "Claude" / "claude_desktop_config.json"
        return _config_home() / "Claude" / "claude_desktop_config.json"
    if client == "claude-code":
        return home / ".claude.json"
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    if client == "vscode":
        if sys.platform == "darwin":
            return home / "Library" / "Application Support" / "Code" / "User" / "mcp.json"
        if sys.platform == "win32":
            return appdata / "Code" / "User" / "mcp.json"
        return _config_home() / "Code" / "User" / "mcp.json"
    return None


def snippets(
    ws_name: str, data_dir: Path | None = None, executable: list[str] | None = None
) -> dict[ClientKind, Snippet]:
    """One :class:`Snippet` per client in :data:`CLIENTS`, for workspace ``ws_name``."""
    argv = connect_command(ws_name, data_dir, executable)
    command, args = argv[0], argv[1:]
    name = server_key(ws_name)
    plain: dict[str, object] = {"command": command, "args": args}
    stdio: dict[str, object] = {"type": "stdio", "command": command, "args": args}

    def as_json(key: str, entry: dict[str, object]) -> str:
        return json.dumps({key: {name: entry}}, indent=2)

    claude_code = shlex.join(["claude", "mcp", "add", "--scope", "user", name, "--", *argv])
    return {
        "claude-desktop": Snippet(
            "claude-desktop",
            "Claude Desktop",
            as_json("mcpServers", plain),
            "json",
            config_path("claude-desktop"),
            "mcpServers",
            plain,
            "Quit and reopen Claude Desktop: it reads this file only at launch.",
        ),
        "claude-code": Snippet(
            "claude-code",
            "Claude Code",
            claude_code,
            "shell",
            config_path("claude-code"),
            "mcpServers",
            stdio,
            "Start a new Claude Code session: running sessions keep their servers.",
        ),
        "cursor": Snippet(
            "cursor",
            "Cursor",
            as_json("mcpServers", plain),
            "json",
            config_path("cursor"),
            "mcpServers",
            plain,
            "Cursor reloads mcp.json; if the server does not appear, turn it on in Settings → MCP.",
        ),
        "vscode": Snippet(
            "vscode",
            "VS Code",
            as_json("servers", stdio),
            "json",
            config_path("vscode"),
            "servers",
            stdio,
            "No restart: VS Code sees the new server in mcp.json; start it from there.",
        ),
        "generic": Snippet(
            "generic",
            "Any stdio client",
            json.dumps(plain, indent=2),
            "json",
            None,
            None,
            None,
            "Give the client this command and arguments as a stdio server.",
        ),
    }
