"""Window geometry, splitter sizes and the selected workspace, kept between runs.

These are GUI preferences, not console data, so they live in the user's
config location (``$XDG_CONFIG_HOME/bundle-console/gui.ini`` on Linux via
QStandardPaths) rather than under the data dir, which only core writes. The
selected workspace is stored per data dir, since ids differ between data dirs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

#: Overrides the settings file (tests and screenshots use a throwaway one).
SETTINGS_ENV = "BUNDLE_CONSOLE_GUI_SETTINGS"


def default_settings_path() -> Path:
    override = os.environ.get(SETTINGS_ENV)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base) / "bundle-console" / "gui.ini"


def _tool_key(ws_id: str, server: str, tool: str) -> str:
    return hashlib.sha256(f"{ws_id}\0{server}\0{tool}".encode()).hexdigest()[:24]


def _data_dir_group(data_dir: Path) -> str:
    return "data-" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]


class GuiSettings:
    """Thin typed wrapper over a QSettings ini file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_settings_path()
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._qs.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @property
    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def splitter(self, name: str) -> QByteArray | None:
        return self._bytes(f"splitters/{name}")

    def header(self, name: str) -> QByteArray | None:
        return self._bytes(f"headers/{name}")

    def save_window(
        self,
        geometry: QByteArray,
        state: QByteArray,
        splitters: dict[str, QByteArray],
        headers: dict[str, QByteArray],
    ) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)
        for name, value in splitters.items():
            self._qs.setValue(f"splitters/{name}", value)
        for name, value in headers.items():
            self._qs.setValue(f"headers/{name}", value)

    def selected_workspace(self, data_dir: Path) -> str | None:
        value = self._qs.value(f"{_data_dir_group(data_dir)}/selected_workspace")
        return str(value) if value else None

    def set_selected_workspace(self, data_dir: Path, ws_id: str | None) -> None:
        group = _data_dir_group(data_dir)
        self._qs.setValue(f"{group}/data_dir", str(data_dir))
        self._qs.setValue(f"{group}/selected_workspace", ws_id or "")

    def tool_arguments(self, data_dir: Path, ws_id: str, server: str, tool: str) -> dict[str, Any]:
        """The arguments of the last "Try a tool" run (secret-looking fields never stored)."""
        raw = self._qs.value(f"{_data_dir_group(data_dir)}/tools/{_tool_key(ws_id, server, tool)}")
        try:
            value = json.loads(str(raw)) if raw else {}
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def set_tool_arguments(
        self, data_dir: Path, ws_id: str, server: str, tool: str, arguments: dict[str, Any]
    ) -> None:
        key = f"{_data_dir_group(data_dir)}/tools/{_tool_key(ws_id, server, tool)}"
        self._qs.setValue(key, json.dumps(arguments, sort_keys=True))

    def last_tried_tool(self, data_dir: Path, ws_id: str, server: str) -> str | None:
        """The tool of a bundle last run in "Try a tool" (Configure's Save & test re-runs it)."""
        raw = self._qs.value(f"{_data_dir_group(data_dir)}/tried/{_tool_key(ws_id, server, '')}")
        return str(raw) if raw else None

    def set_last_tried_tool(self, data_dir: Path, ws_id: str, server: str, tool: str) -> None:
        self._qs.setValue(f"{_data_dir_group(data_dir)}/tried/{_tool_key(ws_id, server, '')}", tool)

    def sync(self) -> None:
        self._qs.sync()
