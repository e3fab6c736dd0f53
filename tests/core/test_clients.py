"""Client configs for "Connect a client…": exact snippets, and merges that lose nothing."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from core.clients import apply_merge, connect_command, plan_merge, snippets
from core.clients.merge import MergeError
from core.clients.snippets import server_key

EXE = ["/opt/bc/bin/bundle-console"]


def test_connect_command_is_absolute_and_names_the_data_dir_only_when_not_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUNDLE_CONSOLE_HOME", raising=False)
    assert connect_command("Demo", None, EXE) == [*EXE, "connect", "Demo"]
    custom = tmp_path / "data"
    assert connect_command("Demo", custom, EXE) == [
        *EXE,
        "connect",
        "Demo",
        "--data-dir",
        str(custom),
    ]
    # The data dir the relay would find by itself ($BUNDLE_CONSOLE_HOME) is not repeated.
    monkeypatch.setenv("BUNDLE_CONSOLE_HOME", str(custom))
    assert connect_command("Demo", custom, EXE) == [*EXE, "connect", "Demo"]
    assert Path(connect_command("Demo")[0]).is_absolute()


def test_every_snippet_is_the_exact_text_its_client_reads(tmp_path: Path) -> None:
    found = snippets("My Team", tmp_path / "data", EXE)
    argv = [*EXE, "connect", "My Team", "--data-dir", str(tmp_path / "data")]
    name = server_key("My Team")
    assert name == "bundle-console-my-team"
    desktop = json.loads(found["claude-desktop"].text)
    assert desktop == {"mcpServers": {name: {"command": argv[0], "args": argv[1:]}}}
    cursor = json.loads(found["cursor"].text)
    assert cursor == desktop
    vscode = json.loads(found["vscode"].text)
    assert vscode == {"servers": {name: {"type": "stdio", "command": argv[0], "args": argv[1:]}}}
    code = shlex.split(found["claude-code"].text)
    assert code == ["claude", "mcp", "add", "--scope", "user", name, "--", *argv]
    generic = json.loads(found["generic"].text)
    assert generic == {"command": argv[0], "args": argv[1:]}
    assert all(s.restart for s in found.values())


def _write(path: Path, obj: object, mode: int = 0o640) -> str:
    text = json.dumps(obj, indent=4) + "\n"
    path.write_text(text)
    path.chmod(mode)
    return text


def test_merge_keeps_every_other_entry_backs_up_and_keeps_the_mode(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    original = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {"other": {"command": "uvx", "args": ["mcp-server-time"]}},
    }
    before = _write(config, original)
    entry = {"command": EXE[0], "args": ["connect", "Demo"]}
    plan = plan_merge(config, "mcpServers", "bundle-console-demo", entry)
    assert config.read_text() == before, "planning wrote to the file"
    assert not plan.replaces and not plan.creates and plan.changes
    assert "+" in plan.diff and "bundle-console-demo" in plan.diff
    backup = apply_merge(plan)
    merged = json.loads(config.read_text())
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert merged["mcpServers"]["other"] == original["mcpServers"]["other"]
    assert merged["mcpServers"]["bundle-console-demo"] == entry
    assert backup is not None and backup.read_text() == before
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    # Merging the same entry again changes nothing; a different one replaces it.
    assert not plan_merge(config, "mcpServers", "bundle-console-demo", entry).changes
    replaced = plan_merge(config, "mcpServers", "bundle-console-demo", {"command": "x"})
    assert replaced.replaces


@pytest.mark.parametrize(
    "text",
    ['{"mcpServers": {}, // a comment\n}', "[1, 2]", '{"mcpServers": []}', "\xff\xfe"],
    ids=["comment", "not-an-object", "servers-not-an-object", "not-utf8"],
)
def test_a_file_that_is_not_a_json_object_is_refused_and_left_alone(
    tmp_path: Path, text: str
) -> None:
    config = tmp_path / "mcp.json"
    config.write_bytes(text.encode("latin-1"))
    before = config.read_bytes()
    with pytest.raises(MergeError) as err:
        plan_merge(config, "mcpServers", "x", {"command": "y"})
    assert str(config) in str(err.value)
    assert config.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["mcp.json"]


def test_a_file_changed_after_the_preview_is_not_written(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    _write(config, {"servers": {}})
    plan = plan_merge(config, "servers", "bundle-console-demo", {"command": "x"})
    changed = _write(config, {"servers": {"added-meanwhile": {"command": "z"}}})
    with pytest.raises(MergeError, match="changed since the preview"):
        apply_merge(plan)
    assert config.read_text() == changed


def test_a_missing_file_is_created_private(tmp_path: Path) -> None:
    config = tmp_path / "sub" / "mcp.json"
    plan = plan_merge(config, "servers", "n", {"command": "x"})
    assert plan.creates and plan.before == ""
    assert apply_merge(plan) is None
    assert json.loads(config.read_text()) == {"servers": {"n": {"command": "x"}}}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
