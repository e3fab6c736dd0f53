"""Official-schema parity: accept what it accepts, warn for the rest, refuse what cannot run.

The edge cases also go through the official validator's schema step (``make test-tools``), so
"official accepts" / "official rejects" is measured, not assumed.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.bundles import install_warnings
from core.conformance import problems
from core.errors import InstallError, ManifestError
from core.manifest import parse_manifest
from tests.core.data.bundle_factory import manifest, with_config, write_bundle
from tests.core.data.signing import MCPB

UPSTREAM = Path(__file__).parent / "data" / "upstream"
VALIDATE = Path(__file__).parent / "data" / "official_validate.mjs"
CONSTANTS_JS = MCPB.parent.parent / "@anthropic-ai" / "mcpb" / "dist" / "shared" / "constants.js"
TOLERATED = Path(__file__).parent / "data" / "tolerated_manifests"


def official_verdicts(manifests: list[dict[str, Any]]) -> list[bool]:
    """The official schema step of ``mcpb validate``, run by node on all cases at once."""
    if not CONSTANTS_JS.exists() or shutil.which("node") is None:
        pytest.skip("the official mcpb library is not installed (run `make test-tools`)")
    done = subprocess.run(
        ["node", str(VALIDATE), str(CONSTANTS_JS.parent.parent)],
        input=json.dumps(manifests),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


_VERDICTS: dict[str, bool] = {}


def official_accepts(data: dict[str, Any]) -> bool:
    """Cached per manifest; the first call judges every case of this module in one run."""
    key = json.dumps(data, sort_keys=True)
    if key not in _VERDICTS:
        every = [*ACCEPTED.values(), *(d for d, _ in WARNED.values()), data]
        every += [json.loads((UPSTREAM / n).read_text()) for n in UPSTREAM_EXPECTED]
        for case, verdict in zip(every, official_verdicts(every), strict=True):
            _VERDICTS[json.dumps(case, sort_keys=True)] = verdict
    return _VERDICTS[key]


def changed(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (a valid 0.3 manifest with a described field) with one dotted path set."""
    data = copy.deepcopy(base or FIELDED)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()
FIELDED = with_config(
    {"limit": {"type": "number", "title": "Limit", "description": "How many", "min": 1, "max": 9}}
)

#: official accepts these; so do we, with no schema warning
ACCEPTED = {
    "key with a dot": changed(
        "user_config", {"api.key": {"type": "string", "title": "K", "description": ""}}
    ),
    "key with a space": changed(
        "user_config", {"api key": {"type": "string", "title": "K", "description": ""}}
    ),
    "key starting with a digit": changed(
        "user_config", {"2fa": {"type": "string", "title": "K", "description": ""}}
    ),
    "number default as text": changed("user_config.limit.default", "5"),
    "boolean default as text": changed(
        "user_config",
        {"ro": {"type": "boolean", "title": "RO", "description": "", "default": "false"}},
    ),
    "multiple on a number": changed("user_config.limit.multiple", True),
    "min above max": changed("user_config.limit.min", 50),
    "default outside min/max": changed("user_config.limit.default", 500),
    "empty title": changed("user_config.limit.title", ""),
}

#: official rejects these; we run them and say why, in words
WARNED = {
    "unknown key": (changed("colour", "blue"), "unknown key(s) 'colour'"),
    "field before its version": (
        changed(
            "icons", [{"src": "i.png", "size": "16x16"}], {**FIELDED, "manifest_version": "0.2"}
        ),
        "unknown key(s) 'icons': not part of manifest_version 0.2",
    ),
    "invalid homepage URL": (changed("homepage", "not a url"), "homepage: not a valid URL"),
    "invalid author email": (changed("author.email", "nobody"), "author.email: not a valid email"),
    "bad icon size": (
        changed("icons", [{"src": "i.png", "size": "16"}], {**FIELDED, "manifest_version": "0.4"}),
        "icons.0.size",
    ),
    "localization without ${locale}": (
        changed(
            "localization",
            {"resources": "l/x.json", "default_locale": "en"},
            {**FIELDED, "manifest_version": "0.4"},
        ),
        "localization.resources",
    ),
    "non-object _meta": (changed("_meta", "x"), "_meta: should be an object"),
    "missing mcp_config": (changed("server.mcp_config", DELETE), "'mcp_config' is required"),
    "field without description": (
        changed("user_config.limit.description", DELETE),
        "'description' is required",
    ),
    "author without name": (changed("author", {}), "author: 'name' is required"),
}

