"""The demo bundles under resources/bundles are valid MCPB folders and real MCP servers.

Each server is spawned as a subprocess from its own manifest (``${__dirname}`` and
``${user_config.*}`` substituted the way a host does, ``python`` resolved the way the
console does: a machine Python with no site-packages, so only the bundle's own
``server/lib`` provides ``mcp``) and driven through the official SDK client over stdio.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from core.runtimes import PYTHON_COMMANDS, python_launch

BUNDLES_DIR = Path(__file__).resolve().parents[2] / "resources" / "bundles"
BUNDLE_NAMES = ("demo-clock", "demo-vault", "demo-notes")
REQUIRED_KEYS = ("manifest_version", "name", "version", "description", "author", "server")
USER_CONFIG_TYPES = {"string", "number", "boolean", "directory", "file"}
READ_TIMEOUT_S = 30.0

_PLACEHOLDER = re.compile(r"\$\{user_config\.([A-Za-z0-9_]+)\}")


def load_manifest(bundle: str) -> dict[str, Any]:
    return json.loads((BUNDLES_DIR / bundle / "manifest.json").read_text(encoding="utf-8"))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def launch_params(
    bundle: str, user_config: Mapping[str, Any] | None = None, **extra_env: str
) -> StdioServerParameters:
    """Resolve the bundle's mcp_config like an MCPB host would."""
    manifest = load_manifest(bundle)
    fields = manifest.get("user_config", {})
    values = {key: spec["default"] for key, spec in fields.items() if "default" in spec}
    values.update(user_config or {})
    dirname = str(BUNDLES_DIR / bundle)
    home = tempfile.gettempdir()
    builtins = {"${__dirname}": dirname, "${HOME}": home, "${DOCUMENTS}": home}

    def expand(text: str) -> list[str] | None:
        for var, val in builtins.items():
            text = text.replace(var, val)
        whole = _PLACEHOLDER.fullmatch(text)
        if whole:
            value = values.get(whole.group(1))
            if value is None:
                return None
            if isinstance(value, list):  # multiple: one argument per value
                return [_as_text(v) for v in value]
            return [_as_text(value)]
        return [_PLACEHOLDER.sub(lambda m: _as_text(values.get(m.group(1), "")), text)]

    config = manifest["server"]["mcp_config"]
    command, args = config["command"], []
    if command in PYTHON_COMMANDS:  # a machine Python with no site-packages (self-contained)
        command, args = python_launch(command, BUNDLES_DIR / bundle, os.environ.get("PATH"))
    args += [part for arg in config.get("args", []) for part in (expand(arg) or [])]
    env: dict[str, str] = {}
    for key, raw in config.get("env", {}).items():
        expanded = expand(raw)
        if expanded is not None:
            env[key] = expanded[0]
    env.update(extra_env)
    return StdioServerParameters(command=command, args=args, env=env, cwd=dirname)


@asynccontextmanager
async def connect(
    params: StdioServerParameters, errlog: Any = None
) -> AsyncIterator[tuple[ClientSession, float]]:
    """Spawn the server and initialize a session; yields it with the startup time."""
    started = time.perf_counter()
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT_S) as session:
            await session.initialize()
            startup = time.perf_counter() - started
            yield session, startup


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """Call a tool that must succeed; return its structured result (unwrapped)."""
    result = await session.call_tool(tool, arguments)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert not result.is_error, f"{tool} failed: {text}"
    data = result.structured_content
    if isinstance(data, dict) and set(data) == {"result"}:
        return data["result"]
    return data


