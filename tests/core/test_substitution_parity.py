"""Our substitution next to the official library's ``getMcpConfigForManifest``, run for real.

Where we agree the two outputs must be equal; where we differ (README, "Substitution
and the official library") both sides are asserted, so a change on either shows up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.launch import build_launch_spec, unknown_placeholders
from core.manifest import parse_manifest
from core.runtimes import ISOLATED_FLAGS
from tests.core.data.bundle_factory import with_config
from tests.core.data.signing import MCPB

SCRIPT = Path(__file__).parent / "data" / "official_config.mjs"
CONFIG_JS = MCPB.parent.parent / "@anthropic-ai" / "mcpb" / "dist" / "shared" / "config.js"
DIRS = {
    "HOME": "/home/ada",
    "DESKTOP": "/home/ada/Desktop",
    "DOCUMENTS": "/home/ada/Documents",
    "DOWNLOADS": "/home/ada/Downloads",
}


def official(data: dict[str, Any], values: dict[str, Any], bundle: Path) -> dict[str, Any]:
    if not CONFIG_JS.exists() or shutil.which("node") is None:
        pytest.skip("the official mcpb library is not installed (run `make test-tools`)")
    payload = {
        "manifest": data,
        "userConfig": values,
        "systemDirs": DIRS,
        "extensionPath": str(bundle),
    }
    done = subprocess.run(
        ["node", str(SCRIPT), str(CONFIG_JS)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def ours(data: dict[str, Any], values: dict[str, Any], bundle: Path) -> dict[str, Any]:
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    spec = build_launch_spec(
        m, bundle, values, ws_id="ws_a", server_name="s", ws_name="A", environ={}, dirs=DIRS
    )
    declared = set(data["server"]["mcp_config"].get("env", {}))
    # The interpreter flags a bare ``python`` gets (core.runtimes.python_launch) are a
    # launch decision, not substitution: the reference client never adds them.
    args = list(spec.args)
    flags = list(ISOLATED_FLAGS)
    if args[: len(flags)] == flags:
        args = args[len(flags) :]
    return {"args": args, "env": {k: v for k, v in spec.env.items() if k in declared}}


FIELDS = {
    "n": {"type": "number", "title": "N", "description": "", "default": 10},
    "flag": {"type": "boolean", "title": "Flag", "description": ""},
    "token": {"type": "string", "title": "Token", "description": ""},
    "dirs": {"type": "directory", "title": "Dirs", "description": "", "multiple": True},
    "opt": {"type": "string", "title": "Optional", "description": ""},
    "where": {"type": "directory", "title": "Where", "description": "", "default": "${HOME}/x"},
}


def bundle_manifest(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    return with_config(FIELDS, args=args, env=env or {})


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "b").mkdir()
    return tmp_path / "b"


def test_same_output_for_set_values_defaults_builtins_and_whole_multiple(bundle: Path) -> None:
    data = bundle_manifest(
        [
            "${__dirname}${/}server.py",
            "--n=${user_config.n}",
            "${user_config.flag}",
            "${user_config.dirs}",
            "${HOME}${pathSeparator}data",
        ],
        {"TOKEN": "${user_config.token}", "FLAG": "${user_config.flag}"},
    )
    values = {"flag": False, "token": "t0k", "dirs": ["/a", "/b"]}
    theirs = official(data, values, bundle)
    mine = ours(data, values, bundle)
    assert mine["args"] == theirs["args"]
    assert mine["env"] == theirs["env"]
    assert mine["args"][1:4] == ["--n=10", "false", "/a"]


def test_differences_are_the_documented_ones(bundle: Path) -> None:
    data = bundle_manifest(
        [
            "${user_config.opt}",
            "--opt=${user_config.opt}",
            "--dirs=${user_config.dirs}",
            "${user_config.where}",
        ],
        {"OPT": "${user_config.opt}"},
    )
    values = {"dirs": ["/a", "/b"]}
    theirs = official(data, values, bundle)
    mine = ours(data, values, bundle)
    # unset optional field: they pass the placeholder literally; we drop the whole arg,
    # empty an inline one and leave the variable out (never a literal ${...})
    assert theirs["args"][:2] == ["${user_config.opt}", "--opt=${user_config.opt}"]
    assert theirs["env"] == {"OPT": "${user_config.opt}"}
    assert mine["args"][0] == "--opt=" and "OPT" not in mine["env"]
    # a multiple field inside a longer string: they leave it literal; we join like PATH
    assert theirs["args"][2] == "--dirs=${user_config.dirs}"
    assert mine["args"][1] == "--dirs=/a:/b"
    # a placeholder inside a default: they pass it on unexpanded; we expand it
    assert theirs["args"][3] == "${HOME}/x"
    assert mine["args"][2] == "/home/ada/x"


def test_downloads_in_a_default_expands_and_unknown_ones_warn_at_install(bundle: Path) -> None:
    fields = {
        "out": {"type": "directory", "title": "Out", "default": "${DOWNLOADS}/reports"},
        "bad": {"type": "string", "title": "Bad", "default": "${NOPE}"},
    }
    data = with_config(fields, args=["${user_config.out}"])
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert ours(data, {"bad": "set"}, bundle)["args"] == ["/home/ada/Downloads/reports"]
    assert unknown_placeholders(m) == [
        "Unknown placeholder ${NOPE} in the default of user_config.bad: "
        "the bundle cannot start while that default is used."
    ]
