"""MCPB manifest parsing: what loads, and the exact error for each broken manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ManifestError
from core.manifest import MAX_MANIFEST_BYTES, load_manifest, parse_manifest
from tests.core.data.bundle_factory import manifest, write_bundle

CORPUS = Path(__file__).parent / "data" / "broken_manifests"
RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "bundles"

#: file in the corpus -> the problem line the author must see (after "<file>: ")
BROKEN = {
    "missing_name.json": "name: Field required",
    "missing_server.json": "server: Field required",
    "missing_manifest_version.json": "manifest_version: Field required",
    "unsupported_version.json": "manifest_version: unsupported version '1.0'",
    "legacy_dxt_unsupported.json": "manifest_version: unsupported version '0.0'",
    "version_not_string.json": "version: Input should be a valid string",
    "server_type_unknown.json": "server.type: Input should be 'python', 'node', 'binary' or 'uv'",
    "server_without_launch.json": "server: needs either mcp_config or entry_point",
    "args_not_a_list.json": "server.mcp_config.args: Input should be a valid list",
    "env_value_not_string.json": "server.mcp_config.env.PORT: Input should be a valid string",
    "override_args_not_list.json": (
        "server.mcp_config.platform_overrides.linux.args: Input should be a valid list"
    ),
    "tools_not_a_list.json": "tools: Input should be a valid list",
    "user_config_bad_type.json": (
        "user_config.api_key.type: Input should be 'string', 'number', 'boolean', "
        "'directory' or 'file'"
    ),
    "user_config_required_not_bool.json": (
        "user_config.flag.required: Input should be a valid boolean"
    ),
    "user_config_entry_not_object.json": "user_config.api_key: Input should be a valid object",
    "not_json.json": "not valid JSON (Expecting ',' delimiter at line 3 column 17)",
    "empty.json": "not valid JSON (Expecting value at line 1 column 1)",
    "top_level_array.json": "top level must be a JSON object",
}


def test_corpus_and_table_agree() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.json")) == sorted(BROKEN)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_error_names_file_and_path(case: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_bytes((CORPUS / case).read_bytes())
    with pytest.raises(ManifestError) as info:
        load_manifest(bundle)
    assert f"{bundle / 'manifest.json'}: {BROKEN[case]}" in str(info.value)
    assert all(line.startswith(str(bundle / "manifest.json")) for line in info.value.problems)


def test_example_from_the_issue_reads_exactly() -> None:
    raw = (CORPUS / "user_config_bad_type.json").read_bytes()
    with pytest.raises(ManifestError) as info:
        parse_manifest(raw, "manifest.json")
    assert str(info.value).startswith(
        "manifest.json: user_config.api_key.type: Input should be 'string', 'number', "
    )


def test_every_problem_is_reported_at_once() -> None:
    data = manifest(name=None, version=None)
    with pytest.raises(ManifestError) as info:
        parse_manifest(json.dumps(data).encode(), "m.json")
    assert info.value.problems == [
        "m.json: name: Field required",
        "m.json: version: Field required",
    ]


def test_not_utf8_and_oversized(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"m\.json: not UTF-8 text"):
        parse_manifest(b"\xff\xfe{}", "m.json")
    bundle = tmp_path / "big"
    data = manifest(description="x" * (MAX_MANIFEST_BYTES + 1))
    write_bundle(bundle, data)
    with pytest.raises(ManifestError, match=r"manifest is \d+ bytes, over the 1048576 byte limit"):
        load_manifest(bundle)


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no manifest\.json in the bundle"):
        load_manifest(tmp_path)


def test_unknown_keys_are_ignored_and_legacy_dxt_version_accepted() -> None:
    data = manifest(manifest_version=None, dxt_version="0.1", future_field={"x": 1})
    data["server"]["mcp_config"]["shiny_new_option"] = True
    data["_meta"] = {"com.example": {"k": "v"}}
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert m.manifest_version == "0.1"
    assert m.meta == {"com.example": {"k": "v"}}
    assert not hasattr(m, "future_field")


def test_full_manifest_fields() -> None:
    data = manifest(
        manifest_version="0.4",
        name="@acme/Files Tool",
        display_name="Files",
        icon="icon.png",
        tools=[{"name": "search", "description": "Search"}],
        prompts=[{"name": "p", "arguments": ["topic"], "text": "About ${arguments.topic}"}],
        compatibility={"platforms": ["linux", "darwin"], "runtimes": {"python": ">=3.11"}},
        user_config={
            "dirs": {
                "type": "directory",
                "title": "Folders",
                "multiple": True,
                "required": True,
                "default": ["${HOME}/Desktop"],
            },
            "api_key": {"type": "string", "title": "API key", "sensitive": True},
            "limit": {"type": "number", "title": "Limit", "default": 10, "min": 1, "max": 100},
            "ro": {"type": "boolean", "title": "Read only", "default": True},
            "db": {"type": "file", "title": "Database"},
        },
    )
    data["server"]["mcp_config"]["platform_overrides"] = {
        "win32": {"command": "python.exe"},
        "freebsd": {"args": []},
    }
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert m.label == "Files"
    assert m.user_config["limit"].default == 10 and m.user_config["limit"].max == 100
    assert m.user_config["dirs"].multiple and m.user_config["dirs"].required
    assert m.sensitive_keys() == {"api_key"}
    assert m.compatibility is not None and m.compatibility.platforms == ["linux", "darwin"]
    assert m.server.mcp_config is not None
    assert m.server.mcp_config.platform_overrides["win32"].command == "python.exe"
    assert m.tools[0].name == "search" and m.prompts[0].arguments == ["topic"]


@pytest.mark.parametrize("name", ["demo-clock", "demo-notes", "demo-vault"])
def test_shipped_demo_bundles_parse(name: str) -> None:
    m = load_manifest(RESOURCES / name)
    assert m.name == name
