"""Signed bundles at install: made by the official ``mcpb sign``, checked by us, tampered copies.

The mcpb CLI (``make test-tools``) packs and signs; certificates for the CA case
are generated here. Every verdict comes from real bytes on disk.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.bundles import inspect_source
from core.errors import SignatureError
from core.host import Host
from core.signatures.trust import load_trust_store
from core.signatures.verify import verify_file
from tests.core.data.bundle_factory import manifest, snapshot, write_bundle, zip_folder
from tests.core.data.hosting import opened
from tests.core.data.signing import (
    HARMLESS_OFFSET,
    flipped_byte,
    make_chain,
    mcpb,
    pack,
    replaced_manifest,
    sign_self_signed,
    sign_with_chain,
)

DEMO_CLOCK = Path(__file__).resolve().parents[2] / "resources" / "bundles" / "demo-clock"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        yield h


@pytest.fixture
def packed(tmp_path: Path) -> Path:
    """A small bundle packed by ``mcpb pack`` (unsigned)."""
    src = write_bundle(tmp_path / "src", manifest())
    return pack(src, tmp_path / "sample.mcpb")


async def test_self_signed_bundle_installs_as_signed_self_signed(
    host: Host, packed: Path, tmp_path: Path
) -> None:
    signed = sign_self_signed(packed)
    inst = await host.install_bundle("ws_team", signed)
    info = host.signature("ws_team", inst.server_name)
    assert info is not None and (info.status, info.trust) == ("signed", "self-signed")
    assert "CN=MCPB Self-Signed Certificate" in info.subject
    assert "self-signed" in info.summary and len(info.fingerprint) == 64
    details = host.bundle_details("ws_team", inst.server_name)
    assert details["signature"] == info.summary and details["signature_override_at"] is None
    # persisted with the entry, so the next console shows the same verdict
    data = json.loads((tmp_path / "data/workspaces/ws_team/workspace.json").read_text())
    assert data["bundles"][0]["signature"]["trust"] == "self-signed"


async def test_ca_signed_bundle_trusted_only_when_its_root_is(
    host: Host, packed: Path, tmp_path: Path
) -> None:
    chain = make_chain(tmp_path / "pki")
    signed = sign_with_chain(packed, chain)
    first = await host.install_bundle("ws_team", signed, "untrusted")
    info = host.signature("ws_team", first.server_name)
    assert info is not None and (info.status, info.trust) == ("signed", "untrusted")
    assert "does not chain to a trusted root" in info.summary
    shutil.copy(chain.root, host.trusted_publishers_file)
    second = await host.install_bundle("ws_team", signed, "trusted")
    info = host.signature("ws_team", second.server_name)
    assert info is not None and (info.status, info.trust) == ("signed", "trusted")
    assert info.subject == "O=Bundle Console Tests,CN=Test Publisher"
    assert info.issuer == "O=Bundle Console Tests,CN=Test Intermediate CA"
    assert info.summary.endswith("(chains to a trusted root)")


async def test_chain_without_its_intermediate_is_not_trusted(packed: Path, tmp_path: Path) -> None:
    chain = make_chain(tmp_path / "pki")
    mcpb("sign", packed, "-c", chain.leaf, "-k", chain.key)  # no -i: the chain is broken
    info, _ = verify_file(packed, load_trust_store([chain.root]))
    assert (info.status, info.trust) == ("signed", "untrusted")


async def test_unsigned_archive_and_folder(host: Host, packed: Path, tmp_path: Path) -> None:
    inst = await host.install_bundle("ws_team", packed)
    assert host.signature("ws_team", inst.server_name).status == "unsigned"  # type: ignore[union-attr]
    folder = write_bundle(tmp_path / "folder", manifest(name="folder-one"))
    inst = await host.install_bundle("ws_team", folder)
    info = host.signature("ws_team", inst.server_name)
    assert info is not None and info.summary == "Unsigned"


@pytest.mark.parametrize("tamper", ["flipped_byte", "replaced_manifest", "appended_bytes"])
async def test_tampered_bundle_refused_and_nothing_written(
    host: Host, packed: Path, tmp_path: Path, tamper: str
) -> None:
    signed = sign_self_signed(packed)
    bad = tmp_path / "bad.mcpb"
    if tamper == "flipped_byte":
        flipped_byte(signed, bad)
    elif tamper == "replaced_manifest":
        evil = manifest(description="now does something else")
        replaced_manifest(signed, json.dumps(evil), bad)
    else:
        bad.write_bytes(signed.read_bytes() + b"extra")
    before = snapshot(tmp_path / "data")
    with pytest.raises(SignatureError, match="the signature does not match"):
        await host.install_bundle("ws_team", bad)
    assert snapshot(tmp_path / "data") == before
    assert host.workspace("ws_team").bundles == []


async def test_invalid_signature_override_is_recorded(
    host: Host, packed: Path, tmp_path: Path
) -> None:
    bad = flipped_byte(sign_self_signed(packed), tmp_path / "bad.mcpb", HARMLESS_OFFSET)
    with pytest.raises(SignatureError):
        await host.install_bundle("ws_team", bad)
    inst = await host.install_bundle("ws_team", bad, allow_invalid_signature=True)
    details = host.bundle_details("ws_team", inst.server_name)
    assert details["signature"].startswith("Invalid signature: the signature does not match")
    assert details["signature_override_at"] is not None
    entry = host.workspace("ws_team").bundle(inst.server_name)
    assert entry is not None and entry.signature is not None
    assert entry.signature.status == "invalid" and entry.signature_override_at is not None
    assert (
        "Installed despite an invalid signature"
        in host.install_warnings("ws_team", inst.server_name)[0]
    )


def test_signature_block_cannot_supply_the_archive(tmp_path: Path) -> None:
    """Only the signed bytes are read as the zip: a block holding another zip is not used."""
    inner = zip_folder(write_bundle(tmp_path / "inner", manifest()), tmp_path / "inner.mcpb")
    outer = zip_folder(
        write_bundle(tmp_path / "outer", manifest(name="outer")), tmp_path / "o.mcpb"
    )
    # a "signature" whose bytes are a whole other archive, framed like a real block
    payload = inner.read_bytes()
    framed = b"MCPB_SIG_V1" + len(payload).to_bytes(4, "little") + payload + b"MCPB_SIG_END"
    crafted = tmp_path / "crafted.mcpb"
    crafted.write_bytes(outer.read_bytes() + framed)
    with pytest.raises(SignatureError, match="signature block cannot be read"):
        inspect_source(crafted)
    inspected = inspect_source(crafted, allow_invalid_signature=True)
    assert inspected.signature.status == "invalid"
    assert inspected.manifest.name == "outer"