async def call_error(session: ClientSession, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail; return its error text."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return " ".join(getattr(c, "text", "") for c in result.content)


def sha12(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- manifests


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_manifest_is_valid_mcpb(bundle: str) -> None:
    manifest = load_manifest(bundle)
    for key in REQUIRED_KEYS:
        assert key in manifest, f"{bundle}: missing {key}"
    assert manifest["manifest_version"] == "0.3"
    assert manifest["name"] == bundle
    assert manifest["display_name"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["author"]["name"]

    server = manifest["server"]
    assert server["type"] == "python"
    assert server["entry_point"] == "server/main.py"
    assert (BUNDLES_DIR / bundle / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "python"
    assert config["args"][0] == "${__dirname}/server/main.py"
    assert isinstance(config.get("env", {}), dict)

    tools = manifest["tools"]
    assert tools and all(t["name"] and t["description"] for t in tools)
    assert len({t["name"] for t in tools}) == len(tools)

    fields = manifest.get("user_config", {})
    for key, spec in fields.items():
        assert spec["type"] in USER_CONFIG_TYPES, key
        assert spec["title"] and spec["description"], key
        if spec.get("sensitive"):
            assert spec["type"] == "string", key
        if spec["type"] == "number" and "default" in spec:
            assert spec.get("min", spec["default"]) <= spec["default"] <= spec.get("max", 1e300)
    # Every ${user_config.X} the launch uses is declared...
    referenced = set(_PLACEHOLDER.findall(json.dumps(config)))
    assert referenced <= set(fields), referenced - set(fields)
    # ...and secrets travel in env only, never on the command line.
    for key, spec in fields.items():
        if spec.get("sensitive"):
            assert f"${{user_config.{key}}}" not in json.dumps(config.get("args", []))

    compat = manifest["compatibility"]
    assert set(compat["platforms"]) <= {"darwin", "win32", "linux"}
    assert "python" in compat["runtimes"]


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_server_imports_only_stdlib_and_mcp(bundle: str) -> None:
    source = (BUNDLES_DIR / bundle / "server" / "main.py").read_text(encoding="utf-8")
    roots = set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", source, re.M))
    allowed = set(sys.stdlib_module_names) | {"mcp", "__future__"}
    assert roots <= allowed, roots - allowed


def test_vault_user_config_shape() -> None:
    manifest = load_manifest("demo-vault")
    fields = manifest["user_config"]
    token = fields["api_token"]
    assert token["type"] == "string"
    assert token["title"] == "API token"
    assert token["sensitive"] is True
    assert token["required"] is True
    assert fields["max_items"]["type"] == "number"
    assert not fields["max_items"].get("sensitive")
    assert fields["read_only"]["type"] == "boolean"
    env = manifest["server"]["mcp_config"]["env"]
    assert env["VAULT_API_TOKEN"] == "${user_config.api_token}"
    assert env["VAULT_MAX_ITEMS"] == "${user_config.max_items}"
    assert env["VAULT_READ_ONLY"] == "${user_config.read_only}"


# --------------------------------------------------------------------------- stdout hygiene


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_stdout_carries_only_json_rpc(bundle: str, tmp_path: Path) -> None:
    params = launch_params(
        bundle,
        {"api_token": "hygiene-token", "notes_dir": str(tmp_path)},
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **(params.env or {})}
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "hygiene", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    with subprocess.Popen(
        [params.command, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=params.cwd,
        text=True,
        encoding="utf-8",
    ) as proc:
        assert proc.stdin and proc.stdout and proc.stderr
        lines = []
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            if "id" in message:
                lines.append(proc.stdout.readline())
        proc.stdin.close()
        lines.extend(proc.stdout.readlines())
        stderr = proc.stderr.read()
        proc.wait(timeout=30)
    replies = [json.loads(line) for line in lines if line.strip()]
    assert [r.get("id") for r in replies] == [1, 2], lines
    assert replies[0]["result"]["serverInfo"]["name"] == bundle
    assert {t["name"] for t in replies[1]["result"]["tools"]} == {
        t["name"] for t in load_manifest(bundle)["tools"]
    }
    assert "hygiene-token" not in stderr


# --------------------------------------------------------------------------- demo-clock


async def test_clock_tools(record_property: Any) -> None:
    async with connect(launch_params("demo-clock")) as (session, startup):
        record_property("startup_seconds", round(startup, 3))
        print(f"demo-clock startup: {startup:.3f}s")

        listed = await session.list_tools()
        names = {t.name for t in listed.tools}
        assert names == {t["name"] for t in load_manifest("demo-clock")["tools"]}

        now = await call(session, "current_time", timezone="UTC")
        assert now["timezone"] == "UTC"
        assert now["utc_offset_minutes"] == 0
        assert abs(now["unix"] - time.time()) < 60
        tokyo = await call(session, "current_time", timezone="Asia/Tokyo")
        assert tokyo["utc_offset_minutes"] == 540
        local = await call(session, "current_time")
        assert local["iso"]
        assert "unknown IANA timezone" in await call_error(
            session, "current_time", timezone="Mars/Olympus"
        )

        assert await call(session, "echo", text="hello") == "hello"
        assert await call(session, "echo", text="hello", uppercase=True) == "HELLO"

        info = await call(session, "system_info")
        assert info["platform"] == sys.platform
        assert info["python_version"].count(".") == 2
        assert info["cpu_count"] is None or info["cpu_count"] >= 1
        if hasattr(os, "getloadavg"):
            assert len(info["load_average"]) == 3
        assert info["server_uptime_seconds"] >= 0

        ids = await call(session, "new_uuid", count=3)
        assert len(set(ids)) == 3
        assert all(uuid.UUID(i).version == 4 for i in ids)
        await call_error(session, "new_uuid", count=0)


# --------------------------------------------------------------------------- demo-vault


def _run_vault_raw(env_extra: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    entry = BUNDLES_DIR / "demo-vault" / "server" / "main.py"
    env = {"PATH": os.environ.get("PATH", ""), **env_extra}
    return subprocess.run(
        [sys.executable, str(entry)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    "token_env",
    [
        {},  # not set at all
        {"VAULT_API_TOKEN": ""},
        {"VAULT_API_TOKEN": "   "},
        {"VAULT_API_TOKEN": "${user_config.api_token}"},  # host did not substitute
    ],
    ids=["unset", "empty", "blank", "placeholder"],
)
def test_vault_refuses_to_start_without_token(token_env: dict[str, str]) -> None:
    proc = _run_vault_raw({"VAULT_MAX_ITEMS": "10", **token_env})  # a hang: its timeout raises
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "VAULT_API_TOKEN is not set" in proc.stderr
    assert "API token" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("env_extra", "needle"),
    [
        ({"VAULT_MAX_ITEMS": "lots"}, "VAULT_MAX_ITEMS must be a number"),
        ({"VAULT_MAX_ITEMS": "0"}, "VAULT_MAX_ITEMS must be between 1 and 1000"),
        ({"VAULT_MAX_ITEMS": "2.5"}, "VAULT_MAX_ITEMS must be a whole number"),
        ({"VAULT_READ_ONLY": "maybe"}, "VAULT_READ_ONLY must be true or false"),
    ],
)
def test_vault_rejects_bad_settings(env_extra: dict[str, str], needle: str) -> None:
    proc = _run_vault_raw({"VAULT_API_TOKEN": "tok-123", **env_extra})
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "tok-123" not in proc.stderr


async def test_vault_fingerprint_and_items(record_property: Any, tmp_path: Path) -> None:
    token = f"demo-{uuid.uuid4().hex}"
    params = launch_params("demo-vault", {"api_token": token, "max_items": 2})
    assert params.env and params.env["VAULT_API_TOKEN"] == token
    assert params.env["VAULT_MAX_ITEMS"] == "2"
    assert params.env["VAULT_READ_ONLY"] == "false"  # the manifest default
    errlog_path = tmp_path / "stderr.log"
    with errlog_path.open("w+", encoding="utf-8") as errlog:
        async with connect(params, errlog) as (session, startup):
            record_property("startup_seconds", round(startup, 3))
            print(f"demo-vault startup: {startup:.3f}s")

            listed = await session.list_tools()
            names = {t.name for t in listed.tools}
            assert names == {t["name"] for t in load_manifest("demo-vault")["tools"]}

            fp = await call(session, "token_fingerprint")
            assert fp["fingerprint"] == sha12(token)
            assert token not in json.dumps(fp)

            status = await call(session, "vault_status")
            assert status == {**status, "items": 0, "max_items": 2, "read_only": False}

            assert (await call(session, "put_item", key="a", value="1"))["replaced"] is False
            await call(session, "put_item", key="b", value="2")
            assert "full" in await call_error(session, "put_item", key="c", value="3")
            assert (await call(session, "put_item", key="a", value="one"))["replaced"] is True
            assert await call(session, "get_item", key="a") == "one"
            assert "no item named" in await call_error(session, "get_item", key="zzz")
            listing = await call(session, "list_items")
            assert listing["keys"] == ["a", "b"]
            assert listing["total"] == 2
            await call(session, "delete_item", key="a")
            await call(session, "put_item", key="c", value="3")
            assert (await call(session, "list_items", limit=1))["keys"] == ["b"]
    stderr = errlog_path.read_text(encoding="utf-8")
    assert token not in stderr
    assert sha12(token) in stderr  # the start-up line names the fingerprint, not the token


async def test_vault_fingerprint_follows_the_token() -> None:
    fingerprints = []
    for token in ("first-token", "second-token"):
        async with connect(launch_params("demo-vault", {"api_token": token})) as (session, _):
            fingerprints.append((await call(session, "token_fingerprint"))["fingerprint"])
    assert fingerprints == [sha12("first-token"), sha12("second-token")]


async def test_vault_read_only() -> None:
    params = launch_params("demo-vault", {"api_token": "ro", "read_only": True})
    async with connect(params) as (session, _):
        assert (await call(session, "vault_status"))["read_only"] is True
        assert "read-only" in await call_error(session, "put_item", key="a", value="1")
        assert "read-only" in await call_error(session, "delete_item", key="a")
        assert (await call(session, "list_items"))["keys"] == []


# --------------------------------------------------------------------------- demo-notes


@pytest.fixture
def notes_layout(tmp_path: Path) -> dict[str, Path]:
    """A notes folder that does not exist yet and two reference folders with notes."""
    layout = {
        "notes": tmp_path / "notes",  # created by the server on the first write
        "ref_a": tmp_path / "ref-a",
        "ref_b": tmp_path / "ref b",  # a space: multiple values must stay separate args
    }
    layout["ref_a"].mkdir()
    layout["ref_b"].mkdir()
    (layout["ref_a"] / "alpha.md").write_text("first line\nGamma ray burst\n", encoding="utf-8")
    (layout["ref_b"] / "beta.txt").write_text("nothing here\n", encoding="utf-8")
    (layout["ref_b"] / "ignored.bin").write_text("gamma", encoding="utf-8")
    return {key: path.resolve() for key, path in layout.items()}


async def test_notes_tools(record_property: Any, notes_layout: dict[str, Path]) -> None:
    notes_dir, ref_a, ref_b = notes_layout["notes"], notes_layout["ref_a"], notes_layout["ref_b"]
    params = launch_params(
        "demo-notes",
        {"notes_dir": str(notes_dir), "reference_dirs": [str(ref_a), str(ref_b)]},
    )
    assert params.args[-2:] == [str(ref_a), str(ref_b)]
    async with connect(params) as (session, startup):
        record_property("startup_seconds", round(startup, 3))
        print(f"demo-notes startup: {startup:.3f}s")

        listed = await session.list_tools()
        names = {t.name for t in listed.tools}
        assert names == {t["name"] for t in load_manifest("demo-notes")["tools"]}

        listing = await call(session, "list_notes")
        roots = listing["roots"]
        assert [r["path"] for r in roots] == [str(p) for p in (notes_dir, ref_a, ref_b)]
        assert [r["writable"] for r in roots] == [True, False, False]
        assert {(n["root"], n["name"]) for n in listing["notes"]} == {
            (1, "alpha.md"),
            (2, "beta.txt"),
        }

        written = await call(session, "write_note", name="todo", text="buy gamma rays")
        assert written["name"] == "todo.md"
        assert (notes_dir / "todo.md").read_text(encoding="utf-8") == "buy gamma rays"
        assert "already exists" in await call_error(session, "write_note", name="todo", text="x")
        await call(session, "write_note", name="todo.md", text="v2", overwrite=True)
        assert await call(session, "read_note", name="todo") == "v2"
        assert await call(session, "read_note", name="alpha.md", root=1) == (
            "first line\nGamma ray burst\n"
        )

        for bad in ("../escape.md", "sub/dir.md", ".hidden.md", ""):
            assert "invalid note name" in await call_error(
                session, "write_note", name=bad, text="x"
            )
        assert "invalid note name" in await call_error(
            session, "read_note", name="../../etc/passwd"
        )
        assert "root must be between" in await call_error(
            session, "read_note", name="alpha.md", root=7
        )

        hits = (await call(session, "search_notes", query="GAMMA"))["hits"]
        assert {(h["root"], h["name"], h["line"]) for h in hits} == {(1, "alpha.md", 2)}
    # Nothing was written outside the notes folder.
    assert not (notes_dir.parent / "escape.md").exists()


async def test_notes_without_reference_dirs(notes_layout: dict[str, Path]) -> None:
    notes_dir = str(notes_layout["notes"])
    # Defaults only: "${DOCUMENTS}/Demo Notes" and no reference folders.
    params = launch_params("demo-notes")
    assert params.args[-1].endswith("main.py")  # no reference folders after the entry point
    assert params.env and params.env["NOTES_DIR"].endswith("Demo Notes")
    params = launch_params("demo-notes", {"notes_dir": notes_dir})
    async with connect(params) as (session, _):
        listing = await call(session, "list_notes")
        assert listing["roots"] == [
            {"root": 0, "path": notes_dir, "writable": True, "exists": False}
        ]
        assert listing["notes"] == []
