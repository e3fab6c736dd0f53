"""Which store holds a data dir's sensitive values, and why.

Precedence: ``Host.open(secrets=...)``, then ``$BUNDLE_CONSOLE_SECRETS``, then
the data dir's own record (``<data>/secrets.json``, written by
``secrets move-to-file``), then ``auto``. ``file`` never touches a keyring (the
test suite sets it, so no test reaches a keyring by accident); ``auto`` and
``keyring`` use the keyring whenever a usable backend answers, and fall back to
the 0600 file, saying so, when none does.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.atomic import PRIVATE_FILE_MODE, atomic_write_json, read_json
from core.errors import ConsoleError, DataError

SECRETS_ENV = "BUNDLE_CONSOLE_SECRETS"
CHOICES = ("auto", "keyring", "file")
SERVICE_PREFIX = "bundle-console"

Store = Literal["keyring", "file"]


def requested(explicit: str | None) -> str:
    """The caller's or the environment's choice ("auto" when neither says)."""
    value = explicit if explicit is not None else os.environ.get(SECRETS_ENV, "") or "auto"
    value = value.strip().lower()
    if value not in CHOICES:
        raise ConsoleError(
            f'Unknown secrets store "{value}" (from {SECRETS_ENV} or --secrets): '
            f"use one of {', '.join(CHOICES)}."
        )
    return value


@dataclass(frozen=True)
class SecretsStatus:
    """Where sensitive values go, for the details pane, ``status`` and the status bar."""

    store: Store
    #: why the file is used (None when the keyring is used)
    reason: str | None = None
    #: the keyring was wanted but could not be used: say so once in the status bar
    fallback: bool = False
    #: the keyring backend's name, when one is used
    backend: str | None = None

    @property
    def summary(self) -> str:
        """Short, for the details line; ``reason`` and ``notice`` carry the why."""
        if self.store == "keyring":
            return f"secrets in keyring ({self.backend})"
        return (
            "secrets in 0600 file: keyring unavailable" if self.fallback else "secrets in 0600 file"
        )

    @property
    def notice(self) -> str | None:
        """The one status-bar message of a fallback (None when nothing needs saying)."""
        if not self.fallback:
            return None
        return f"Keyring unavailable ({self.reason}): secrets are kept in 0600 files."

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "reason": self.reason,
            "fallback": self.fallback,
            "backend": self.backend,
            "summary": self.summary,
        }


@dataclass
class SecretsRecord:
    """``<data>/secrets.json``: the keyring service name and the administrator's choice.

    ``pending`` lists keyring items (service, name) whose bundle is gone but that
    could not be deleted yet (keyring locked at uninstall): retried at each open.
    """

    path: Path
    service: str = ""
    store: str | None = None
    pending: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> SecretsRecord:
        if not path.exists():
            return cls(path, service=f"{SERVICE_PREFIX}/{uuid.uuid4().hex}")
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("service"), str):
            raise DataError(path, "is not a secrets record (expected a JSON object with service)")
        pending = [
            (str(p[0]), str(p[1]))
            for p in data.get("pending", [])
            if isinstance(p, list) and len(p) == 2
        ]
        store = data.get("store")
        return cls(path, data["service"], store if store in ("file", "keyring") else None, pending)

    def save(self) -> None:
        body: dict[str, Any] = {"service": self.service, "pending": [list(p) for p in self.pending]}
        if self.store is not None:
            body["store"] = self.store
        atomic_write_json(self.path, body, mode=PRIVATE_FILE_MODE)
