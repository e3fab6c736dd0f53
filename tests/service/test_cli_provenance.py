"""The CLI shows signatures and warnings, and installs an invalid one only when told to."""

from __future__ import annotations

from pathlib import Path

from tests.core.data.bundle_factory import manifest, write_bundle
from tests.core.data.signing import (
    HARMLESS_OFFSET,
    flipped_byte,
    pack,
    sign_self_signed,
)
from tests.service.support import cli, cli_json


def test_status_and_install_show_provenance(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "workspace", "create", "Team").returncode == 0
    src = write_bundle(tmp_path / "src", manifest())
    sloppy = write_bundle(tmp_path / "sloppy", manifest(homepage="not a url"))  # pack refuses it
    signed = sign_self_signed(pack(src, tmp_path / "sample.mcpb"))
    bad = flipped_byte(signed, tmp_path / "bad.mcpb", HARMLESS_OFFSET)

    refused = cli(data, "install", "Team", str(bad))
    assert refused.returncode != 0
    assert "the signature does not match" in refused.stderr + refused.stdout
    assert cli_json(data, "status")["workspaces"][0]["bundles"] == []

    done = cli(data, "install", "Team", str(signed), "--name", "good")
    assert done.returncode == 0, done.stderr
    assert (
        "Signature: Signed by C=US,O=MCPB Extensions,CN=MCPB Self-Signed Certificate" in done.stdout
    )
    done = cli(data, "install", "Team", str(sloppy), "--name", "sloppy")
    assert done.returncode == 0, done.stderr
    assert "Signature: Unsigned" in done.stdout
    assert "warning: Official MCPB schema: homepage: not a valid URL." in done.stdout

    forced = cli(data, "install", "Team", str(bad), "--name", "forced", "--allow-invalid-signature")
    assert forced.returncode == 0, forced.stderr
    assert "Signature: Invalid signature: the signature does not match" in forced.stdout

    text = cli(data, "status", "Team")
    assert text.returncode == 0, text.stderr
    assert "self-signed" in text.stdout and "INVALID (override)" in text.stdout
    assert "sloppy: warning: Official MCPB schema: homepage: not a valid URL." in text.stdout
    assert "good: Signed by" in text.stdout
    bundles = {b["server_name"]: b for b in cli_json(data, "status")["workspaces"][0]["bundles"]}
    assert bundles["good"]["signature_trust"] == "self-signed"
    assert (
        bundles["forced"]["signature_status"] == "invalid"
        and bundles["forced"]["signature_override"]
    )


def test_passthrough_setting_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "workspace", "create", "Team").returncode == 0
    assert cli(data, "passthrough", "CORP_A", "CORP_B").returncode == 0
    shown = cli_json(data, "passthrough", "--workspace", "Team", "CORP_C")
    assert shown["global"] == ["CORP_A", "CORP_B"]
    assert shown["effective"] == ["CORP_A", "CORP_B", "CORP_C"]
    bad = cli(data, "passthrough", "NOT-A-NAME")
    assert bad.returncode != 0 and "is not an environment variable name" in bad.stderr
    assert cli_json(data, "passthrough", "--clear")["global"] == []