#: what this host cannot run: refused with the reason
REFUSED = {
    "no name": (changed("name", DELETE), "name: Field required"),
    "no command": (changed("server.mcp_config.command", ""), "server.mcp_config.command"),
    "unknown server type": (changed("server.type", "ruby"), "server.type: Input should be"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_like_the_official_validator(case: str, tmp_path: Path) -> None:
    data = ACCEPTED[case]
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert problems(data) == []
    assert official_accepts(data)
    assert m.name == "sample"


def test_coercions_and_host_warnings_in_words() -> None:
    m = parse_manifest(json.dumps(ACCEPTED["number default as text"]).encode(), "m.json")
    assert m.user_config["limit"].default == 5 and m.warnings == []
    m = parse_manifest(json.dumps(ACCEPTED["boolean default as text"]).encode(), "m.json")
    assert m.user_config["ro"].default is False
    m = parse_manifest(json.dumps(ACCEPTED["empty title"]).encode(), "m.json")
    assert m.user_config["limit"].title == "limit"
    m = parse_manifest(json.dumps(ACCEPTED["min above max"]).encode(), "m.json")
    assert m.warnings == ["user_config.limit: min is greater than max: no value can be valid"]
    m = parse_manifest(json.dumps(ACCEPTED["default outside min/max"]).encode(), "m.json")
    assert m.warnings == ["user_config.limit: default 500 is outside min/max"]
    bad = changed("user_config.limit.default", "ten")
    m = parse_manifest(json.dumps(bad).encode(), "m.json")
    assert m.user_config["limit"].default is None
    assert m.warnings == [
        "user_config.limit: default 'ten' is not valid for a number field: ignored"
    ]


@pytest.mark.parametrize("case", sorted(WARNED))
def test_rejected_by_the_official_validator_runs_with_a_warning(case: str, tmp_path: Path) -> None:
    data, expected = WARNED[case]
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert any(expected in line for line in m.warnings), m.warnings
    assert not official_accepts(data)
    shown = install_warnings(m)
    assert any(line.startswith("Official MCPB schema: ") and expected in line for line in shown)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_only_when_it_cannot_run(case: str) -> None:
    data, expected = REFUSED[case]
    with pytest.raises(ManifestError) as info:
        parse_manifest(json.dumps(data).encode(), "m.json")
    assert any(expected in line for line in info.value.problems), info.value.problems


def test_unsupported_platform_refused_at_install(tmp_path: Path) -> None:
    from core.bundles import inspect_source

    src = write_bundle(tmp_path / "b", manifest(compatibility={"platforms": ["win32"]}))
    with pytest.raises(InstallError, match="supports win32, not linux"):
        inspect_source(src)


#: upstream fixture -> (our schema warnings, what `mcpb validate` 2.1.2 said)
UPSTREAM_EXPECTED = {
    "valid-manifest.json": [],
    "valid-manifest-0.2.json": [],
    "example-hello-world-node.json": [],
    "example-chrome-applescript.json": ["unknown key(s) 'privacy_policies', 'scripts'"],
    "example-file-manager-python.json": ["unknown key(s) 'privacy_policies'"],
    "example-file-system-node.json": ["unknown key(s) 'id', 'privacy_policies'"],
    "example-hello-world-uv.json": ["server: 'mcp_config' is required"],
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_EXPECTED))
def test_upstream_fixtures(name: str, tmp_path: Path) -> None:
    data = json.loads((UPSTREAM / name).read_text())
    found = problems(data)
    expected = UPSTREAM_EXPECTED[name]
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found, strict=True))
    assert official_accepts(data) == (not expected)
    parse_manifest(json.dumps(data).encode(), name)  # every one of them can run here


def test_upstream_invalid_manifest_is_refused() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest((UPSTREAM / "invalid-manifest.json").read_bytes(), "invalid-manifest.json")
    assert any("unsupported version '1.0'" in line for line in info.value.problems)


@pytest.mark.parametrize("path", sorted(TOLERATED.glob("*.json")), ids=lambda p: p.stem)
def test_formerly_refused_manifests_now_load(path: Path) -> None:
    m = parse_manifest(path.read_bytes(), path.name)
    assert m.warnings, "each of these breaks the official schema or our ranges: it must say so"


def test_metadata_is_kept_for_the_details_view() -> None:
    data = json.loads((UPSTREAM / "valid-manifest.json").read_text())
    data.update(
        manifest_version="0.4",
        long_description="Longer words",
        license="MIT",
        homepage="https://example.com",
        documentation="https://example.com/docs",
        support="https://example.com/help",
        privacy_policies=["https://example.com/privacy"],
        repository={"type": "git", "url": "https://example.com/repo.git"},
        keywords=["files", "search"],
        icons=[{"src": "icon-16.png", "size": "16x16", "theme": "dark"}],
        screenshots=["shot.png"],
        localization={"resources": "locales/${locale}.json", "default_locale": "en-US"},
    )
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert m.warnings == []
    assert (m.long_description, m.license, m.homepage) == ("Longer words", "MIT", data["homepage"])
    assert m.documentation == data["documentation"] and m.support == data["support"]
    assert m.privacy_policies == ["https://example.com/privacy"]
    assert m.repository is not None and m.repository.url == "https://example.com/repo.git"
    assert m.keywords == ["files", "search"] and m.screenshots == ["shot.png"]
    assert [(i.src, i.size, i.theme) for i in m.icons] == [("icon-16.png", "16x16", "dark")]
    assert m.localization is not None and m.localization.default_locale == "en-US"


async def test_details_carry_metadata_and_schema_warnings(tmp_path: Path) -> None:
    from tests.core.data.hosting import opened

    data = changed("homepage", "not a url")
    data.update(license="MIT", keywords=["k"])
    async with opened(tmp_path / "data") as host:
        host.create_workspace("Team")
        inst = await host.install_bundle("ws_team", write_bundle(tmp_path / "b", data))
        details = host.bundle_details("ws_team", inst.server_name)
    assert (details["license"], details["keywords"]) == ("MIT", ["k"])
    assert details["homepage"] == "not a url"  # kept as typed, and named in the warnings
    assert "Official MCPB schema: homepage: not a valid URL." in details["warnings"]
    assert details["signature"] == "Unsigned"


def test_metadata_of_the_wrong_shape_is_dropped_and_named() -> None:
    data = changed("license", 42)
    data.update(keywords="oops", repository=["x"], icons=[{"size": "16x16"}])
    m = parse_manifest(json.dumps(data).encode(), "m.json")
    assert (m.license, m.keywords, m.repository, m.icons) == (None, [], None, [])
    assert {"license: should be text", "keywords: should be a list"} <= {
        w.split(" (")[0] for w in m.warnings
    }
