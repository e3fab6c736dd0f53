"""Launch resolution: manifest + stored values -> the exact command, args and env."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from core.launch import (
    MARKER_ENV,
    build_launch_spec,
    resolve_values,
    sensitive_arg_warnings,
    unknown_placeholders,
)
from core.manifest import Manifest, parse_manifest
from core.models import LaunchError, LaunchSpec, NeedsSetup
from core.runtimes import python_launch
from tests.core.data.bundle_factory import manifest, with_config

DIRS = {
    "HOME": "/home/ada",
    "DESKTOP": "/home/ada/Desktop",
    "DOCUMENTS": "/home/ada/Documents",
    "DOWNLOADS": "/home/ada/Downloads",
}
HOST_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/ada",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "XDG_RUNTIME_DIR": "/run/user/1000",
    "TZ": "UTC",
    "AWS_SECRET_ACCESS_KEY": "console-secret",
    "PYTHONPATH": "/somewhere",
    "BUNDLE_CONSOLE_HOME": "/data",
}


def parse(data: dict[str, Any]) -> Manifest:
    return parse_manifest(json.dumps(data).encode(), "manifest.json")


def spec(
    data: dict[str, Any],
    stored: dict[str, Any] | None = None,
    bundle_dir: Path = Path("/opt/b"),
    **kw: Any,
) -> LaunchSpec:
    options: dict[str, Any] = {"environ": HOST_ENV, "dirs": DIRS, "platform": "linux"}
    options.update(kw)
    return build_launch_spec(
        parse(data),
        bundle_dir,
        stored or {},
        ws_id="ws_team",
        server_name="files",
        ws_name="Team",
        **options,
    )


def test_builtin_placeholders_in_command_args_env() -> None:
    data = with_config(
        {},
        args=[
            "${__dirname}/server/main.py",
            "--home=${HOME}",
            "${DESKTOP}",
            "${DOCUMENTS}${/}x",
            "${DOWNLOADS}${pathSeparator}y",
        ],
        env={"CFG": "${__dirname}/config.json"},
    )
    s = spec(data)
    assert s.command == python_launch("python", Path("/opt/b"), None)[0]  # a machine Python
    assert s.args == (
        "-S",  # ...with no site-packages: the bundle sees only what it ships
        "/opt/b/server/main.py",
        "--home=/home/ada",
        "/home/ada/Desktop",
        f"/home/ada/Documents{os.sep}x",
        f"/home/ada/Downloads{os.sep}y",
    )
    assert s.env["CFG"] == "/opt/b/config.json"
    assert s.cwd == "/opt/b"


def test_values_come_from_store_then_default_and_empty_is_absent() -> None:
    fields = {
        "region": {"type": "string", "title": "Region", "default": "eu"},
        "folder": {"type": "directory", "title": "Folder", "default": "${DOCUMENTS}/Notes"},
        "limit": {"type": "number", "title": "Limit", "default": 5},
    }
    m = parse(with_config(fields))
    assert resolve_values(m, {"region": "us"}, DIRS) == {
        "region": "us",
        "folder": "/home/ada/Documents/Notes",
        "limit": 5,
    }
    assert resolve_values(m, {"region": "", "limit": 7}, DIRS)["region"] == "eu"
    assert resolve_values(m, {"limit": 7}, DIRS)["limit"] == 7


def test_formatting_of_booleans_and_numbers() -> None:
    fields = {
        "flag": {"type": "boolean", "title": "Flag"},
        "whole": {"type": "number", "title": "Whole"},
        "frac": {"type": "number", "title": "Fraction"},
    }
    args = ["${user_config.flag}", "${user_config.whole}", "--f=${user_config.frac}"]
    env = {"FLAG": "${user_config.flag}", "WHOLE": "${user_config.whole}"}
    s = spec(with_config(fields, args, env), {"flag": False, "whole": 3.0, "frac": 2.5})
    assert s.args == ("-S", "false", "3", "--f=2.5")
    assert s.env["FLAG"] == "false" and s.env["WHOLE"] == "3"
    assert spec(with_config(fields, args), {"flag": True, "whole": 10, "frac": 1}).args[1:3] == (
        "true",
        "10",
    )


def test_multiple_field_expands_into_several_args() -> None:
    fields = {"dirs": {"type": "directory", "title": "Folders", "multiple": True}}
    args = ["main.py", "${user_config.dirs}", "--joined=${user_config.dirs}"]
    s = spec(with_config(fields, args, {"DIRS": "${user_config.dirs}"}), {"dirs": ["/a", "/b c"]})
    assert s.args == ("-S", "main.py", "/a", "/b c", f"--joined=/a{os.pathsep}/b c")
    assert s.env["DIRS"] == f"/a{os.pathsep}/b c"


def test_unset_optional_field_drops_whole_arg_and_env_blanks_inline() -> None:
    fields = {"token": {"type": "string", "title": "Token"}}
    args = ["main.py", "${user_config.token}", "--token=${user_config.token}"]
    env = {"TOKEN": "${user_config.token}", "HEADER": "Bearer ${user_config.token}"}
    s = spec(with_config(fields, args, env))
    assert s.args == ("-S", "main.py", "--token=")
    assert "TOKEN" not in s.env and s.env["HEADER"] == "Bearer "


@pytest.mark.parametrize(
    ("args", "env", "name"),
    [
        (["${NOPE}"], {}, "${NOPE}"),
        (["x"], {"A": "${user_config.undeclared}"}, "${user_config.undeclared}"),
        (["--x=${APPDATA}"], {}, "${APPDATA}"),
    ],
)
def test_unknown_placeholder_is_a_launch_error_naming_it(
    args: list[str], env: dict[str, str], name: str
) -> None:
    with pytest.raises(LaunchError) as info:
        spec(with_config({}, args, env))
    assert name in str(info.value)
    assert not isinstance(info.value, NeedsSetup)


def test_unknown_placeholder_in_a_default_is_a_launch_error() -> None:
    fields = {"f": {"type": "string", "title": "F", "default": "${__dirname}/x"}}
    with pytest.raises(LaunchError, match=r"\$\{__dirname\}"):
        spec(with_config(fields))


def test_no_literal_placeholder_reaches_the_process() -> None:
    fields = {
        "a": {"type": "string", "title": "A"},
        "b": {"type": "directory", "title": "B", "multiple": True, "default": ["${HOME}/x"]},
        "c": {"type": "number", "title": "C", "default": 1},
    }
    args = ["${__dirname}", "${user_config.a}", "${user_config.b}", "pre${user_config.a}post"]
    env = {"A": "${user_config.a}", "C": "${user_config.c}${/}${HOME}"}
    s = spec(with_config(fields, args, env))
    assert "${" not in " ".join([s.command, *s.args, *s.env.values()])


def test_needs_setup_message_is_exact() -> None:
    fields = {
        "api_key": {"type": "string", "title": "API key", "required": True, "sensitive": True},
        "opt": {"type": "string", "title": "Optional"},
    }
    data = with_config(fields, env={"KEY": "${user_config.api_key}"})
    data["display_name"] = "Files Pro"
    with pytest.raises(NeedsSetup) as info:
        spec(data, {"api_key": ""})
    assert str(info.value) == (
        'Missing required config "API key" for Files Pro (workspace Team). '
        "Open Configure… to set it."
    )
    assert info.value.field_key == "api_key" and info.value.field_title == "API key"
    data.pop("display_name")
    with pytest.raises(NeedsSetup, match=r"for sample \(workspace Team\)"):
        spec(data)


def test_required_field_satisfied_by_default() -> None:
    fields = {"dir": {"type": "directory", "title": "Dir", "required": True, "default": "${HOME}"}}
    assert spec(with_config(fields, args=["${user_config.dir}"])).args == (
        "-S",
        "/home/ada",
    )


def test_host_env_is_filtered_and_manifest_env_and_marker_added() -> None:
    s = spec(with_config({}, env={"LANG": "fr_FR.UTF-8", "MODE": "x"}))
    assert s.env == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/ada",
        "LANG": "fr_FR.UTF-8",
        "LC_ALL": "C.UTF-8",
        "XDG_RUNTIME_DIR": "/run/user/1000",
        "TZ": "UTC",
        "MODE": "x",
        MARKER_ENV: "ws_team/files",
    }


def test_sensitive_values_are_listed_as_secrets() -> None:
    fields = {
        "token": {"type": "string", "title": "Token", "sensitive": True},
        "paths": {"type": "file", "title": "Keys", "sensitive": True, "multiple": True},
        "region": {"type": "string", "title": "Region"},
    }
    env = {"T": "${user_config.token}", "R": "${user_config.region}"}
    s = spec(with_config(fields, env=env), {"token": "tok-123", "paths": ["/k1"], "region": "eu"})
    assert set(s.secrets) == {"tok-123", "/k1"}


def test_platform_overrides_replace_for_current_os_only() -> None:
    data = with_config({}, args=["base"], env={"A": "1"})
    data["server"]["mcp_config"]["platform_overrides"] = {
        "linux": {"args": ["linux-arg"], "env": {"B": "2"}},
        "win32": {"command": "C:\\x.exe"},
    }
    s = spec(data, platform="linux")
    assert (
        s.args
        == (
            "-S",
            "linux-arg",
        )
        and s.env.get("B") == "2"
        and "A" not in s.env
    )
    s = spec(data, platform="darwin")
    assert (
        s.args
        == (
            "-S",
            "base",
        )
        and s.env["A"] == "1"
    )


def test_node_must_be_on_path(tmp_path: Path) -> None:
    data = manifest()
    data["server"]["mcp_config"]["command"] = "node"
    with pytest.raises(LaunchError, match="`node` was not found on PATH"):
        spec(data, environ={"PATH": str(tmp_path)})
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\n")
    node.chmod(0o755)
    assert spec(data, environ={"PATH": str(tmp_path)}).command == str(node)


def test_relative_command_resolves_in_bundle_dir(tmp_path: Path) -> None:
    data = manifest()
    data["server"]["mcp_config"] = {"command": "bin/srv", "args": []}
    with pytest.raises(LaunchError, match="does not exist"):
        spec(data, bundle_dir=tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srv").write_text("")
    assert spec(data, bundle_dir=tmp_path).command == str(tmp_path / "bin" / "srv")
    data["server"]["mcp_config"] = {"command": "no-such-tool-xyz", "args": []}
    with pytest.raises(LaunchError, match="`no-such-tool-xyz` was not found on PATH"):
        spec(data, bundle_dir=tmp_path)


def test_command_derived_from_type_without_mcp_config() -> None:
    data = manifest()
    data["server"] = {"type": "python", "entry_point": "server/main.py"}
    s = spec(data)
    assert s.args == ("-S", "/opt/b/server/main.py")


def test_install_warnings_for_sensitive_args_and_unknown_placeholders() -> None:
    fields = {
        "token": {"type": "string", "title": "API token", "sensitive": True},
        "user": {"type": "string", "title": "User"},
    }
    m = parse(with_config(fields, args=["--token=${user_config.token}", "${user_config.user}"]))
    [warning] = sensitive_arg_warnings(m)
    assert '"API token"' in warning and "process list" in warning
    assert (
        sensitive_arg_warnings(parse(with_config(fields, env={"T": "${user_config.token}"}))) == []
    )
    assert unknown_placeholders(parse(with_config({}, args=["${WAT}"]))) == [
        "Unknown placeholder ${WAT} in server.mcp_config."
    ]
