"""Connect a client → "Add to …" through the dialog on real temp config files: the diff
first, nothing written until Write, every other entry kept, a backup, a broken file refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gui.connect_dialog import ConnectDialog


def test_add_to_merges_keeps_other_entries_and_refuses_a_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    others = {
        "mcpServers": {"github": {"command": "gh-mcp", "args": ["--ro"]}},
        "theme": "dark",
    }
    cursor.write_text(json.dumps(others, indent=2))
    cursor.chmod(0o640)
    vscode = home / ".config" / "Code" / "User" / "mcp.json"
    vscode.parent.mkdir(parents=True)
    broken = '{ // a comment: not JSON\n  "servers": {}\n}\n'
    vscode.write_text(broken)

    dialog = ConnectDialog("Demo", tmp_path / "data")
    try:
        tab = dialog.client_tabs["cursor"]
        assert tab.add_button.isEnabled() and tab.add_button.text() == "Add to mcp.json…"
        tab.add_button.click()
        # The change is shown; the file is untouched until Write.
        assert not tab.preview.isHidden() and "+" in tab.preview.toPlainText()
        assert json.loads(cursor.read_text()) == others
        tab.write_button.click()
        merged = json.loads(cursor.read_text())
        assert merged["theme"] == "dark"
        assert merged["mcpServers"]["github"] == others["mcpServers"]["github"]
        (added,) = [k for k in merged["mcpServers"] if k != "github"]
        entry = merged["mcpServers"][added]
        assert "connect" in entry["args"] and "Demo" in entry["args"]
        assert json.loads(cursor.with_name("mcp.json.bak").read_text()) == others
        assert cursor.stat().st_mode & 0o777 == 0o640
        assert tab.banner.kind == "ok" and "Written to" in tab.banner.text
        assert tab.snippet.restart and tab.snippet.restart in tab.banner.text  # restart or not

        # Not valid JSON: refused, said so, and left exactly as it was.
        code = dialog.client_tabs["vscode"]
        code.add_button.click()
        assert code.banner.kind == "error" and "JSON" in code.banner.text
        assert code.write_button.isHidden()
        assert vscode.read_text() == broken
    finally:
        dialog.close()
        dialog.deleteLater()
