"""Errors the data layer raises; every message is written for the administrator.

They subclass ``ValueError``/``LookupError`` where the caller's input is at fault,
so generic handlers still work, but the GUI can catch :class:`ConsoleError` to
show ``str(exc)`` as-is. No message ever contains a credential value.
"""

from __future__ import annotations

from pathlib import Path


class ConsoleError(Exception):
    """Base class: ``str(exc)`` is a complete, user-facing sentence."""


class DataError(ConsoleError):
    """A file under the data dir is unreadable or corrupt; it is kept untouched."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class ManifestError(ConsoleError, ValueError):
    """A bundle manifest is missing, too large, not JSON, or fails validation.

    ``problems`` holds one line per issue, each naming the file and JSON path.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.source = source
        self.problems = problems


class InstallError(ConsoleError, ValueError):
    """A bundle could not be installed or uninstalled; nothing was written."""


class SignatureError(InstallError):
    """A ``.mcpb``'s signature does not match it: refused unless the override is confirmed."""


class ConfigError(ConsoleError, ValueError):
    """A ``user_config`` write was rejected as a whole; ``problems`` lists why."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class WorkspaceError(ConsoleError, ValueError):
    """A workspace name or id is invalid, or the operation does not fit its state."""


class NotFoundError(ConsoleError, LookupError):
    """The workspace or bundle named by the caller does not exist."""

    def __str__(self) -> str:  # LookupError would otherwise quote the message
        return str(self.args[0]) if self.args else ""
